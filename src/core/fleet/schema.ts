/**
 * Each kind's JSON schema (schemas/fleet/<kind>.schema.json, shipped with metalboot so editors can
 * use them too), compiled once; an error names the field and its line.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FieldPath, FleetError, type FleetDocument } from './document.js';

// src/core/fleet and dist/core/fleet are both three levels below the package root.
export const FLEET_SCHEMAS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schemas/fleet');

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const compiled = new Map<string, ValidateFunction>();

function validator(file: string): ValidateFunction {
  let v = compiled.get(file);
  if (!v) {
    v = ajv.compile(JSON.parse(readFileSync(join(FLEET_SCHEMAS, file), 'utf8')) as object);
    compiled.set(file, v);
  }
  return v;
}

/** Refuse a document its kind's schema does not accept, naming the field and its line. */
export function checkSchema(doc: FleetDocument, schemaFile: string): void {
  const validate = validator(schemaFile);
  if (validate(doc.data)) return;
  const e = validate.errors![0]!;
  const path: FieldPath = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  // An unknown field: point at it, not at the mapping holding it.
  if (e.keyword === 'additionalProperties') path.push(String((e.params as Record<string, unknown>).additionalProperty));
  const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
  throw new FleetError(
    { file: doc.file, document: doc.index, kind: doc.kind, line: doc.lineOf(path) },
    e.keyword === 'additionalProperties'
      ? describe(e, doc.kind)
      : `${field ? `${field} ` : ''}${describe(e, doc.kind)}`,
    field || undefined,
  );
}

function describe(e: ErrorObject, kind: string): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `"${String(p.additionalProperty)}" is not a field of ${e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : `a ${kind}`}`;
    case 'required':
      return `${String(p.missingProperty)} is required`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minProperties':
    case 'maxProperties':
      return 'must be {file: <path>} or {inline: <text>}, one of them';
    default:
      return e.message ?? e.keyword;
  }
}
