import type { Test } from 'tap';
import { audit, open, type StoreFactory } from './fixtures.js';

/** An action whose entries are coalesced (their detail's count grows in place: core/coalesced-audit.ts). */
const COALESCED = 'config.refused';

export function auditConformance(t: Test, factory: StoreFactory): void {
  t.test('append: returns the entry with its id; list is newest first', async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.audit.list(), []);
    const first = audit('machine.create', 1, {
      target: '02:00:00:00:00:01',
      detail: { hostname: 'n1', nested: { a: [1] } },
      sourceIp: '10.0.0.5',
    });
    const a1 = await store.audit.append(first);
    t.same(a1, { id: a1.id, ...first });
    const a2 = await store.audit.append(audit('cluster.create', 2, { target: 'prod', actor: 'system' }));
    const a3 = await store.audit.append(audit('machine.update', 3));
    t.ok(a1.id < a2.id && a2.id < a3.id, 'ids grow');
    t.same(await store.audit.list(), [a3, a2, a1]);
  });

  t.test('list: by target, a page before an id, at most limit', async (t) => {
    const { store } = await open(t, factory);
    const entries = [];
    for (let i = 0; i < 8; i++)
      entries.push(await store.audit.append(audit('machine.update', i, { target: i % 2 ? 'odd' : 'even' })));
    const newestFirst = [...entries].reverse();
    t.same(await store.audit.list({ limit: 3 }), newestFirst.slice(0, 3));
    t.same(await store.audit.list({ beforeId: entries[5]!.id }), newestFirst.slice(3), 'strictly before the id');
    t.same(await store.audit.list({ beforeId: entries[5]!.id, limit: 2 }), newestFirst.slice(3, 5));
    t.same(await store.audit.list({ beforeId: entries[0]!.id }), [], 'before the oldest: empty');
    t.same(
      await store.audit.list({ target: 'odd' }),
      newestFirst.filter((e) => e.target === 'odd'),
    );
    t.same(await store.audit.list({ target: 'odd', beforeId: entries[5]!.id, limit: 1 }), [entries[3]]);
    t.same(await store.audit.list({ target: 'nobody' }), []);
  });

  t.test("setDetail: a coalesced entry's detail is replaced in place, the rest of it kept", async (t) => {
    const { store } = await open(t, factory);
    const before = await store.audit.append(audit('machine.create', 1));
    const refusal = await store.audit.append(
      audit(COALESCED, 2, {
        actor: 'machine',
        target: '02:00:00:00:00:01',
        detail: { count: 1, reason: 'ip' },
        sourceIp: '10.0.0.9',
      }),
    );
    const after = await store.audit.append(audit('machine.update', 3));
    await store.audit.setDetail(refusal.id, { count: 2, reason: 'ip' });
    t.same(
      await store.audit.list(),
      [after, { ...refusal, detail: { count: 2, reason: 'ip' } }, before],
      'same id, same place, new detail',
    );
  });
}
