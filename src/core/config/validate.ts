/**
 * Validates machine configs against Talos's JSON schema (`config.schema.json`, JSON Schema 2020-12).
 *
 * The schema's top level is a `oneOf` over every document type; validating against it yields one
 * error per type for each document. Instead each document is checked against the one definition
 * its kind (or, for the main document, `version`) selects, so errors name real paths.
 *
 * Talos decodes strictly (unknown keys are errors) but its schema leaves out deprecated fields it
 * still accepts; those are added back (schema-corrections.ts: hand-read for the oldest schema,
 * derived from the previous version's for newer ones) and reported as warnings. Then Talos's
 * conflict rules between typed documents and v1alpha1 settings apply (conflicts.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

import { conflictErrors } from './conflicts.js';
import { describeDocument, type ConfigDocument } from './documents.js';
import { correctSchema, type CorrectedSchema } from './schema-corrections.js';
import { formatSchemaErrors } from './schema-errors.js';
import { formatPath, getKey, isConfigMap, type ConfigValue } from './values.js';

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

/** A compiled schema; obtain with `loadSchema`. */
export interface TalosSchema {
  readonly path: string;
}

export interface ValidationResult {
  readonly errors: string[];
  readonly warnings: string[];
}

interface LoadedSchema extends TalosSchema {
  readonly ajv: Ajv2020;
  readonly id: string;
  /** `$defs` name of the main v1alpha1 document. */
  readonly mainDefinition: string | undefined;
  /** kind → apiVersion → `$defs` name. */
  readonly typed: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The definitions after correction, and the deprecated fields they accept. */
  readonly corrected: CorrectedSchema;
}

export interface LoadOptions {
  /**
   * The schema of the previous Talos version metalboot knows: fields it has and this one dropped
   * are accepted as deprecated. Without it, the hand-read list for the oldest schema applies.
   */
  previous?: TalosSchema;
}

/** Path → the schema loaded from it, the file's identity then (inode, size, mtime), and its predecessor. */
const schemas = new Map<string, { stamp: string; previous: TalosSchema | undefined; schema: LoadedSchema }>();
/** Every schema loadSchema handed out (one replaced by a newer file still validates). */
const issued = new WeakSet<TalosSchema>();

/**
 * Loads and prepares a schema file. Repeated calls for one path return the cached schema while
 * the file is unchanged (one stat); a file replaced or rewritten since is loaded afresh.
 */
