/**
 * RFC 6902 JSON patches for machine configs, as `talosctl --config-patch` applies them: to a
 * config of exactly one YAML document, else Talos refuses ("JSON6902 patches are not supported for
 * multi-document machine configuration", configpatcher/json6902.go).
 *
 * Written here rather than taken from npm: the six operations are ~100 lines, and owning them lets
 * us work on our own copy (inputs stay untouched), refuse `__proto__`-style paths by construction
 * (own-property lookups only), and report failures as ConfigErrors naming the operation and path.
 */
import { ConfigError } from './config-error.js';
import { createDocument, type ConfigDocument } from './documents.js';
import {
  cloneValue,
  getKey,
  hasKey,
  isConfigMap,
  setKey,
  valuesEqual,
  type ConfigMap,
  type ConfigValue,
} from './values.js';

export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: ConfigValue }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

const OPS_WITH_VALUE = new Set(['add', 'replace', 'test']);
const OPS_WITH_FROM = new Set(['move', 'copy']);

/** Checks the shape of each operation (Talos only finds out when applying; we say it early). */
export function toJsonPatchOperations(list: readonly ConfigValue[]): JsonPatchOperation[] {
  return list.map((entry, index) => {
    const fail = (problem: string): never => {
      throw new ConfigError(`JSON patch operation ${index + 1}: ${problem}`);
    };
    if (!isConfigMap(entry)) return fail('must be a map with op and path');
    const op = getKey(entry, 'op');
    const path = getKey(entry, 'path');
    if (typeof op !== 'string') return fail('op must be a string');
    if (typeof path !== 'string') return fail('path must be a string');
    parsePointer(path, index); // reject a malformed path now, whatever the config
    if (OPS_WITH_VALUE.has(op)) {
      if (!hasKey(entry, 'value')) fail(`"${op}" needs a value`);
      return { op: op as 'add', path, value: cloneValue(entry.value as ConfigValue) };
    }
    if (OPS_WITH_FROM.has(op)) {
      const from = getKey(entry, 'from');
      if (typeof from !== 'string') return fail(`"${op}" needs from`);
      parsePointer(from, index);
      return { op: op as 'move', from, path };
    }
    if (op === 'remove') return { op, path };
    return fail(`unknown op ${JSON.stringify(op)}`);
  });
}

/** Applies operations to the single document of `documents`; returns a new document list. */
export function applyJsonPatch(
  documents: readonly ConfigDocument[],
  operations: readonly JsonPatchOperation[],
): ConfigDocument[] {
  const [document] = documents;
  if (documents.length !== 1 || document === undefined) {
    throw new ConfigError(
      `JSON patches are not supported for multi-document machine configuration (the config has ${documents.length} documents; use a strategic merge patch)`,
    );
  }
  const patched = applyOperations(document.data, operations);
  if (!isConfigMap(patched)) throw new ConfigError('JSON patch turned the document into something other than a map');
  try {
    return [createDocument(patched)];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`after the JSON patch, ${err.message}`);
  }
}

/** Applies RFC 6902 operations in order to a copy of `target`. */
export function applyOperations(target: ConfigValue, operations: readonly JsonPatchOperation[]): ConfigValue {
  let root = cloneValue(target);
  operations.forEach((operation, index) => {
    try {
      root = applyOperation(root, operation, index);
    } catch (err) {
      if (!(err instanceof ConfigError) || err.message.startsWith('JSON patch operation')) throw err;
      throw new ConfigError(`JSON patch operation ${index + 1} (${operation.op} ${operation.path}): ${err.message}`);
    }
  });
  return root;
}

function applyOperation(root: ConfigValue, operation: JsonPatchOperation, index: number): ConfigValue {
  const path = parsePointer(operation.path, index);
  switch (operation.op) {
    case 'add':
      return insert(root, path, cloneValue(operation.value));
    case 'remove':
      return remove(root, path).root;
    case 'replace':
      // Remove-then-add keeps list positions; replacing the root swaps the whole document.
      return path.length === 0
        ? cloneValue(operation.value)
        : insert(remove(root, path).root, path, cloneValue(operation.value));
    case 'test':
      if (!valuesEqual(lookup(root, path), operation.value)) throw new ConfigError('test failed: value differs');
      return root;
    case 'copy':
      return insert(root, path, cloneValue(lookup(root, parsePointer(operation.from, index))));
    case 'move': {
      if (operation.path.startsWith(`${operation.from}/`)) throw new ConfigError('cannot move a value into itself');
      const taken = remove(root, parsePointer(operation.from, index));
      return insert(taken.root, path, taken.value);
    }
  }
}

/** RFC 6901 JSON pointer: `""` is the whole document, else `/`-separated, `~1` = `/`, `~0` = `~`. */
function parsePointer(pointer: string, index: number): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new ConfigError(`JSON patch operation ${index + 1}: path ${JSON.stringify(pointer)} must start with /`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function lookup(root: ConfigValue, path: readonly string[]): ConfigValue {
  let node = root;
  for (const [depth, token] of path.entries()) {
    const child = childOf(node, token);
    if (child === undefined) throw new ConfigError(`${pointerOf(path.slice(0, depth + 1))} does not exist`);
    node = child;
  }
  return node;
}

function childOf(node: ConfigValue, token: string): ConfigValue | undefined {
  if (Array.isArray(node)) {
    const index = arrayIndex(token, node.length - 1);
    return index === undefined ? undefined : node[index];
  }
  return isConfigMap(node) ? getKey(node, token) : undefined;
}

/** Resolves the container holding the last token (mutating is safe: `root` is our own copy). */
function parentOf(root: ConfigValue, path: readonly string[]): { parent: ConfigValue[] | ConfigMap; token: string } {
  const parent = lookup(root, path.slice(0, -1));
  const token = path[path.length - 1] as string;
  if (!Array.isArray(parent) && !isConfigMap(parent)) {
    throw new ConfigError(`${pointerOf(path.slice(0, -1))} is neither a map nor a list`);
  }
  return { parent, token };
}

function insert(root: ConfigValue, path: readonly string[], value: ConfigValue): ConfigValue {
  if (path.length === 0) return value;
  const { parent, token } = parentOf(root, path);
  if (Array.isArray(parent)) {
    const index = token === '-' ? parent.length : arrayIndex(token, parent.length);
    if (index === undefined) throw new ConfigError(`${pointerOf(path)}: list index out of range`);
    parent.splice(index, 0, value);
  } else {
    setKey(parent, token, value);
  }
  return root;
}

function remove(root: ConfigValue, path: readonly string[]): { root: ConfigValue; value: ConfigValue } {
  if (path.length === 0) throw new ConfigError('cannot remove the whole document');
  const value = lookup(root, path);
  const { parent, token } = parentOf(root, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(token, parent.length - 1) as number, 1);
  else delete parent[token];
  return { root, value };
}

/** A decimal index without leading zeros, at most `max`; RFC 6901 has no negative indexes. */
function arrayIndex(token: string, max: number): number | undefined {
  if (!/^(?:0|[1-9]\d*)$/.test(token)) return undefined;
  const index = Number(token);
  return index <= max ? index : undefined;
}

function pointerOf(path: readonly string[]): string {
  return path.length === 0
    ? '(document root)'
    : `/${path.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}
