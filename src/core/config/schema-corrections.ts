/**
 * What Talos's decoder accepts beyond its published JSON schema, applied to a schema's `$defs`.
 *
 * 1. Deprecated fields. Talos keeps decoding v1alpha1 fields after it drops them from its schema.
 *    For the oldest bundled schema (v1.13) the fields it already omits are the hand-read list in
 *    deprecated.ts. For every newer schema they are derived: whatever the previous version's
 *    (corrected) schema has and this one lacks — a property of a definition both have, or a whole
 *    definition it refers to — is added back and reported as deprecated. So v1.14 accepts
 *    `.machine.install`, `.machine.kubelet`, `.cluster.network`… and a later schema inherits them.
 * 2. Kind names the schema spells differently from Talos (KIND_CORRECTIONS).
 */
import { DEPRECATED_FIELDS, withDeprecatedFields } from './deprecated.js';
import { rulesForPath } from './conflicts.js';
import { formatPath } from './values.js';

type JsonSchema = Record<string, unknown>;

export interface DeprecatedPath {
  /** Path of the field in the main document. */
  readonly path: readonly string[];
  readonly advice: string;
}

/** A schema after correction: what a newer version's schema is corrected against. */
export interface CorrectedSchema {
  readonly defs: Record<string, JsonSchema>;
  readonly mainDefinition: string | undefined;
  readonly deprecated: readonly DeprecatedPath[];
}

/**
 * Kind names a schema's `kind` enum has wrong. v1.14's schema (rc.1 and main as of 2026-08) says
 * `UnattendedInstall`; Talos registers, and talosctl writes, `UnattendedInstallConfig`
 * (pkg/machinery/config/types/runtime/unattended_install.go). Talos refuses the schema's spelling.
 */
export const KIND_CORRECTIONS: ReadonlyArray<{ readonly schemaSays: string; readonly talosSays: string }> = [
  { schemaSays: 'UnattendedInstall', talosSays: 'UnattendedInstallConfig' },
];

/** Deepest nesting searched for a definition's place in the main document. */
const MAX_PATH_DEPTH = 8;

export function correctSchema(
  rawDefs: Record<string, JsonSchema>,
  mainDefinition: string | undefined,
  previous: CorrectedSchema | undefined,
): CorrectedSchema {
  const { defs, deprecated } = previous
    ? deriveFrom(rawDefs, previous)
    : { defs: withDeprecatedFields(rawDefs), deprecated: DEPRECATED_FIELDS };
  return { defs: correctKinds(defs), mainDefinition, deprecated };
}

function deriveFrom(
  rawDefs: Record<string, JsonSchema>,
  previous: CorrectedSchema,
): { defs: Record<string, JsonSchema>; deprecated: DeprecatedPath[] } {
  const defs: Record<string, JsonSchema> = { ...rawDefs };
  const places = definitionPlaces(previous.defs, previous.mainDefinition);
  const derived: DeprecatedPath[] = [];
  for (const [name, old] of Object.entries(previous.defs)) {
    const current = defs[name];
    if (!current) {
      defs[name] = old; // only reachable through a property added back below
      continue;
    }
    const oldProperties = (old.properties ?? {}) as Record<string, JsonSchema>;
    const properties = (current.properties ?? {}) as Record<string, JsonSchema>;
    const dropped = Object.keys(oldProperties).filter((key) => !(key in properties));
    if (dropped.length === 0) continue;
    defs[name] = {
      ...current,
      properties: { ...properties, ...Object.fromEntries(dropped.map((key) => [key, oldProperties[key]])) },
    };
    const place = places.get(name);
    if (place) for (const key of dropped) derived.push({ path: [...place, key], advice: adviceFor([...place, key]) });
  }
  // Fields the previous version already warned about keep their advice, unless this schema
  // documents them again.
  const known = new Set(previous.deprecated.map((d) => formatPath(d.path)));
  const kept = previous.deprecated.filter((d) => !documented(rawDefs, previous.mainDefinition, d.path));
  return { defs, deprecated: [...kept, ...derived.filter((d) => !known.has(formatPath(d.path)))] };
}

function adviceFor(path: readonly string[]): string {
  const kinds = [...new Set(rulesForPath(path).map((r) => r.instead ?? r.kind))];
  if (kinds.length === 0) return 'dropped from this version’s schema; Talos still decodes it';
  return `use a ${kinds.join(' or ')} document instead`;
}

/** Where each definition sits in the main document (`v1alpha1.MachineConfig` → `machine`). */
function definitionPlaces(defs: Record<string, JsonSchema>, main: string | undefined): Map<string, string[]> {
  const places = new Map<string, string[]>();
  if (main === undefined) return places;
  const queue: Array<[string, string[]]> = [[main, []]];
  while (queue.length > 0) {
    const [name, path] = queue.shift()!;
    if (places.has(name) || path.length > MAX_PATH_DEPTH) continue;
    places.set(name, path);
    const properties = (defs[name]?.properties ?? {}) as Record<string, JsonSchema>;
    for (const [key, schema] of Object.entries(properties)) {
      const ref = refName(schema);
      if (ref !== undefined) queue.push([ref, [...path, key]]);
    }
  }
  return places;
}

/** Whether the raw schema has this path (following `$ref`s from the main definition). */
function documented(defs: Record<string, JsonSchema>, main: string | undefined, path: readonly string[]): boolean {
  let schema: JsonSchema | undefined = main === undefined ? undefined : defs[main];
  for (const key of path) {
    const property = (schema?.properties as Record<string, JsonSchema> | undefined)?.[key];
    if (!property) return false;
    const ref = refName(property);
    schema = ref === undefined ? property : defs[ref];
  }
  return schema !== undefined;
}

function refName(schema: JsonSchema): string | undefined {
  const ref = schema.$ref;
  return typeof ref === 'string' && ref.startsWith('#/$defs/') ? ref.slice('#/$defs/'.length) : undefined;
}

function correctKinds(defs: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const out = { ...defs };
  for (const [name, def] of Object.entries(defs)) {
    const properties = def.properties as Record<string, { enum?: unknown[] }> | undefined;
    const kinds = properties?.kind?.enum;
    if (!properties || !kinds) continue;
    const fixed = kinds.map(
      (kind) => KIND_CORRECTIONS.find((c) => c.schemaSays === kind && !kinds.includes(c.talosSays))?.talosSays ?? kind,
    );
    if (fixed.every((kind, i) => kind === kinds[i])) continue;
    out[name] = { ...def, properties: { ...properties, kind: { ...properties.kind, enum: fixed } } };
  }
  return out;
}
