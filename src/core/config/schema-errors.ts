/**
 * Turns ajv's errors into lines an operator can act on: `machine.install.dsk: unknown key`.
 *
 * ajv reports every failed branch of a `oneOf` (extraArgs values are "a string or a list", for
 * instance), which reads as noise; a failed `oneOf` is shown as one line naming the allowed forms,
 * unless exactly one branch had the right type, whose own (more precise) errors are kept instead.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';

import { formatPath, isConfigMap, type ConfigValue, type PathSegment } from './values.js';

const TYPE_NAMES: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  integer: 'an integer',
  number: 'a number',
  null: 'null',
};

export function formatSchemaErrors(errors: readonly ErrorObject[], data: ConfigValue): string[] {
  const lines = selectErrors(errors).map((error) => formatError(error, data));
  return [...new Set(lines)];
}

/** Drops the branch errors of failed `oneOf`/`anyOf`, or the `oneOf` itself when a branch fits. */
function selectErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  let selected = [...errors];
  const alternatives = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  for (const alternative of alternatives) {
    const prefix = `${alternative.schemaPath}/`;
    const branches = selected.filter((e) => e.schemaPath.startsWith(prefix));
    const byBranch = new Map<string, ErrorObject[]>();
    for (const error of branches) {
      const branch = error.schemaPath.slice(prefix.length).split('/', 1)[0] ?? '';
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), error]);
    }
    // A branch whose only complaints are deeper than the value itself had the right shape.
    const fitting = [...byBranch.values()].filter((list) =>
      list.every((e) => !(e.keyword === 'type' && e.instancePath === alternative.instancePath)),
    );
    const keep = fitting.length === 1 ? new Set(fitting[0]) : new Set<ErrorObject>();
    const drop = new Set(branches.filter((e) => !keep.has(e)));
    if (keep.size > 0) drop.add(alternative);
    selected = selected.filter((e) => !drop.has(e));
  }
  return selected;
}

function formatError(error: ErrorObject, data: ConfigValue): string {
  const path = pathOf(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${formatPath([...path, String(params.additionalProperty)])}: unknown key`;
    case 'required':
      return `${formatPath([...path, String(params.missingProperty)])}: required key missing`;
    case 'type':
      return `${formatPath(path)}: must be ${typeNames(params.type)}, not ${describeData(error.data)}`;
    case 'enum':
      return `${formatPath(path)}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${formatPath(path)}: must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      return `${formatPath(path)}: must match ${String(params.pattern)}`;
    case 'format':
      return `${formatPath(path)}: must be a valid ${String(params.format)}`;
    case 'oneOf':
    case 'anyOf':
      return `${formatPath(path)}: must be ${describeAlternatives(error.parentSchema)}`;
    default:
      return `${formatPath(path)}: ${error.message ?? error.keyword}`;
  }
}

/** Converts a JSON pointer to path segments, telling list indexes from map keys by the data. */
function pathOf(pointer: string, data: ConfigValue): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node: ConfigValue | undefined = data;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      segments.push(Number(token));
      node = node[Number(token)];
    } else {
      segments.push(token);
      node = isConfigMap(node) ? node[token] : undefined;
    }
  }
  return segments;
}

function typeNames(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(' or ');
}

function describeData(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'a list';
  if (typeof data === 'object') return 'a map';
  return `${typeof data} ${JSON.stringify(data)}`;
}

function describeAlternatives(parentSchema: unknown): string {
  const schema = parentSchema as { oneOf?: unknown[]; anyOf?: unknown[] } | undefined;
  const branches = schema?.oneOf ?? schema?.anyOf ?? [];
  const names = branches.map((branch) => {
    const b = branch as { type?: unknown; items?: { type?: unknown } };
    if (b.type === 'array' && b.items?.type !== undefined)
      return `a list of ${typeNames(b.items.type).replace(/^an? /, '')}s`;
    return b.type === undefined ? 'an allowed form' : typeNames(b.type);
  });
  return names.length > 0 ? [...new Set(names)].join(' or ') : 'one of the allowed forms';
}
