import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSchema, type TalosSchema } from './validate.js';

// The Talos config schemas shipped in schemas/talos/ (`v<major>.<minor>.json`), and the lineage
// between them: each version's schema is corrected against the previous bundled one (fields the
// older schema has and the newer one dropped stay accepted as deprecated; see
// config/schema-corrections.ts). A version with no bundled schema (an unknown newer one, or one
// whose schema `assets pull` fetched) is corrected against the newest bundled schema below it.

export const BUNDLED_SCHEMAS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schemas/talos');

interface Bundled {
  readonly major: number;
  readonly minor: number;
  readonly file: string;
}

let listed: readonly Bundled[] | undefined;

/** The bundled schemas, oldest first (the directory is read once; it ships with metalboot). */
export function bundledSchemas(): readonly Bundled[] {
  listed ??= readdirSync(BUNDLED_SCHEMAS)
    .map((name) => /^v(\d+)\.(\d+)\.json$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ major: Number(m[1]), minor: Number(m[2]), file: join(BUNDLED_SCHEMAS, m[0]) }))
    .sort((a, b) => a.major - b.major || a.minor - b.minor);
  return listed;
}

/** The bundled schema file for exactly this minor version, if metalboot ships one. */
export function bundledSchemaFile(major: number, minor: number): string | undefined {
  return bundledSchemas().find((b) => b.major === major && b.minor === minor)?.file;
}

/** The bundled schema a version's schema is corrected against: the newest one older than it. */
export function previousSchema(major: number, minor: number): TalosSchema | undefined {
  const older = bundledSchemas().filter((b) => b.major < major || (b.major === major && b.minor < minor));
  const prev = older[older.length - 1];
  return prev ? loadBundled(prev) : undefined;
}

function loadBundled(b: Bundled): TalosSchema {
  return loadSchema(b.file, { previous: previousSchema(b.major, b.minor) });
}

/** A version's schema file, corrected against its predecessor (cached by loadSchema). */
export function loadVersionSchema(file: string, major: number, minor: number): TalosSchema {
  return loadSchema(file, { previous: previousSchema(major, minor) });
}
