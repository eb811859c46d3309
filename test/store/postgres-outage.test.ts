/**
 * The PostgreSQL store when its server goes away and comes back, on a real server this file stops
 * and starts (same data directory, same port): every call fails with the core's UnavailableError
 * (no crash, no hang), health says why, and the same store object works again once the server is
 * back, without being reopened; connections the server ended while idle (pg_terminate_backend) are
 * replaced; a transaction cut in the middle leaves nothing; DHCP on this store stays silent while
 * it is down and answers again after. Without PostgreSQL the file skips visibly; under CI it fails.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { UnavailableError } from '../../src/core/errors.js';
import { createCore } from '../../src/core/index.js';
import { loadTemplates } from '../../src/core/boot/templates.js';
import type { DhcpLogger } from '../../src/dhcp/types.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { makeRig } from '../helpers/dhcp-rig.js';
import { missingPostgres, type PostgresServer, startPostgres } from '../helpers/postgres-server.js';
import { mac, machine } from '../helpers/store-conformance/fixtures.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const ROOT = new URL('../../', import.meta.url).pathname;
const UNAVAILABLE = {
  name: 'UnavailableError',
  code: 'unavailable',
  message: /database \(PostgreSQL\) is unavailable/,
};

async function opened(t: Test, url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(url);
  t.teardown(() => store.close());
  return store;
}

/** Polls `check` until it resolves truthy: at most `tries` times, `ms` apart. */
async function until(what: string, check: () => Promise<boolean>, tries = 60, ms = 250): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`${what}: not within ${tries} tries`);
}

/** Health once its one-second cache has passed: what the database says now. */
async function freshHealth(store: PostgresStore) {
  await new Promise((r) => setTimeout(r, 1100));
  return store.health();
}