export function loadSchema(path: string, options: LoadOptions = {}): TalosSchema {
  const absolute = resolve(path);
  const st = statSync(absolute, { throwIfNoEntry: false });
  const stamp = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '';
  const previous = options.previous;
  if (previous !== undefined && !issued.has(previous))
    throw new Error('loadSchema: previous must be a schema returned by loadSchema');
  const cached = schemas.get(absolute);
  if (cached && st && cached.stamp === stamp && cached.previous === previous) return cached.schema;

  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(absolute, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `cannot load the Talos config schema ${absolute}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const defs = raw.$defs as Record<string, Record<string, unknown>> | undefined;
  const oneOf = raw.oneOf as Array<{ $ref?: string }> | undefined;
  if (!isConfigMap(defs as ConfigValue) || !Array.isArray(oneOf)) {
    throw new Error(`${absolute} is not a Talos config schema (no $defs and oneOf)`);
  }
  const id = typeof raw.$id === 'string' ? raw.$id : `file://${absolute}`;
  const rawDefs = defs as Record<string, Record<string, unknown>>;
  const mainDefinition = oneOf
    .map(({ $ref }) => $ref?.replace('#/$defs/', ''))
    .find((name) => {
      const properties =
        name === undefined ? undefined : (rawDefs[name]?.properties as Record<string, unknown> | undefined);
      return properties !== undefined && !properties.kind && properties.version !== undefined;
    });
  const corrected = correctSchema(rawDefs, mainDefinition, (previous as LoadedSchema | undefined)?.corrected);
  // strict: false because Talos's schema carries editor annotations ajv does not know
  // (markdownDescription, x-intellij-html-description).
  const ajv = new Ajv2020({ strict: false, allErrors: true, verbose: true });
  addFormats(ajv);
  try {
    ajv.addSchema({ ...raw, $id: id, $defs: corrected.defs });
  } catch (err) {
    throw new Error(`${absolute}: invalid JSON schema: ${err instanceof Error ? err.message : String(err)}`);
  }

  const typed = new Map<string, Map<string, string>>();
  for (const { $ref } of oneOf) {
    const name = $ref?.replace('#/$defs/', '');
    const properties =
      name === undefined ? undefined : (corrected.defs[name]?.properties as Record<string, { enum?: unknown[] }>);
    const kinds = properties?.kind?.enum;
    if (name === undefined || !properties || !kinds) continue;
    for (const kind of kinds.map(String)) {
      const versions = typed.get(kind) ?? new Map<string, string>();
      for (const apiVersion of properties.apiVersion?.enum ?? []) versions.set(String(apiVersion), name);
      typed.set(kind, versions);
    }
  }
  const loaded: LoadedSchema = { path: absolute, ajv, id, mainDefinition, typed, corrected };
  schemas.set(absolute, { stamp, previous, schema: loaded });
  issued.add(loaded);
  return loaded;
}

/** The deprecated main-document fields a schema accepts (with a warning), as `machine.kubelet` paths. */
export function deprecatedPaths(schema: TalosSchema): string[] {
  if (!issued.has(schema)) throw new Error('deprecatedPaths needs a schema returned by loadSchema');
  return (schema as LoadedSchema).corrected.deprecated.map((d) => formatPath(d.path));
}

export function validateConfig(documents: readonly ConfigDocument[], schema: TalosSchema): ValidationResult {
  if (!issued.has(schema)) throw new Error('validateConfig needs a schema returned by loadSchema');
  const loaded = schema as LoadedSchema;
  const errors: string[] = [];
  const warnings: string[] = [];
  documents.forEach((document, index) => {
    const label = describeDocument(document.identity);
    const definition = definitionFor(loaded, document, index, errors);
    if (definition === undefined) return;
    const validate = compiled(loaded, definition);
    if (!validate(document.data)) {
      // Main-document errors read as bare paths; others say which document they are in.
      const prefix = document.identity.type === 'main' ? '' : `${label}: `;
      for (const line of formatSchemaErrors(validate.errors ?? [], document.data)) errors.push(prefix + line);
    }
    if (document.identity.type === 'main') warnings.push(...deprecationWarnings(loaded, document.data));
  });
  // Talos cross-checks typed documents against the v1alpha1 document (container/validate.go).
  errors.push(...conflictErrors(documents));
  return { errors, warnings };
}

function definitionFor(
  schema: LoadedSchema,
  document: ConfigDocument,
  index: number,
  errors: string[],
): string | undefined {
  const identity = document.identity;
  if (identity.type === 'main') {
    if (schema.mainDefinition === undefined) errors.push(`document ${index + 1}: the schema has no v1alpha1 document`);
    return schema.mainDefinition;
  }
  const versions = schema.typed.get(identity.kind);
  const definition = versions?.get(identity.apiVersion);
  if (!versions) {
    errors.push(`document ${index + 1}: unknown document kind ${identity.kind} (apiVersion ${identity.apiVersion})`);
  } else if (definition === undefined) {
    const supported = [...versions.keys()].join(', ');
    errors.push(
      `document ${index + 1}: ${identity.kind} does not exist in apiVersion ${identity.apiVersion} (supported: ${supported})`,
    );
  }
  return definition;
}

function compiled(schema: LoadedSchema, definition: string): ValidateFunction {
  // ajv compiles on first use and caches per reference, so each kind is compiled once.
  const validate = schema.ajv.getSchema(`${schema.id}#/$defs/${definition}`);
  if (!validate) throw new Error(`schema ${schema.path} has no definition ${definition}`);
  return validate;
}

function deprecationWarnings(schema: LoadedSchema, data: ConfigValue): string[] {
  return schema.corrected.deprecated
    .filter(({ path }) => valueAt(data, path) !== undefined)
    .map(
      ({ path, advice }) => `${formatPath(path)}: deprecated, accepted by Talos but absent from its schema (${advice})`,
    );
}

function valueAt(data: ConfigValue, path: readonly string[]): ConfigValue | undefined {
  let node: ConfigValue | undefined = data;
  for (const key of path) node = isConfigMap(node) ? getKey(node, key) : undefined;
  return node;
}
