/**
 * What the PostgreSQL store keeps between calls to save round trips and parsing, and why it is
 * never stale: a cluster's parsed document is reused only while its row version (`xmin`) is the
 * one the database has, whichever instance changed it; and the repositories' prepared (named)
 * statements survive a schema change made under them by a newer instance (a rolling upgrade),
 * which PostgreSQL answers for a cached `SELECT *` plan with "cached plan must not change result
 * type". Without PostgreSQL the file skips visibly; under CI it fails.
 */
import pg from 'pg';
import t, { type Test } from 'tap';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { cluster, event, mac, machine } from '../helpers/store-conformance/fixtures.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

async function opened(t: Test, url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(url);
  t.teardown(() => store.close());
  return store;
}

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test('a cluster changed or deleted on another instance is read as it is now', async (t) => {
    const url = await server.createDatabase();
    const a = await opened(t, url);
    const b = await opened(t, url);
    await a.clusters.insert(cluster('prod', { talosVersion: 'v1.13.9' }));
    t.equal((await b.clusters.get('prod'))?.talosVersion, 'v1.13.9', 'first read');
    t.equal((await b.clusters.get('prod'))?.talosVersion, 'v1.13.9', 'unchanged: the same document again');
    await a.clusters.update(cluster('prod', { talosVersion: 'v1.14.0' }));
    t.equal((await b.clusters.get('prod'))?.talosVersion, 'v1.14.0', 'updated on A: B reads the new version');
    await a.clusters.delete('prod');
    t.equal(await b.clusters.get('prod'), undefined, 'deleted on A: gone on B');
    await a.clusters.insert(cluster('prod', { talosVersion: 'v1.11.5' }));
    t.equal((await b.clusters.get('prod'))?.talosVersion, 'v1.11.5', 'created again: the new one');
  });

  t.test('a column added under running statements (a newer instance migrating) breaks no read', async (t) => {
    const url = await server.createDatabase();
    const store = await opened(t, url);
    const m = mac(1);
    await store.machines.insert(machine(m));
    await store.events.append(event(m, 'dhcp-discover', 1));
    // Every pooled connection prepares the statement: run it on several at once, twice.
    for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: 6 }, () => store.events.list(m)));
    const migrator = new pg.Client({ connectionString: url });
    await migrator.connect();
    await migrator.query('ALTER TABLE machine_events ADD COLUMN added_by_a_newer_build text');
    await migrator.end();
    const after = await Promise.all(Array.from({ length: 6 }, () => store.events.list(m)));
    for (const rows of after) t.equal(rows.length, 1, 'the event is still read');
    await store.events.append(event(m, 'dhcp-request', 2));
    t.equal((await store.events.list(m)).length, 2, 'and the next append is read too');
  });
});
