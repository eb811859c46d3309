import { ValidationError } from '../errors.js';

// Install-disk choices as the CEL expressions Talos v1.14's UnattendedInstallConfig takes in
// `provisioning.diskSelector.match` (the `disk` variable has block.DiskSpec's fields; see
// pkg/machinery/cel/celenv). A v1alpha1 `installDiskSelector` becomes the expression Talos itself
// derives from it (InstallConfig.DiskMatchExpression in pkg/machinery/config/types/v1alpha1,
// v1.14.0-rc.1), so a machine selects the same disk under either contract.

/** Longest raw CEL expression accepted from an operator (Talos's own are one line). */
export const MAX_MATCH_LENGTH = 2048;

/**
 * A string as a CEL string literal. JSON's escaping is a subset of CEL's (`\"`, `\\`, `\n`,
 * `\uXXXX`…), so a `"` or `\` in a device path can never end the literal and inject CEL.
 */
export function celString(value: string): string {
  return JSON.stringify(value);
}

/** `disk.dev_path == "/dev/sda"`, as talosctl writes it for `--install-disk`. */
export function matchDevicePath(path: string): string {
  return `disk.dev_path == ${celString(path)}`;
}

/** Fields of Talos's v1alpha1 InstallDiskSelector matched with `glob(pattern, disk.<field>)`, in Talos's order. */
const GLOB_FIELDS: ReadonlyArray<readonly [selectorKey: string, diskField: string]> = [
  ['uuid', 'uuid'],
  ['wwid', 'wwid'],
  ['model', 'model'],
  ['serial', 'serial'],
  ['modalias', 'modalias'],
];

/** `type` values and what each means for the disk (Talos: nvme and sd by transport, hdd/ssd by rotation). */
const DISK_TYPES: Readonly<Record<string, string>> = {
  nvme: 'disk.transport == "nvme"',
  sd: 'disk.transport == "mmc"',
  hdd: 'disk.rotational',
  ssd: '!disk.rotational',
};

const SELECTOR_KEYS = new Set([
  'size',
  'name',
  'model',
  'serial',
  'modalias',
  'uuid',
  'wwid',
  'type',
  'busPath',
  'match',
]);

/**
 * The CEL expression for a machine's disk selector: `{match: "<cel>"}` is taken as written;
 * otherwise the v1alpha1 selector fields (size, model, serial, modalias, uuid, wwid, type, busPath)
 * are translated. Throws a ValidationError naming the field for anything Talos would refuse.
 */
export function selectorToCel(selector: Record<string, unknown>): string {
  for (const key of Object.keys(selector)) {
    if (!SELECTOR_KEYS.has(key))
      throw invalid(`installDisk.${key}: unknown disk selector field (known: ${[...SELECTOR_KEYS].join(', ')})`, key);
  }
  if (selector.match !== undefined) {
    if (Object.keys(selector).length > 1)
      throw invalid('installDisk.match: a CEL match stands alone; put every condition in the expression', 'match');
    return rawMatch(selector.match);
  }
  const parts: string[] = [];
  if (selector.size !== undefined) parts.push(sizeCondition(selector.size));
  for (const [key, field] of GLOB_FIELDS.slice(0, 3)) pushGlob(parts, selector, key, field);
  if (selector.name !== undefined)
    throw invalid('installDisk.name: Talos does not support selecting the install disk by name', 'name');
  for (const [key, field] of GLOB_FIELDS.slice(3)) pushGlob(parts, selector, key, field);
  // Talos adds this so device-mapper and other virtual block devices never match.
  parts.push('disk.transport != ""');
  if (selector.type !== undefined) {
    const type = DISK_TYPES[text(selector.type, 'type')];
    if (type === undefined)
      throw invalid(`installDisk.type: must be one of ${Object.keys(DISK_TYPES).join(', ')}`, 'type');
    parts.push(type);
  }
  pushGlob(parts, selector, 'busPath', 'bus_path');
  parts.push('!disk.readonly', '!disk.cdrom');
  return parts.join(' && ');
}

function rawMatch(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalid('installDisk.match: must be a non-empty CEL expression', 'match');
  if (value.length > MAX_MATCH_LENGTH)
    throw invalid(`installDisk.match: longer than ${MAX_MATCH_LENGTH} characters`, 'match');
  // One line: the expression lands in a YAML scalar and in metalboot's one-line displays.
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw invalid('installDisk.match: must be one line without control characters', 'match');
  return value.trim();
}

function pushGlob(parts: string[], selector: Record<string, unknown>, key: string, field: string): void {
  const value = selector[key];
  if (value === undefined || value === '') return;
  parts.push(`glob(${celString(text(value, key))}, disk.${field})`);
}

function text(value: unknown, key: string): string {
  if (typeof value !== 'string') throw invalid(`installDisk.${key}: must be a string`, key);
  return value;
}

/** `>= 100GB` → `disk.size >= 100000000000u` (Talos: an optional operator, then go-humanize bytes). */
function sizeCondition(value: unknown): string {
  const condition = typeof value === 'number' ? String(value) : text(value, 'size').trim();
  const m = /^(>=|<=|>|<|==)?\s*(.*)$/.exec(condition)!;
  const bytes = parseBytes(m[2]!);
  if (bytes === undefined)
    throw invalid(
      `installDisk.size: cannot read "${condition}" as [>=|<=|>|<|==]<size>[unit], e.g. ">= 100GB"`,
      'size',
    );
  return `disk.size ${m[1] ?? '=='} ${bytes}u`;
}

/** Units as go-humanize's ParseBytes reads them (case-insensitive; SI by 1000, IEC by 1024). */
const UNITS: Readonly<Record<string, bigint>> = (() => {
  const table: Record<string, bigint> = { '': 1n, b: 1n };
  ['k', 'm', 'g', 't', 'p', 'e'].forEach((prefix, i) => {
    const si = 1000n ** BigInt(i + 1);
    const iec = 1024n ** BigInt(i + 1);
    Object.assign(table, { [prefix]: si, [`${prefix}b`]: si, [`${prefix}i`]: iec, [`${prefix}ib`]: iec });
  });
  return table;
})();

const UINT64_MAX = 2n ** 64n - 1n;

function parseBytes(text: string): bigint | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([a-z]*)$/i.exec(text.trim().replaceAll(',', ''));
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const [whole, fraction = ''] = m[1]!.split('.');
  // Exact decimal arithmetic: "1.5GB" is 1500000000, not a float's rounding of it.
  const scale = 10n ** BigInt(fraction.length);
  const bytes = ((BigInt(whole || '0') * scale + BigInt(fraction || '0')) * unit) / scale;
  return bytes <= UINT64_MAX ? bytes : undefined;
}

function invalid(message: string, key: string): ValidationError {
  return new ValidationError(message, key === 'match' || key === '' ? 'installDisk' : `installDisk.${key}`);
}