t.test('postgres', { skip: missing }, async (t) => {
  const server: PostgresServer = await startPostgres(t);
  /**
   * A database whose commits are on disk when they return, as in production: the test server runs
   * with synchronous_commit off (speed), which an immediate stop (a crash) may undo.
   */
  const durableDatabase = async () => {
    const url = await server.createDatabase();
    await server.admin(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = on`);
    return url;
  };
  // Whatever a test leaves stopped is started again for the next.
  const ensureUp = async () => {
    try {
      await server.admin('SELECT 1');
    } catch {
      server.startServer();
    }
  };

  for (const mode of ['immediate', 'fast'] as const)
    t.test(`server stopped (${mode}): every call is UnavailableError; back without reopening`, async (t) => {
      await ensureUp();
      const url = await durableDatabase();
      const store = await opened(t, url);
      await store.machines.insert(machine(mac(1), { hostname: 'before' }));
      t.same(await store.health(), { kind: 'postgres', ok: true }, 'healthy before');

      server.stopServer(mode);
      await t.rejects(store.machines.get(mac(1)), UNAVAILABLE, 'a read');
      await t.rejects(store.machines.insert(machine(mac(2))), UNAVAILABLE, 'a write');
      await t.rejects(
        store.leases.allocate({
          mac: mac(3),
          range: { first: 0x0afd0064, last: 0x0afd0068 },
          now: 1000,
          offerExpiresAt: 61_000,
        }),
        UNAVAILABLE,
        'a transaction',
      );
      const down = await freshHealth(store);
      t.match(down, { kind: 'postgres', ok: false, error: /ECONNREFUSED|terminat|connect/ }, 'health says why');
      t.notMatch(down.error, new URL(url).password, 'never the password');
      const err = await store.machines.get(mac(1)).catch((e: unknown) => e);
      t.ok(err instanceof UnavailableError, 'the core’s class, for adapters to map');

      server.startServer();
      await until('the store answers again', async () => (await store.machines.get(mac(1)))?.hostname === 'before');
      t.same(await freshHealth(store), { kind: 'postgres', ok: true }, 'healthy again');
      await store.machines.insert(machine(mac(2)));
      t.ok(await store.machines.get(mac(2)), 'writes work again');
      t.notOk(await store.leases.get('10.253.0.100'), 'nothing of the failed calls was written');
    });

  t.test('pg_terminate_backend of every metalboot connection while idle: the next calls succeed', async (t) => {
    await ensureUp();
    const url = await durableDatabase();
    const store = await opened(t, url);
    // Fill the pool: several connections open and idle.
    await Promise.all(Array.from({ length: 6 }, (_, i) => store.machines.insert(machine(mac(10 + i)))));
    const db = new URL(url).pathname.slice(1);
    const killed = await server.admin(
      "SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity WHERE datname = $1 AND application_name = 'metalboot'",
      [db],
    );
    t.ok(killed.rowCount! >= 1, `${killed.rowCount} connections terminated`);
    await until('the backends are gone', async () => {
      const left = await server.admin(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'metalboot'",
        [db],
      );
      return left.rows[0].n === 0;
    });
    const reads = await Promise.all(Array.from({ length: 6 }, (_, i) => store.machines.get(mac(10 + i))));
    t.equal(reads.filter(Boolean).length, 6, 'every read succeeds on new connections');
    await store.machines.insert(machine(mac(20)));
    t.ok(await store.machines.get(mac(20)), 'and writes');
  });

  t.test('a transaction cut in the middle leaves nothing', async (t) => {
    await ensureUp();
    const url = await durableDatabase();
    const store = await opened(t, url);
    const insert = (m: string) =>
      `INSERT INTO machines (mac, uuid, cluster, state, ip, seen_ip, seen_at, doc) VALUES ('${m}', NULL, NULL, 'registered', NULL, NULL, NULL, '{}')`;

    // Its own connection terminated between two statements.
    const cut = store.db.tx(async (sql) => {
      await sql.query(insert(mac(30)));
      const pid = (await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await server.admin('SELECT pg_terminate_backend($1)', [pid]);
      await sql.query(insert(mac(31)));
    });
    await t.rejects(cut, UNAVAILABLE, 'the transaction fails as unavailable');
    t.notOk(await store.machines.get(mac(30)), 'its first insert was rolled back');
    t.notOk(await store.machines.get(mac(31)));

    // The whole server gone between two statements.
    const crashed = store.db.tx(async (sql) => {
      await sql.query(insert(mac(32)));
      server.stopServer('immediate');
      await sql.query(insert(mac(33)));
    });
    await t.rejects(crashed, UNAVAILABLE);
    server.startServer();
    await until('the store answers again', async () => (await store.machines.list()) !== undefined);
    t.notOk(await store.machines.get(mac(32)), 'nothing of it survived the crash');
    t.notOk(await store.machines.get(mac(33)));
  });

  t.test('DHCP on a store that is down: silent, one warning, no crash; answers once it is back', async (t) => {
    await ensureUp();
    const url = await durableDatabase();
    const store = await opened(t, url);
    const dir = t.testdir({});
    const core = createCore({
      store,
      templates: loadTemplates(join(ROOT, 'templates')),
      assetsDir: join(dir, 'assets'),
      advertiseUrl: 'http://10.253.0.1:8080',
      configTokenTtlMs: 3_600_000,
      discoveryRetrySeconds: 30,
    });
    t.teardown(() => core.powerBatches.close());
    const warnings: string[] = [];
    const errors: string[] = [];
    const logger: DhcpLogger = {
      debug() {},
      info() {},
      warn: (_o, msg) => warnings.push(msg ?? ''),
      error: (_o, msg) => errors.push(msg ?? ''),
    };
    const rig = makeRig({ core: core.network, leases: core.leases, logger });
    t.teardown(() => rig.close());
    const discover = (n: number) => ({ type: 1, mac: mac(40 + n), xid: 0x1000 + n });

    const before = await rig.send(discover(0));
    t.equal(before[0]?.type, 'OFFER', 'an OFFER while the database is up');

    server.stopServer('immediate');
    for (let n = 1; n <= 10; n++) t.same(await rig.send(discover(n)), [], `DISCOVER ${n}: no reply`);
    t.same(await rig.send({ ...discover(0), type: 3 }), [], 'a REQUEST: no reply either');
    t.equal(rig.handler.stats.errors, 11, 'each dropped packet counted');
    t.same(
      warnings.filter((w) => /unavailable/.test(w)),
      ['the store is unavailable: DHCP stays silent until it is back'],
      'one warning for all of them',
    );
    t.same(errors, [], 'no error lines per packet');

    server.startServer();
    let offer: string | undefined;
    await until('DHCP answers again', async () => {
      offer = (await rig.send(discover(11)))[0]?.type;
      return offer === 'OFFER';
    });
    t.equal(offer, 'OFFER', 'an OFFER once the database is back');
    const leased = await core.leases.get('10.253.0.100');
    t.equal(leased?.mac, mac(40), 'the lease offered before the outage is still there');
  });
});
