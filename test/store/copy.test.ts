/**
 * src/store/tools/copy.ts beside the CLI: the table list it copies is exactly both schemas (a
 * migration added to either one fails here until the copy follows it), a copy that fails half-way
 * leaves the target as it was (one transaction, even with --force), and ids SQLite handed out and
 * then lost to retention are never handed out again. Without PostgreSQL the file skips the
 * PostgreSQL parts visibly; under CI it fails.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { copyStore } from '../../src/store/tools/copy.js';
import { COPY_SCHEMA, StoreToolError, TABLES } from '../../src/store/tools/tables.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { fillStore, MACS, storeContent } from '../helpers/store-content.js';
import { event } from '../helpers/store-conformance/fixtures.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

/** SQLite's bookkeeping, not data: discovered_count (PostgreSQL counts), retention_gate (PostgreSQL gates per transaction). */
const SQLITE_ONLY = ['discovered_count', 'retention_gate', 'sqlite_sequence'];
const SQLITE_TYPE = { text: 'TEXT', jsonb: 'TEXT', bigint: 'INTEGER', integer: 'INTEGER' } as const;
const spec = (type: (t: keyof typeof SQLITE_TYPE) => string) =>
  Object.fromEntries(TABLES.map((x) => [x.name, x.columns.map(([c, ty]) => `${c} ${type(ty)}`).sort()]));

t.test('the copy knows the newest schema of each engine', async (t) => {
  t.equal(
    COPY_SCHEMA.sqlite,
    Math.max(...MIGRATIONS.map((m) => m.version)),
    'SQLite: a new migration needs the copy looked at',
  );
  t.equal(COPY_SCHEMA.postgres, Math.max(...PG_MIGRATIONS.map((m) => m.version)), 'PostgreSQL: likewise');
});

t.test("the tables and columns copied are exactly SQLite's", async (t) => {
  const db = new Database(':memory:');
  migrate(db);
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
  )
    .map((r) => r.name)
    .filter((n) => !SQLITE_ONLY.includes(n));
  const actual = Object.fromEntries(
    tables.map((name) => [
      name,
      (db.pragma(`table_info(${name})`) as { name: string; type: string }[]).map((c) => `${c.name} ${c.type}`).sort(),
    ]),
  );
  db.close();
  t.same(
    actual,
    spec((ty) => SQLITE_TYPE[ty]),
  );
});

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test("the tables and columns copied are exactly PostgreSQL's", async (t) => {
    const url = await server.createDatabase();
    await (await PostgresStore.open(url)).close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    t.teardown(() => c.end());
    const res = await c.query(
      `SELECT table_name AS t, column_name AS c, data_type AS ty FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'metalboot_migrations'`,
    );
    const actual: Record<string, string[]> = {};
    for (const r of res.rows) actual[r.t] = [...(actual[r.t] ?? []), `${r.c} ${r.ty}`];
    for (const k of Object.keys(actual)) actual[k]!.sort();
    t.same(
      actual,
      spec((ty) => ty),
    );
  });

  t.test('a copy that fails half-way leaves the target as it was, even with force', async (t) => {
    const dir = t.testdir({});
    const good = join(dir, 'good', 'metalboot.db');
    const store = new SqliteStore(good);
    await fillStore(store, join(dir, 'good'));
    await store.close();
    const target = await server.createDatabase();
    await copyStore({ from: good, to: target });
    const before = await PostgresStore.open(target).then(async (s) => {
      await s.events.append(event(MACS[0]!, 'after-the-copy', 99));
      const c = await storeContent(s);
      await s.close();
      return c;
    });

    // The last table copied holds a row PostgreSQL refuses (not JSON): everything before it was
    // deleted and inserted in the same transaction.
    const bad = join(dir, 'bad', 'metalboot.db');
    const other = new SqliteStore(bad);
    await fillStore(other, join(dir, 'bad'));
    await other.close();
    const raw = new Database(bad);
    raw.prepare('INSERT INTO machine_progress (mac, doc) VALUES (?, ?)').run('02:00:00:00:00:63', '{not json');
    raw.close();
    const err = await copyStore({ from: bad, to: target, force: true, batchRows: 2 }).catch((e) => e);
    t.type(err, StoreToolError);
    t.equal(err.kind, 'failed');
    t.match(err.message, /^the copy failed and nothing was written: machine_progress \(rows from mac .*\): .*json/i);
    const after = await PostgresStore.open(target).then(async (s) => {
      const c = await storeContent(s);
      await s.close();
      return c;
    });
    t.same(after, before, 'the target is unchanged: its own event still there, nothing of the failed copy');
  });

  t.test('from a SQLite file a running store holds open (its last writes still in the WAL)', async (t) => {
    const dir = t.testdir({});
    const file = join(dir, 'metalboot.db');
    const live = new SqliteStore(file);
    t.teardown(() => live.close());
    await fillStore(live, dir);
    const expected = await storeContent(live);
    const target = await server.createDatabase();
    await copyStore({ from: file, to: target });
    const pgStore = await PostgresStore.open(target);
    t.teardown(() => pgStore.close());
    t.same(await storeContent(pgStore), expected, 'everything committed, as the running store reads it');
    await live.events.append(event(MACS[0]!, 'after', 1));
    t.ok(
      (await live.events.list(MACS[0]!)).some((e) => e.kind === 'after'),
      'the running store still writes',
    );
  });

  t.test('ids SQLite handed out and lost to retention are not handed out again', async (t) => {
    const dir = t.testdir({});
    const file = join(dir, 'metalboot.db');
    const store = new SqliteStore(file);
    await store.events.append(event(MACS[0]!, 'first', 1));
    await store.events.append(event(MACS[0]!, 'second', 2));
    await store.close();
    // As if the newest rows had gone: AUTOINCREMENT remembers the highest id ever used.
    const raw = new Database(file);
    raw.prepare("UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'machine_events'").run();
    raw.close();
    const target = await server.createDatabase();
    const summary = await copyStore({ from: file, to: target, batchRows: 1 });
    t.match(
      summary.tables.find((x) => x.table === 'machine_events'),
      { rows: 2 },
      'batches of one row',
    );
    const pgStore = await PostgresStore.open(target);
    t.teardown(() => pgStore.close());
    t.same(
      (await pgStore.events.list(MACS[0]!)).map((e) => e.id),
      [1, 2],
    );
    t.equal((await pgStore.events.append(event(MACS[0]!, 'third', 3))).id, 1001);
  });
});
