/**
 * Plain-data model of a parsed Talos config document, and the few generic operations the patch
 * engine and validator share. Every function here treats its inputs as immutable.
 */

export type ConfigScalar = string | number | boolean | null;
export type ConfigValue = ConfigScalar | ConfigValue[] | ConfigMap;
export interface ConfigMap {
  [key: string]: ConfigValue;
}

/** One step of a path into a document: a map key or a list index. */
export type PathSegment = string | number;

export function isConfigMap(value: unknown): value is ConfigMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own-property lookup: inherited members (`constructor`, `__proto__`) are never config keys. */
export function hasKey(map: ConfigMap, key: string): boolean {
  return Object.hasOwn(map, key);
}

export function getKey(map: ConfigMap, key: string): ConfigValue | undefined {
  return hasKey(map, key) ? map[key] : undefined;
}

/**
 * Sets a key without ever touching the prototype chain. The parser rejects `__proto__` keys, but
 * JSON patch paths and merge keys come from users too, so writers never rely on that alone.
 */
export function setKey(map: ConfigMap, key: string, value: ConfigValue): void {
  Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
}

export function cloneValue<T extends ConfigValue>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => cloneValue(item)) as T;
  if (isConfigMap(value)) {
    const copy: ConfigMap = {};
    for (const [key, item] of Object.entries(value)) setKey(copy, key, cloneValue(item));
    return copy as T;
  }
  return value;
}

/** Deep structural equality; map key order does not matter, list order does. */
export function valuesEqual(a: ConfigValue | undefined, b: ConfigValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => valuesEqual(item, b[index]));
  }
  if (isConfigMap(a) && isConfigMap(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => hasKey(b, key) && valuesEqual(a[key], b[key]));
  }
  return false;
}

export function describeType(value: ConfigValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isConfigMap(value)) return 'a map';
  return `a ${typeof value}`;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * Renders a path the way an operator reads a config: `machine.network.interfaces[0].dhcp`.
 * Keys that would be ambiguous in dotted form (label names with dots or slashes) are quoted.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(document root)' : out;
}
