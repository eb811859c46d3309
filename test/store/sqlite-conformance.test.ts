/** The embedded SQLite store against the store conformance suite (test/helpers/store-conformance). */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runStoreConformance } from '../helpers/store-conformance/index.js';

// One temporary directory for the whole run (t.testdir would be one per subtest level).
const dir = mkdtempSync(join(tmpdir(), 'metalboot-conformance-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreConformance(t, 'sqlite', async () => {
  const file = join(dir, `store-${++n}.db`);
  const store = new SqliteStore(file);
  const others: SqliteStore[] = [];
  return {
    store,
    // Another connection to the same file: it sees only what the first committed.
    another: async () => {
      const other = new SqliteStore(file);
      others.push(other);
      return other;
    },
    cleanup: async () => {
      for (const other of others) await other.close();
      await store.close();
    },
  };
});
