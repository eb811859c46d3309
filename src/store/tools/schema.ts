/**
 * A store's schema seen from outside a running server: `metalboot db migrate` (the migrations
 * serve runs at start, without starting it) and doctor's database check (reachable, which server,
 * which schema version, whether this build can use it).
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Db, type Sql } from '../postgres/db.js';
import { migratePostgres, PG_MIGRATIONS } from '../postgres/migrations.js';
import { describePostgresUrl } from '../postgres/store.js';
import { migrate, MIGRATIONS } from '../sqlite/migrations.js';
import { reasonOf, StoreToolError } from './tables.js';

export const LATEST = {
  sqlite: MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0),
  postgres: PG_MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0),
} as const;

export interface MigrateResult {
  engine: 'sqlite' | 'postgres';
  /** The file, or host:port/database (never the password). */
  where: string;
  before: number;
  after: number;
  latest: number;
}

async function pgVersion(sql: Sql): Promise<number> {
  // Two statements: a query naming a table that does not exist fails at parse time, whatever CASE says.
  const exists = await sql.query<{ e: boolean }>("SELECT to_regclass('metalboot_migrations') IS NOT NULL AS e");
  if (!exists.rows[0]?.e) return 0;
  const res = await sql.query<{ v: number | null }>('SELECT max(version) AS v FROM metalboot_migrations');
  return Number(res.rows[0]?.v ?? 0);
}

/** Run PostgreSQL's migrations (under their advisory lock, as serve does). */
export async function migratePostgresUrl(url: string): Promise<MigrateResult> {
  const where = describePostgresUrl(url);
  const db = new Db(url, { max: 1 });
  try {
    let before: number;
    try {
      before = await pgVersion(db.reader);
    } catch (err) {
      throw new StoreToolError(`cannot connect to PostgreSQL at ${where}: ${reasonOf(err)}`, 'unreachable');
    }
    try {
      await migratePostgres(db.pool);
    } catch (err) {
      throw new StoreToolError(`cannot migrate the database at ${where}: ${reasonOf(err)}`, 'failed');
    }
    return { engine: 'postgres', where, before, after: await pgVersion(db.reader), latest: LATEST.postgres };
  } finally {
    await db.close();
  }
}

/** Run SQLite's migrations on `file`; a new file is created as serve creates it (0600, in a 0700 directory). */
export function migrateSqliteFile(file: string): MigrateResult {
  if (!existsSync(dirname(file))) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (err) {
    throw new StoreToolError(`cannot open ${file}: ${reasonOf(err)}`, 'usage');
  }
  try {
    db.pragma('busy_timeout = 5000'); // a running serve's commit finishes first
    const before = db.pragma('user_version', { simple: true }) as number;
    db.pragma('journal_mode = WAL'); // what serve sets on every open: the file is left as serve would
    migrate(db);
    const after = db.pragma('user_version', { simple: true }) as number;
    return { engine: 'sqlite', where: file, before, after, latest: LATEST.sqlite };
  } catch (err) {
    throw new StoreToolError(`cannot migrate ${file}: ${reasonOf(err)}`, 'failed');
  } finally {
    db.close();
  }
}

export interface PostgresInfo {
  where: string;
  /** `SHOW server_version`. */
  serverVersion: string;
  /** 0: no metalboot schema yet (serve creates it). */
  schemaVersion: number;
  latest: number;
}

/** Connect (bounded by `timeoutMs`), read the server's version and the schema's; writes nothing. */
export async function inspectPostgres(url: string, timeoutMs = 5000): Promise<PostgresInfo> {
  const where = describePostgresUrl(url);
  const db = new Db(url, { max: 1, connectTimeoutMs: timeoutMs });
  try {
    const server = await db.read<{ server_version: string }>('SHOW server_version');
    return {
      where,
      serverVersion: server.rows[0]!.server_version,
      schemaVersion: await pgVersion(db.reader),
      latest: LATEST.postgres,
    };
  } catch (err) {
    throw new StoreToolError(`cannot connect to PostgreSQL at ${where}: ${reasonOf(err)}`, 'unreachable');
  } finally {
    await db.close();
  }
}

export interface SqliteInfo {
  file: string;
  exists: boolean;
  mode?: number;
  schemaVersion?: number;
  latest: number;
  /** Why the file could not be read. */
  error?: string;
}

/** The file, its mode and its schema version, read-only. */
export function inspectSqlite(file: string): SqliteInfo {
  const info: SqliteInfo = { file, exists: existsSync(file), latest: LATEST.sqlite };
  if (!info.exists) return info;
  try {
    info.mode = statSync(file).mode & 0o777;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      info.schemaVersion = db.pragma('user_version', { simple: true }) as number;
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } finally {
      db.close();
    }
  } catch (err) {
    info.error = reasonOf(err);
  }
  return info;
}
