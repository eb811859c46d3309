/** The in-memory test store (test/helpers/memory-store.ts) against the store conformance suite: proof that the fake is faithful. */
import t from 'tap';
import { MemoryStore } from '../helpers/memory-store.js';
import { runStoreConformance } from '../helpers/store-conformance/index.js';

runStoreConformance(t, 'memory', async () => {
  const store = new MemoryStore();
  return { store, another: async () => store.another(), cleanup: () => store.close() };
});
