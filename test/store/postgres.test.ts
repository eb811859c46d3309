/**
 * What is PostgreSQL's own in the PostgreSQL store (the contract is postgres-conformance.test.ts):
 * migrations (idempotent, under the advisory lock, several instances starting at once), a clear
 * error for an unreachable server, the append-only guards, retention over id gaps, and two
 * instances hammering lease allocation and the timeline at once. Without PostgreSQL the file skips
 * visibly; under CI it fails.
 */
import t, { type Test } from 'tap';
import pg from 'pg';
import { LOCK_SPACE, LOCKS } from '../../src/store/postgres/db.js';
import { migratePostgres, PG_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { missingPostgres, type PostgresServer, startPostgres } from '../helpers/postgres-server.js';
import { freePort } from '../helpers/spawn-server.js';
import { concurrencyTests } from '../helpers/postgres-concurrency.js';
import { audit, event, mac, machine } from '../helpers/store-conformance/fixtures.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const LATEST = PG_MIGRATIONS.map((m) => m.version);

/** A client of the test's own on one database, closed with the test. */
async function client(t: Test, url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  return c;
}

async function opened(t: Test, url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(url);
  t.teardown(() => store.close());
  return store;
}

const versions = async (c: pg.Client) =>
  (await c.query<{ version: number }>('SELECT version FROM metalboot_migrations ORDER BY version')).rows.map(
    (r) => r.version,
  );

t.test('postgres', { skip: missing }, async (t) => {
  const server: PostgresServer = await startPostgres(t);

  t.test('migrations: applied once, idempotent on every later start, data kept', async (t) => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open(url);
    await store.machines.insert(machine(mac(1)));
    await store.close();
    const admin = await client(t, url);
    t.same(await versions(admin), LATEST, 'every migration recorded');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    t.teardown(() => pool.end());
    t.same(await migratePostgres(pool), [], 'a second run applies nothing');
    const again = await opened(t, url);
    t.ok(await again.machines.get(mac(1)), 'what was stored is still there');
    t.same(await versions(admin), LATEST);
  });

  t.test('migrations: instances starting at once all come up; each migration ran once', async (t) => {
    const url = await server.createDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(url)));
    t.teardown(async () => {
      for (const s of stores) await s.close();
    });
    const admin = await client(t, url);
    t.same(await versions(admin), LATEST, 'one row per migration: none ran twice');
    await stores[0]!.events.append(event(mac(1), 'dhcp', 1));
    t.equal((await stores[3]!.events.since(0, 10)).length, 1, 'one schema under all of them');
  });

  t.test('migrations run under the advisory lock: a start waits while another instance holds it', async (t) => {
    const url = await server.createDatabase();
    const holder = await client(t, url);
    await holder.query('SELECT pg_advisory_lock($1, $2)', [LOCK_SPACE, LOCKS.migrations]);
    let settled = false;
    const opening = PostgresStore.open(url).finally(() => {
      settled = true;
    });
    // Bounded: until the store's session is seen waiting for the lock (pg_locks, not a clock).
    let waiting = 0;
    for (let i = 0; i < 200 && waiting === 0; i++) {
      const res = await holder.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = $2",
        [LOCK_SPACE, LOCKS.migrations],
      );
      waiting = res.rows[0]!.n;
      if (!waiting) await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(waiting, 1, 'the starting instance waits for the lock');
    t.equal(settled, false, 'and has not finished starting');
    const table = await holder.query("SELECT to_regclass('public.machines') AS t");
    t.equal(table.rows[0].t, null, 'nothing was created while another instance held the lock');
    await holder.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, LOCKS.migrations]);
    const store = await opening;
    t.teardown(() => store.close());
    t.same(await versions(holder), LATEST, 'migrated once the lock was free');
  });

  t.test('a database newer than this metalboot is refused, unchanged', async (t) => {
    const url = await server.createDatabase();
    await (await PostgresStore.open(url)).close();
    const admin = await client(t, url);
    await admin.query("INSERT INTO metalboot_migrations (version, description) VALUES (99, 'from the future')");
    await t.rejects(PostgresStore.open(url), /schema version 99 is newer than this metalboot understands/);
  });

  t.test('unreachable or refusing server at start: a clear error naming it, never the password', async (t) => {
    const port = await freePort(); // nothing listens there
    const err = await PostgresStore.open(`postgres://metalboot:s3cret-pw@127.0.0.1:${port}/metalboot`).catch(
      (e: Error) => e,
    );
    t.match(
      String(err),
      new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/metalboot: .*ECONNREFUSED`),
    );
    t.notMatch(String(err), 's3cret-pw');
    const wrong = server.url().replace(/:[0-9a-f]+@/, ':wrong-password@');
    const auth = await PostgresStore.open(wrong).catch((e: Error) => e);
    t.match(
      String(auth),
      /cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/postgres: .*password authentication failed/,
    );
    t.notMatch(String(auth), 'wrong-password');
    const noDb = await PostgresStore.open(server.url('no_such_db')).catch((e: Error) => e);
    t.match(String(noDb), /database "no_such_db" does not exist/);
  });

  t.test('the timeline is append-only: only a repeat count grows, only retention deletes', async (t) => {
    const url = await server.createDatabase();
    const store = await opened(t, url);
    const e = await store.events.append(event(mac(1), 'dhcp', 1, { detail: { a: 1 } }));
    const sql = await client(t, url);
    for (const [what, stmt] of [
      ['its kind', "UPDATE machine_events SET kind = 'forged' WHERE id = $1"],
      ['its detail', `UPDATE machine_events SET detail = '{"a":2}', repeats = repeats + 1 WHERE id = $1`],
      ['its count down', 'UPDATE machine_events SET repeats = repeats - 1 WHERE id = $1'],
      ['the row', 'DELETE FROM machine_events WHERE id = $1'],
    ] as const)
      await t.rejects(sql.query(stmt, [e.id]), /machine_events is append-only/, `cannot change ${what}`);
    await t.rejects(sql.query('TRUNCATE machine_events'), /append-only \(TRUNCATE refused\)/);
    await sql.query('UPDATE machine_events SET repeats = repeats + 1, last_at = $2 WHERE id = $1', [e.id, 'x']);
    t.equal((await store.events.list(mac(1)))[0]?.repeats, 2, 'a repeat is allowed');
    // The gate is local to the transaction that opens it: after it, a delete is refused again.
    await sql.query('BEGIN');
    await sql.query("SELECT set_config('metalboot.retention', 'on', true)");
    await sql.query('COMMIT');
    await t.rejects(sql.query('DELETE FROM machine_events WHERE id = $1', [e.id]), /append-only/);
    t.equal(await store.events.prune({ keepRows: 0, max: 10 }), 1, 'retention deletes');
  });

  t.test("the audit log is append-only: only a coalesced refusal's detail changes", async (t) => {
    const url = await server.createDatabase();
    const store = await opened(t, url);
    const plain = await store.audit.append(audit('machine.update', 1, { target: mac(1) }));
    const refused = await store.audit.append(audit('config.refused', 2, { detail: { count: 1 } }));
    const sql = await client(t, url);
    await t.rejects(
      sql.query(`UPDATE audit_log SET detail = '{}' WHERE id = $1`, [plain.id]),
      /audit_log is append-only/,
    );
    await t.rejects(sql.query("UPDATE audit_log SET actor = 'x' WHERE id = $1", [refused.id]), /append-only/);
    await t.rejects(sql.query('DELETE FROM audit_log WHERE id = $1', [plain.id]), /only retention deletes/);
    await t.rejects(sql.query('TRUNCATE audit_log'), /TRUNCATE refused/);
    await store.audit.setDetail(refused.id, { count: 5 });
    t.same((await store.audit.list({ limit: 1 }))[0]?.detail, { count: 5 }, 'the count grows in place');
  });

  t.test('retention by count is exact over id gaps (rolled-back inserts)', async (t) => {
    const url = await server.createDatabase();
    const store = await opened(t, url);
    const sql = await client(t, url);
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await store.events.append(event(mac(1), 'k', i))).id);
      await sql.query('BEGIN');
      for (let g = 0; g < 3; g++)
        await sql.query("INSERT INTO machine_events (mac, at, kind, detail) VALUES ('x', 'x', 'gap', '{}')");
      await sql.query('ROLLBACK'); // three ids taken and never used
    }
    t.ok(ids.at(-1)! - ids[0]! > 30, `ids have gaps: ${ids.join(' ')}`);
    t.equal(await store.events.prune({ keepRows: 4, max: 100 }), 6);
    t.same(
      (await store.events.since(0, 100)).map((e) => e.id),
      ids.slice(6),
      'exactly the newest four are kept',
    );
    t.equal(await store.events.prune({ keepRows: 4, max: 100 }), 0, 'and nothing more is due');
  });

  t.test('flushed() and close() wait for writes nobody awaited', async (t) => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open(url);
    const other = await opened(t, url);
    const fired = Array.from({ length: 20 }, (_, i) => store.events.append(event(mac(i), 'dhcp', i)));
    await store.flushed();
    t.equal((await other.events.since(0, 100)).length, 20, 'all twenty committed once flushed() resolved');
    const last = store.machines.insert(machine(mac(99), { hostname: 'written-last' }));
    await store.close();
    t.equal((await other.machines.get(mac(99)))?.hostname, 'written-last', 'close() let it commit first');
    await Promise.all([...fired, last]);
    await t.rejects(store.machines.get(mac(99)), /closed/, 'a closed store refuses further calls');
  });

  t.test('connections the server ends (a restart, an admin) are replaced, not a crash', async (t) => {
    const url = await server.createDatabase();
    const store = await opened(t, url);
    await Promise.all([store.machines.insert(machine(mac(1))), store.events.append(event(mac(1), 'dhcp', 1))]);
    const admin = await client(t, url);
    const ended = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'metalboot'",
    );
    t.ok(ended.rowCount! > 0, `ended ${ended.rowCount} pooled connections`);
    let got: unknown;
    for (let i = 0; i < 20 && !got; i++) got = await store.machines.get(mac(1)).catch(() => undefined);
    t.ok(got, 'the store answers again on new connections');
    t.equal((await store.events.append(event(mac(1), 'tftp', 2))).kind, 'tftp', 'and writes');
  });

  concurrencyTests(t, server);
});
