import type { Test } from 'tap';
import { at, audit, cluster, event, mac, machine, open, progress, token, type StoreFactory } from './fixtures.js';

export function durabilityConformance(t: Test, factory: StoreFactory): void {
  t.test('flushed: resolves with nothing written, and again and again', async (t) => {
    const { store } = await open(t, factory);
    await store.flushed();
    await Promise.all([store.flushed(), store.flushed()]);
    t.pass('resolved');
  });

  t.test('flushed: once it resolves, every write made before it is seen by another instance', async (t) => {
    const s = await open(t, factory);
    const { store } = s;
    // Writes of one turn, not awaited one by one (a store may batch them), of every repository.
    const range = { first: 0x0a000164, last: 0x0a0001c7 }; // 10.0.1.100-10.0.1.199
    await store.clusters.insert(cluster('prod'));
    const writes = Promise.all([
      store.machines.insert(machine(mac(1), { cluster: 'prod', hostname: 'n1' })),
      store.machines.insert(machine(mac(2))),
      store.events.append(event(mac(1), 'dhcp', 1, { state: 'dhcp' })),
      store.audit.append(audit('machine.create', 1, { target: mac(1) })),
      store.progress.put(progress(mac(1))),
      store.talosEvents.markSeen(mac(1), 'ev-1'),
      store.talosEvents.recordUnattributed({
        at: at(1),
        peerIp: '10.0.0.7',
        eventId: 'u1',
        type: 'machine.TaskEvent',
        payload: {},
      }),
      store.leases.allocate({ mac: mac(1), range, now: 1000, offerExpiresAt: 61_000 }),
    ]);
    const [, , ev] = await writes;
    await store.tokens.issue(token(mac(1), 'a'));
    await store.flushed();

    const other = await s.another();
    t.same(await other.clusters.get('prod'), cluster('prod'));
    t.equal((await other.machines.get(mac(1)))?.hostname, 'n1');
    t.equal((await other.machines.get(mac(1)))?.state, 'dhcp', 'the state an event moved');
    t.equal((await other.machines.list()).length, 2);
    t.same(await other.events.list(mac(1)), [ev]);
    t.equal((await other.audit.list()).length, 1);
    t.same(await other.progress.get(mac(1)), progress(mac(1)));
    t.equal(await other.talosEvents.countUnattributed(), 1);
    t.equal((await other.leases.listByMac(mac(1)))[0]?.state, 'offered');
    t.same(await other.tokens.forMachine(mac(1)), token(mac(1), 'a'));
    // markSeen is the only way to ask about a seen id; a known one writes nothing. Asked last.
    t.equal(await other.talosEvents.markSeen(mac(1), 'ev-1'), false, 'the seen event id');
  });

  t.test('flushed: a delete is durable too', async (t) => {
    const s = await open(t, factory);
    await s.store.machines.insert(machine(mac(1)));
    await s.store.flushed();
    const other = await s.another();
    t.ok(await other.machines.get(mac(1)));
    await s.store.machines.delete(mac(1));
    await s.store.flushed();
    t.equal(await other.machines.get(mac(1)), undefined);
  });

  t.test('close: what was written before it is kept, flushed() or not', async (t) => {
    const s = await open(t, factory);
    const other = await s.another();
    await s.store.machines.insert(machine(mac(1), { hostname: 'written-last' }));
    await s.store.close();
    t.equal((await other.machines.get(mac(1)))?.hostname, 'written-last');
  });
}
