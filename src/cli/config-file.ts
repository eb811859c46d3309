/**
 * `metalboot.yaml`: serve's settings in a file, keyed by the long flag names without dashes
 * (`listen: 0.0.0.0:8080`, `dhcp: proxy`, `dhcp-relay-subnet: [ … ]`).
 *
 * Precedence is flag > environment > file > default. Commander already resolves flag > env >
 * default and records where each value came from, so the file only fills values whose source is
 * still the default (or unset). Relative directories in the file are relative to the file, so
 * `/etc/metalboot/metalboot.yaml` with `data-dir: data` means `/etc/metalboot/data` wherever
 * metalboot is started from.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { usageError } from './errors.js';

export const DEFAULT_CONFIG_FILE = 'metalboot.yaml';
const PATH_KEYS = new Set(['data-dir', 'assets-dir', 'templates-dir']);
const LIST_KEYS = new Set(['dhcp-relay-subnet']);

export type SettingsFile = { file: string; values: Map<string, string | string[]> };

/**
 * Read the settings file: `explicitPath` (from --config / METALBOOT_CONFIG) must exist;
 * the default `./metalboot.yaml` is optional. Unknown keys are refused, as a typo silently
 * ignored would leave a setting at its default.
 */
export function loadSettingsFile(
  explicitPath: string | undefined,
  knownKeys: readonly string[],
): SettingsFile | undefined {
  const file = explicitPath ?? DEFAULT_CONFIG_FILE;
  if (!explicitPath && !existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      throw usageError(
        `settings file ${file} does not exist`,
        'fix --config / METALBOOT_CONFIG, or leave it unset to use ./metalboot.yaml when present',
      );
    throw usageError(`settings file ${file}: ${e.message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return { file, values: new Map() };
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw usageError(`settings file ${file} must be a YAML mapping of setting: value`);
  const values = new Map<string, string | string[]>();
  for (const [key, raw] of Object.entries(doc)) {
    if (!knownKeys.includes(key)) {
      throw usageError(
        `settings file ${file}: unknown setting "${key}"`,
        `settings are the flags of \`metalboot serve\` without "--": ${knownKeys.join(', ')}`,
      );
    }
    values.set(key, settingValue(file, key, raw));
  }
  return { file, values };
}

function settingValue(file: string, key: string, raw: unknown): string | string[] {
  const scalar = (v: unknown): string => {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    throw usageError(
      `settings file ${file}: "${key}" must be a string or number, got ${v === null ? 'null' : typeof v}`,
    );
  };
  if (Array.isArray(raw)) {
    if (!LIST_KEYS.has(key)) throw usageError(`settings file ${file}: "${key}" takes one value, not a list`);
    return raw.map(scalar);
  }
  const v = scalar(raw);
  if (PATH_KEYS.has(key) && !isAbsolute(v)) return resolve(dirname(file), v);
  return LIST_KEYS.has(key) ? [v] : v;
}

/** Give every option still at its default (not set by a flag or the environment) the file's value. */
export function fillFromSettingsFile(cmd: Command, settings: SettingsFile | undefined): void {
  if (!settings) return;
  for (const option of cmd.options) {
    const key = option.attributeName();
    const name = option.long?.replace(/^--/, '');
    if (!name || !settings.values.has(name)) continue;
    const source = cmd.getOptionValueSource(key);
    if (source === undefined || source === 'default')
      cmd.setOptionValueWithSource(key, settings.values.get(name), 'config');
  }
}

/** Long option names of a command, as the file's keys. */
export function settingKeys(cmd: Command, exclude: readonly string[] = []): string[] {
  return cmd.options.map((o) => o.long?.replace(/^--/, '') ?? '').filter((k) => k && !exclude.includes(k));
}
