/**
 * The PostgreSQL store against the store conformance suite (test/helpers/store-conformance), on a
 * real server this file starts (test/helpers/postgres-server.ts). Each test gets a database of its
 * own (a copy of one migrated once); `another()` is a second PostgresStore (its own pool) over the
 * same database, as a second metalboot instance would be. Without PostgreSQL the file skips
 * visibly; under CI it fails.
 */
import t from 'tap';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { runStoreConformance } from '../helpers/store-conformance/index.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);
  // Migrated once; every test gets a copy (its own database, the schema already there).
  const template = await server.createDatabase();
  await (await PostgresStore.open(template)).close();
  runStoreConformance(t, 'postgres', async () => {
    const url = await server.createDatabase(template);
    const store = await PostgresStore.open(url);
    const others: PostgresStore[] = [];
    return {
      store,
      another: async () => {
        const other = await PostgresStore.open(url);
        others.push(other);
        return other;
      },
      cleanup: async () => {
        for (const other of others) await other.close();
        await store.close();
      },
    };
  });
});
