import type { Test } from 'tap';
import type { RetentionBatch, Store } from '../../../src/core/ports/types.js';
import { at, audit, event, mac, open, type StoreFactory } from './fixtures.js';

/** The timeline and the audit log share the retention contract (RetentionBatch): one suite for both. */
interface Log {
  name: string;
  /** Append a row recorded at `seconds`; returns its id. */
  add(store: Store, seconds: number): Promise<number>;
  prune(store: Store, opts: RetentionBatch): Promise<number>;
  /** The ids kept, oldest first. */
  ids(store: Store): Promise<number[]>;
}

const LOGS: Log[] = [
  {
    name: 'events',
    add: async (s, seconds) =>
      (await s.events.append(event(mac(seconds % 3), 'k', seconds, { detail: { seconds } }))).id,
    prune: (s, o) => s.events.prune(o),
    ids: async (s) => (await s.events.since(0, 100_000)).map((e) => e.id),
  },
  {
    name: 'audit',
    add: async (s, seconds) => (await s.audit.append(audit('machine.update', seconds, { detail: { seconds } }))).id,
    prune: (s, o) => s.audit.prune(o),
    ids: async (s) => (await s.audit.list({ limit: 100_000 })).map((a) => a.id).reverse(),
  },
];

export function retentionConformance(t: Test, factory: StoreFactory): void {
  for (const log of LOGS) {
    const fill = async (store: Store, n: number) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(await log.add(store, i * 10)); // row i recorded at i*10 s
      return ids;
    };

    t.test(`${log.name} prune: rows beyond the newest keepRows go, oldest first, at most max per call`, async (t) => {
      const { store } = await open(t, factory);
      t.equal(await log.prune(store, { keepRows: 0, max: 10 }), 0, 'an empty log');
      const ids = await fill(store, 10);
      t.equal(await log.prune(store, { keepRows: 4, max: 4 }), 4, 'at most max');
      t.same(await log.ids(store), ids.slice(4), 'the oldest went');
      t.equal(await log.prune(store, { keepRows: 4, max: 100 }), 2);
      t.same(await log.ids(store), ids.slice(6), 'the newest four are kept');
      t.equal(await log.prune(store, { keepRows: 4, max: 100 }), 0, 'nothing more is due');
      t.equal(await log.prune(store, { keepRows: 10, max: 100 }), 0, 'keepRows above the count');
    });

    t.test(`${log.name} prune: rows recorded before \`before\` go, at most max per call`, async (t) => {
      const { store } = await open(t, factory);
      const ids = await fill(store, 10);
      t.equal(await log.prune(store, { before: at(0), max: 100 }), 0, 'nothing strictly before the oldest');
      t.equal(await log.prune(store, { before: at(45), max: 3 }), 3);
      t.same(await log.ids(store), ids.slice(3));
      t.equal(await log.prune(store, { before: at(45), max: 3 }), 2, 'rows at 30 and 40; the one at 50 is younger');
      t.same(await log.ids(store), ids.slice(5));
      t.equal(await log.prune(store, { before: at(50), max: 3 }), 0, 'strictly before: the row at exactly 50 stays');
    });

    t.test(`${log.name} prune: age and count together; no limit given or max 0 deletes nothing`, async (t) => {
      const { store } = await open(t, factory);
      const ids = await fill(store, 10);
      t.equal(await log.prune(store, { max: 100 }), 0, 'neither before nor keepRows: nothing');
      t.equal(await log.prune(store, { before: at(1000), keepRows: 0, max: 0 }), 0, 'max 0: nothing');
      t.same(await log.ids(store), ids);
      t.equal(
        await log.prune(store, { before: at(25), keepRows: 8, max: 100 }),
        3,
        'older than 25 s (3 rows) or beyond 8 (2 rows): 3 in all',
      );
      t.same(await log.ids(store), ids.slice(3));
      t.equal(await log.prune(store, { before: at(0), keepRows: 5, max: 100 }), 2, 'the count alone');
      t.same(await log.ids(store), ids.slice(5));
    });

    t.test(`${log.name} prune: ids are never handed out again after the newest rows went`, async (t) => {
      const { store } = await open(t, factory);
      const ids = await fill(store, 3);
      t.equal(await log.prune(store, { keepRows: 0, max: 100 }), 3, 'keepRows 0: every row');
      t.same(await log.ids(store), []);
      const next = await log.add(store, 100);
      t.ok(
        next > ids[2]!,
        `the next id (${next}) is above every earlier one (${ids[2]}): readers paging by id miss nothing`,
      );
    });
  }
}
