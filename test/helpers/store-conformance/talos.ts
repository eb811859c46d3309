import type { Test } from 'tap';
import { at, mac, open, progress, type StoreFactory } from './fixtures.js';

export function talosConformance(t: Test, factory: StoreFactory): void {
  t.test('talos event ids: seen once per machine, the newest keep per machine remembered', async (t) => {
    const { store } = await open(t, factory);
    const ev = store.talosEvents;
    t.equal(await ev.markSeen('m1', 'a', 3), true, 'new');
    t.equal(await ev.markSeen('m1', 'a', 3), false, 'a replay');
    t.equal(await ev.markSeen('m2', 'a', 3), true, 'per machine');
    for (const id of ['b', 'c', 'd']) t.equal(await ev.markSeen('m1', id, 3), true);
    t.equal(await ev.markSeen('m1', 'c', 3), false, 'among the newest three: still known');
    t.equal(await ev.markSeen('m1', 'a', 3), true, 'the oldest id was let go (keep 3)');
    t.equal(await ev.markSeen('m2', 'a', 3), false, "another machine's ids are not pruned with it");
    t.equal(await ev.markSeen('m3', 'x'), true, 'the default keep');
    t.equal(await ev.markSeen('m3', 'x'), false);
  });

  t.test('talos event ids: forget undoes markSeen, only for that machine and id', async (t) => {
    const { store } = await open(t, factory);
    const ev = store.talosEvents;
    await ev.markSeen('m1', 'a');
    await ev.markSeen('m1', 'b');
    await ev.markSeen('m2', 'a');
    await ev.forget('m1', 'a');
    t.equal(await ev.markSeen('m1', 'a'), true, 'forgotten: can be applied again');
    t.equal(await ev.markSeen('m1', 'b'), false);
    t.equal(await ev.markSeen('m2', 'a'), false);
    await ev.forget('m9', 'never');
    t.pass('forgetting an unknown id is harmless');
  });

  t.test('unattributed events: kept once per peer and id, oldest first, with filters', async (t) => {
    const { store } = await open(t, factory);
    const ev = store.talosEvents;
    t.same(await ev.listUnattributed(), []);
    t.equal(await ev.countUnattributed(), 0);
    const u = (peerIp: string, eventId: string, seconds: number) => ({
      at: at(seconds),
      peerIp,
      eventId,
      type: 'machine.TaskEvent',
      payload: { task: eventId, n: [seconds] },
    });
    t.equal(await ev.recordUnattributed(u('10.0.0.9', 'x', 1)), true);
    t.equal(await ev.recordUnattributed(u('10.0.0.9', 'x', 2)), false, 'the same peer sent that id before');
    t.equal(await ev.recordUnattributed(u('10.0.0.8', 'x', 3)), true, 'another peer');
    t.equal(await ev.recordUnattributed(u('10.0.0.9', 'y', 4)), true);
    const all = await ev.listUnattributed();
    t.same(
      all.map((e) => [e.peerIp, e.eventId]),
      [
        ['10.0.0.9', 'x'],
        ['10.0.0.8', 'x'],
        ['10.0.0.9', 'y'],
      ],
      'oldest first',
    );
    t.same(all[0], { id: all[0]!.id, ...u('10.0.0.9', 'x', 1), claimedBy: null }, 'as recorded, unclaimed');
    t.ok(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id, 'ids grow');
    t.same(
      (await ev.listUnattributed({ peerIp: '10.0.0.9' })).map((e) => e.eventId),
      ['x', 'y'],
    );
    t.same(
      (await ev.listUnattributed({ afterId: all[0]!.id })).map((e) => e.id),
      [all[1]!.id, all[2]!.id],
    );
    t.same(
      (await ev.listUnattributed({ limit: 2 })).map((e) => e.id),
      [all[0]!.id, all[1]!.id],
    );
    t.same(
      (await ev.listUnattributed({ peerIp: '10.0.0.9', afterId: all[0]!.id, limit: 5 })).map((e) => e.eventId),
      ['y'],
    );
    t.same(await ev.listUnattributed({ peerIp: '10.0.0.7' }), []);
    t.equal(await ev.countUnattributed(), 3);
  });

  t.test('unattributed events: claimed after the fact, counted and listed by claim', async (t) => {
    const { store } = await open(t, factory);
    const ev = store.talosEvents;
    for (const [peer, id] of [
      ['10.0.0.9', 'a'],
      ['10.0.0.9', 'b'],
      ['10.0.0.8', 'c'],
    ] as const) {
      await ev.recordUnattributed({ at: at(1), peerIp: peer, eventId: id, type: 'machine.PhaseEvent', payload: {} });
    }
    const mine = await ev.listUnattributed({ peerIp: '10.0.0.9', unclaimedOnly: true });
    t.equal(mine.length, 2);
    await ev.claimUnattributed(
      mine.map((e) => e.id),
      mac(1),
    );
    await ev.claimUnattributed([], mac(2));
    await ev.claimUnattributed([999_999], mac(2));
    t.equal(await ev.countUnattributed(), 3, 'claimed events are still kept');
    t.equal(await ev.countUnattributed({ unclaimedOnly: true }), 1);
    t.same(
      (await ev.listUnattributed({ unclaimedOnly: true })).map((e) => e.eventId),
      ['c'],
    );
    t.same(
      (await ev.listUnattributed()).map((e) => e.claimedBy),
      [mac(1), mac(1), null],
      'claimed by the machine; unknown ids ignored',
    );
    t.equal(
      await ev.recordUnattributed({
        at: at(2),
        peerIp: '10.0.0.9',
        eventId: 'a',
        type: 'machine.PhaseEvent',
        payload: {},
      }),
      false,
      'a claimed id is still known',
    );
  });

  t.test('progress: none until put; put replaces the whole record', async (t) => {
    const { store } = await open(t, factory);
    t.equal(await store.progress.get(mac(1)), undefined);
    const p = progress(mac(1));
    await store.progress.put(p);
    t.same(await store.progress.get(mac(1)), p);
    const next = progress(mac(1), {
      stage: 'RUNNING',
      ready: true,
      unmetConditions: [],
      stalled: { from: 'installing', at: at(9) },
      failure: { reason: 'r', at: at(8), source: 'talos' },
      bootstrapWaitAt: at(7),
    });
    await store.progress.put(next);
    t.same(await store.progress.get(mac(1)), next);
    t.equal(await store.progress.get(mac(2)), undefined, 'per machine');
    p.stage = 'mutated';
    t.same(await store.progress.get(mac(1)), next, "the store keeps what was written, not the caller's object");
  });
}
