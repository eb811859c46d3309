/**
 * `metalboot db copy`: a whole store into PostgreSQL, rows as they are (ids included), in one
 * transaction on the target: it commits with every table copied or not at all.
 *
 * Order of work: the source is opened and its schema checked (nothing touched yet); the target is
 * reached, and a non-empty one is refused without `force` before anything is written to it; then
 * the target is migrated (as serve would) and the copy runs: every table locked against writers,
 * emptiness checked again (someone may have written meanwhile), with `force` the old rows deleted,
 * the rows inserted a batch at a time, and each identity sequence moved past the copied ids.
 */
import { Db, type Sql } from '../postgres/db.js';
import { migratePostgres } from '../postgres/migrations.js';
import { describePostgresUrl } from '../postgres/store.js';
import { type CopySource, openSource } from './sources.js';
import { COPY_SCHEMA, reasonOf, type Row, StoreToolError, TABLES, type TableSpec } from './tables.js';

export interface CopyOptions {
  /** A SQLite file (or data directory), or a postgres:// URL. */
  from: string;
  /** A postgres:// URL. */
  to: string;
  /** Replace what the target holds. */
  force?: boolean;
  /** Rows per INSERT (default 500). */
  batchRows?: number;
}

export interface CopySummary {
  from: string;
  to: string;
  /** Rows copied, per table, in copy order. */
  tables: { table: string; rows: number }[];
  /** Rows the target held before (deleted: only with force). */
  replaced: number;
}

export async function copyStore(opts: CopyOptions): Promise<CopySummary> {
  const source = await openSource(opts.from);
  try {
    const where = describePostgresUrl(opts.to);
    const target = new Db(opts.to, { max: 2 });
    try {
      await reach(target, where);
      if (source.marker) await refuseSameDatabase(target, source, where);
      if (!opts.force && (await hasSchema(target))) await refuseNonEmpty(target, where);
      try {
        await migratePostgres(target.pool);
      } catch (err) {
        throw new StoreToolError(`cannot prepare the target at ${where}: ${reasonOf(err)}`, 'failed');
      }
      return await source.snapshot((reader) =>
        target
          .tx(async (sql) => {
            // Writers wait (reads go on) until the copy commits: nothing lands between the check and the copy.
            await sql.query(`LOCK TABLE ${TABLES.map((t) => t.name).join(', ')} IN EXCLUSIVE MODE`);
            let replaced = 0;
            if (!opts.force) await refuseNonEmpty(sql, where);
            else replaced = await clear(sql);
            const tables: CopySummary['tables'] = [];
            for (const t of TABLES) tables.push({ table: t.name, rows: await copyTable(sql, reader, t, opts) });
            for (const t of TABLES.filter((x) => x.identity)) await moveSequence(sql, t, await reader.highWater(t));
            return { from: source.label, to: where, tables, replaced };
          })
          .catch((err) => {
            if (err instanceof StoreToolError) throw err;
            throw new StoreToolError(`the copy failed and nothing was written: ${reasonOf(err)}`, 'failed');
          }),
      );
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

async function reach(target: Db, where: string): Promise<void> {
  try {
    await target.read('SELECT 1');
  } catch (err) {
    throw new StoreToolError(
      `cannot connect to PostgreSQL at ${where}: ${reasonOf(err)}`,
      'unreachable',
      'check the --to URL (host, port, user, password, database) and that the server is running',
    );
  }
}

/** Copying a database onto itself with force would delete it: refuse, whatever the URLs look like. */
async function refuseSameDatabase(target: Db, source: CopySource, where: string): Promise<void> {
  const res = await target.read<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
    [source.marker],
  );
  if (res.rows[0]!.n > 0)
    throw new StoreToolError(`--from and --to are the same database (${where})`, 'usage', 'copy into another database');
}

async function hasSchema(db: Sql): Promise<boolean> {
  const res = await db.query<{ e: boolean }>("SELECT to_regclass('metalboot_migrations') IS NOT NULL AS e");
  return res.rows[0]!.e;
}

async function refuseNonEmpty(db: Sql, where: string): Promise<void> {
  const holding: string[] = [];
  for (const t of TABLES) {
    const res = await db.query<{ e: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AND EXISTS (SELECT 1 FROM ${t.name}) AS e`,
      [t.name],
    );
    if (res.rows[0]!.e) holding.push(t.name);
  }
  if (holding.length)
    throw new StoreToolError(
      `the target at ${where} is not empty (${holding.join(', ')} hold rows); nothing was copied`,
      'conflict',
      'add --force to replace its content (stop every metalboot on it first), or copy into an empty database',
    );
}

/**
 * Delete every row, children first. The timeline and the audit log refuse DELETE (and TRUNCATE)
 * unless the transaction opened the retention gate: `set_config(…, true)` opens it for this
 * transaction only, as retention does, and it closes by itself at COMMIT or ROLLBACK.
 */
async function clear(sql: Sql): Promise<number> {
  await sql.query("SELECT set_config('metalboot.retention', 'on', true)");
  let n = 0;
  for (const t of [...TABLES].reverse()) n += (await sql.query(`DELETE FROM ${t.name}`)).rowCount;
  return n;
}

async function copyTable(
  sql: Sql,
  reader: { rows(t: TableSpec, after: unknown, limit: number): Promise<Row[]> },
  t: TableSpec,
  opts: CopyOptions,
): Promise<number> {
  const limit = opts.batchRows ?? 500;
  const keyAt = t.columns.findIndex(([c]) => c === t.key);
  const cols = t.columns.map(([c]) => c).join(', ');
  let after: unknown;
  let n = 0;
  for (;;) {
    const rows = await reader.rows(t, after, limit);
    if (!rows.length) return n;
    const params: unknown[] = [];
    const values = rows.map(
      (row) => `(${t.columns.map(([, type], i) => `$${params.push(row[i] ?? null)}::${type}`).join(', ')})`,
    );
    try {
      await sql.query(
        `INSERT INTO ${t.name} (${cols}) ${t.identity ? 'OVERRIDING SYSTEM VALUE ' : ''}VALUES ${values.join(', ')}`,
        params,
      );
    } catch (err) {
      const first = rows[0]![keyAt];
      throw new StoreToolError(
        `the copy failed and nothing was written: ${t.name} (rows from ${t.key} ${String(first)}): ${reasonOf(err)}`,
        'failed',
      );
    }
    n += rows.length;
    after = rows[rows.length - 1]![keyAt];
    if (rows.length < limit) return n;
  }
}

/**
 * The next append must get an id above every copied one (and above every id the source ever
 * handed out, so a reader resuming with an old id misses nothing). `setval` is not undone by a
 * ROLLBACK, so it never moves a sequence back: a failed copy leaves the target's old rows with a
 * sequence still past them, and a repeated copy lands on the same value.
 */
async function moveSequence(sql: Sql, t: TableSpec, highWater: number): Promise<void> {
  await sql.query(
    `SELECT CASE WHEN v > 0 THEN setval(s, v, true) END
       FROM (SELECT s, GREATEST($2::bigint, COALESCE(pg_sequence_last_value(s), 0),
                                (SELECT COALESCE(max(${t.key}), 0) FROM ${t.name})) AS v
               FROM (SELECT pg_get_serial_sequence($1, $3)::regclass AS s) a) b`,
    [t.name, highWater, t.key],
  );
}

export { COPY_SCHEMA };
