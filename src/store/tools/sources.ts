/**
 * Where `db copy` reads from: a SQLite file (the common case) or another PostgreSQL database. Both
 * are read inside one snapshot (SQLite's read transaction in WAL mode, PostgreSQL's REPEATABLE READ
 * READ ONLY), so a source that a running metalboot keeps writing is copied as it was at one instant;
 * neither is ever written (SQLite is opened read-only).
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describePostgresUrl } from '../postgres/store.js';
import { COPY_SCHEMA, reasonOf, type Row, StoreToolError, type TableSpec } from './tables.js';

export interface SourceReader {
  /** Up to `limit` rows in key order, after `after` (undefined: from the first). */
  rows(table: TableSpec, after: unknown, limit: number): Promise<Row[]>;
  /** The highest id the table ever handed out (its sequence, not only the rows left): 0 for none. */
  highWater(table: TableSpec): Promise<number>;
}

export interface CopySource {
  /** Where it is, without a password. */
  label: string;
  schemaVersion: number;
  /** PostgreSQL: the application_name this connection carries, to recognise it from the target. */
  marker?: string;
  snapshot<T>(fn: (reader: SourceReader) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const schemaHint = (fix: string) => `this metalboot copies schema version ${fix}`;

/** A SQLite store file (or a data directory holding metalboot.db), read-only. */
export function openSqliteSource(path: string): CopySource {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'metalboot.db') : path;
  if (!existsSync(file))
    throw new StoreToolError(
      `no SQLite database at ${file}`,
      'usage',
      '--from takes the metalboot.db file (e.g. data/metalboot.db) or a postgres:// URL',
    );
  let db: Database.Database;
  let version: number;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new StoreToolError(`cannot open ${file}: ${reasonOf(err)}`, 'usage');
  }
  try {
    db.pragma('busy_timeout = 5000');
    version = db.pragma('user_version', { simple: true }) as number;
    db.prepare('SELECT count(*) FROM sqlite_master').get(); // a file that is not SQLite fails here
  } catch (err) {
    db.close();
    throw new StoreToolError(`${file} is not a readable SQLite database: ${reasonOf(err)}`, 'usage');
  }
  if (version !== COPY_SCHEMA.sqlite) {
    db.close();
    throw new StoreToolError(
      version === 0
        ? `${file} is not a metalboot database (it has no schema version)`
        : `${file} has schema version ${version}; ${schemaHint(`${COPY_SCHEMA.sqlite} only`)}`,
      'usage',
      version > COPY_SCHEMA.sqlite
        ? 'it was written by a newer metalboot: copy it with that version'
        : `upgrade it first, in place, as serve would: metalboot db migrate --data-dir <its directory> (stop the old metalboot first)`,
    );
  }
  const first = new Map<string, Database.Statement>();
  const next = new Map<string, Database.Statement>();
  const statement = (t: TableSpec, after: boolean) => {
    const cache = after ? next : first;
    let s = cache.get(t.name);
    if (!s) {
      const cols = t.columns.map(([c]) => c).join(', ');
      s = db
        .prepare(`SELECT ${cols} FROM ${t.name} ${after ? `WHERE ${t.key} > ?` : ''} ORDER BY ${t.key} LIMIT ?`)
        .raw(true);
      cache.set(t.name, s);
    }
    return s;
  };
  const reader: SourceReader = {
    async rows(t, after, limit) {
      return (after === undefined ? statement(t, false).all(limit) : statement(t, true).all(after, limit)) as Row[];
    },
    async highWater(t) {
      const max = (db.prepare(`SELECT max(${t.key}) AS m FROM ${t.name}`).get() as { m: number | null }).m ?? 0;
      // AUTOINCREMENT remembers ids of rows gone since (retention): never hand those out again.
      const seq = db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(t.name) as
        | { seq: number }
        | undefined;
      return Math.max(max, seq?.seq ?? 0);
    },
  };
  return {
    label: file,
    schemaVersion: version,
    async snapshot(fn) {
      db.exec('BEGIN'); // deferred: the first read fixes the snapshot every later read sees
      try {
        return await fn(reader);
      } finally {
        db.exec('COMMIT');
      }
    },
    async close() {
      db.close();
    },
  };
}

/** Another metalboot PostgreSQL database, read in one REPEATABLE READ READ ONLY transaction. */
export async function openPostgresSource(url: string): Promise<CopySource> {
  const marker = `metalboot-copy-${randomBytes(8).toString('hex')}`;
  const where = describePostgresUrl(url);
  const client = new pg.Client({ connectionString: url, application_name: marker, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // a lost connection fails the statement waiting on it
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new StoreToolError(`cannot connect to the source PostgreSQL at ${where}: ${reasonOf(err)}`, 'unreachable');
  }
  let version = 0;
  try {
    const exists = await client.query("SELECT to_regclass('metalboot_migrations') IS NOT NULL AS e");
    if (exists.rows[0].e)
      version = Number((await client.query('SELECT max(version) AS v FROM metalboot_migrations')).rows[0].v ?? 0);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new StoreToolError(`cannot read the source at ${where}: ${reasonOf(err)}`, 'failed');
  }
  if (version !== COPY_SCHEMA.postgres) {
    await client.end().catch(() => undefined);
    throw new StoreToolError(
      version === 0
        ? `the source at ${where} holds no metalboot store`
        : `the source at ${where} has schema version ${version}; ${schemaHint(`${COPY_SCHEMA.postgres} only`)}`,
      'usage',
      version > COPY_SCHEMA.postgres
        ? 'it was written by a newer metalboot: copy it with that version'
        : 'migrate it first: metalboot db migrate --database <source url>',
    );
  }
  const reader: SourceReader = {
    async rows(t, after, limit) {
      const cols = t.columns.map(([c]) => `${c}::text`).join(', ');
      const keyType = t.columns.find(([c]) => c === t.key)![1];
      const res = await client.query({
        text:
          after === undefined
            ? `SELECT ${cols} FROM ${t.name} ORDER BY ${t.key} LIMIT $1`
            : `SELECT ${cols} FROM ${t.name} WHERE ${t.key} > $2::${keyType} ORDER BY ${t.key} LIMIT $1`,
        values: after === undefined ? [limit] : [limit, after],
        rowMode: 'array',
      });
      return res.rows as Row[];
    },
    async highWater(t) {
      const res = await client.query(
        `SELECT GREATEST((SELECT max(${t.key}) FROM ${t.name}),
           pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass), 0)::text AS m`,
        [t.name, t.key],
      );
      return Number(res.rows[0].m);
    },
  };
  return {
    label: where,
    schemaVersion: version,
    marker,
    async snapshot(fn) {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return await fn(reader);
      } finally {
        await client.query('COMMIT').catch(() => undefined);
      }
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

/** `--from`: a postgres:// URL, else a SQLite file path. */
export async function openSource(from: string): Promise<CopySource> {
  return /^postgres(ql)?:\/\//i.test(from) ? openPostgresSource(from) : openSqliteSource(from);
}
