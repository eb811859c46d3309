/** Reading what users pass on the command line: files, `@file` patches, `key=value` pairs. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { usageError } from './errors.js';

/** Commander collector for repeatable options (`--patch a --patch b`). */
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function readTextFile(file: string, what: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    if (!text.trim()) throw usageError(`${what} ${file} is empty`);
    return text;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`${what} ${file} does not exist`);
    if (code) throw usageError(`cannot read ${what} ${file}: ${code}`);
    throw err;
  }
}

/** `@file` or inline text, exactly like `talosctl --config-patch`. */
export function readPatch(arg: string): string {
  return arg.startsWith('@') ? readTextFile(arg.slice(1), 'patch file') : arg;
}

/** `--label rack=r1` → ["rack", "r1"]. */
export function parseKeyValue(arg: string, flag: string): [string, string] {
  const i = arg.indexOf('=');
  if (i <= 0) throw usageError(`${flag} "${arg}" must be key=value`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}

/** A Talos diskSelector given as YAML/JSON text or `@file`, e.g. `size: ">= 100GB"`. */
export function parseDiskSelector(arg: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parse(arg.startsWith('@') ? readTextFile(arg.slice(1), 'disk selector file') : arg);
  } catch (err) {
    throw usageError(`--disk-selector: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw usageError(
      '--disk-selector must be a YAML or JSON mapping',
      `e.g. --disk-selector '{size: ">= 100GB", type: nvme}'`,
    );
  }
  return v as Record<string, unknown>;
}

export function positiveNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw usageError(`${flag} must be a positive number, got "${v}"`);
  return n;
}
