import type { Test } from 'tap';
import { at, event, mac, machine, open, type StoreFactory } from './fixtures.js';

export function eventConformance(t: Test, factory: StoreFactory): void {
  t.test('append: returns the event with its id; ids grow across all machines', async (t) => {
    const { store } = await open(t, factory);
    const first = event(mac(1), 'dhcp', 1, {
      detail: { xid: 7, nested: { list: [1, 'a', null] } },
      sourceIp: '10.0.0.1',
    });
    const e1 = await store.events.append(first);
    t.same(e1, { id: e1.id, ...first });
    t.ok(Number.isInteger(e1.id) && e1.id > 0, 'a positive integer id');
    const e2 = await store.events.append(event(mac(2), 'tftp', 2));
    const e3 = await store.events.append(event(mac(1), 'http', 3));
    t.ok(e1.id < e2.id && e2.id < e3.id, `increasing: ${e1.id} ${e2.id} ${e3.id}`);
    t.same(await store.events.list(mac(1)), [e1, e3], 'stored as returned');
  });

  t.test("append with a state moves the machine's state and stateChangedAt with it", async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(machine(mac(1)));
    await store.events.append(event(mac(1), 'note', 1));
    t.equal((await store.machines.get(mac(1)))?.state, 'registered', 'an event without a state leaves it');
    await store.events.append(event(mac(1), 'dhcp', 2, { state: 'dhcp' }));
    let m = (await store.machines.get(mac(1)))!;
    t.equal(m.state, 'dhcp');
    t.equal(m.stateChangedAt, at(2));
    await store.events.append(event(mac(1), 'dhcp', 3, { state: 'dhcp' }));
    m = (await store.machines.get(mac(1)))!;
    t.equal(
      m.stateChangedAt,
      at(2),
      'the same state again: the time it was entered stays (stall deadlines count from it)',
    );
    await store.events.append(event(mac(1), 'pxe', 4, { state: 'pxe' }));
    m = (await store.machines.get(mac(1)))!;
    t.equal(m.state, 'pxe');
    t.equal(m.stateChangedAt, at(4));
    t.same(
      Object.fromEntries(await store.machines.countByState()),
      { pxe: 1 },
      'the state the queries filter on moved too',
    );
    t.same(
      (await store.machines.list({ state: 'pxe' })).map((x) => x.mac),
      [mac(1)],
    );
  });

  t.test('the timeline outlives its machine: events of unknown or deleted machines are kept', async (t) => {
    const { store } = await open(t, factory);
    const orphan = await store.events.append(event(mac(5), 'dhcp', 1, { state: 'dhcp' }));
    t.equal(await store.machines.get(mac(5)), undefined, 'no machine is created by an event');
    t.same(await store.events.list(mac(5)), [orphan]);
    await store.machines.insert(machine(mac(6)));
    const e = await store.events.append(event(mac(6), 'dhcp', 2));
    await store.machines.delete(mac(6));
    t.same(await store.events.list(mac(6)), [e], 'kept after the machine was deleted');
    t.same(Object.fromEntries(await store.events.latest([mac(6)])), {
      [mac(6)]: { id: e.id, kind: 'dhcp', at: at(2) },
    });
  });

  t.test("list: one machine's events oldest first; afterId and limit", async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.events.list(mac(1)), [], 'none yet');
    const mine = [];
    for (let i = 0; i < 6; i++) {
      mine.push(await store.events.append(event(mac(1), `k${i}`, i)));
      await store.events.append(event(mac(2), `other${i}`, i));
    }
    t.same(await store.events.list(mac(1)), mine, 'every one, in id order, none of another machine');
    t.same(await store.events.list(mac(1), { limit: 2 }), mine.slice(0, 2), 'the oldest first');
    t.same(await store.events.list(mac(1), { afterId: mine[1]!.id }), mine.slice(2));
    t.same(await store.events.list(mac(1), { afterId: mine[1]!.id, limit: 3 }), mine.slice(2, 5));
    t.same(
      await store.events.list(mac(1), { afterId: mine[1]!.id + 1 }),
      mine.slice(2),
      'after an id of another machine',
    );
    t.same(await store.events.list(mac(1), { afterId: mine[5]!.id }), [], 'after the newest: empty');
    t.same(await store.events.list(mac(9)), [], 'an unknown machine: empty');
  });

  t.test("since: every machine's events after an id, oldest first, at most limit", async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.events.since(0, 10), []);
    const all = [];
    for (let i = 0; i < 5; i++) all.push(await store.events.append(event(mac(i % 2), `k${i}`, i)));
    t.same(await store.events.since(0, 10), all);
    t.same(await store.events.since(0, 2), all.slice(0, 2));
    t.same(await store.events.since(all[1]!.id, 2), all.slice(2, 4));
    t.same(await store.events.since(all[4]!.id, 10), []);
    const late = await store.events.append(event(mac(7), 'late', 9));
    t.same(await store.events.since(all[4]!.id, 10), [late], 'a client catching up gets what came since');
  });

  t.test('tail: the newest limit events of a machine, oldest first', async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.events.tail(mac(1), 3), []);
    const mine = [];
    for (let i = 0; i < 5; i++) {
      mine.push(await store.events.append(event(mac(1), `k${i}`, i)));
      await store.events.append(event(mac(2), `x${i}`, i));
    }
    t.same(await store.events.tail(mac(1), 3), mine.slice(2));
    t.same(await store.events.tail(mac(1), 10), mine, 'fewer than limit: all of them');
    t.same(await store.events.tail(mac(1), 1), [mine[4]]);
  });

  t.test("latest: each asked machine's newest event; machines without events absent", async (t) => {
    const { store } = await open(t, factory);
    t.equal((await store.events.latest([])).size, 0);
    t.equal((await store.events.latest([mac(1)])).size, 0);
    await store.events.append(event(mac(1), 'dhcp', 1));
    const two = await store.events.append(event(mac(2), 'registered', 2));
    const newest = await store.events.append(event(mac(1), 'tftp', 3));
    await store.events.append(event(mac(9), 'dhcp', 4)); // not asked for
    const latest = await store.events.latest([mac(1), mac(2), mac(3)]);
    t.same([...latest.entries()].sort(), [
      [mac(1), { id: newest.id, kind: 'tftp', at: at(3) }],
      [mac(2), { id: two.id, kind: 'registered', at: at(2) }],
    ]);
    t.same(
      Object.fromEntries(await store.events.latest([mac(2), mac(2)])),
      { [mac(2)]: { id: two.id, kind: 'registered', at: at(2) } },
      'a MAC asked twice',
    );
  });

  t.test(
    'repeat: a counted repeat grows repeats and lastAt, nothing else; an event that is gone says false',
    async (t) => {
      const { store } = await open(t, factory);
      const e = await store.events.append(event(mac(1), 'machine-script', 1));
      const other = await store.events.append(event(mac(2), 'machine-script', 2));
      t.equal(await store.events.repeat(e.id, at(3)), true);
      t.equal(await store.events.repeat(e.id, at(4)), true);
      const [got] = await store.events.list(mac(1));
      t.same(got, { ...e, repeats: 3, lastAt: at(4) }, 'counted three times, last at the last repeat');
      t.same(
        await store.events.list(mac(2)),
        [other],
        'another event untouched, and an event that happened once has no count',
      );
      t.same(
        Object.fromEntries(await store.events.latest([mac(1)])),
        { [mac(1)]: { id: e.id, kind: 'machine-script', at: at(4) } },
        'latest: when it last happened',
      );
      t.same(
        (await store.events.since(0, 10)).map((x) => x.id),
        [e.id, other.id],
        'no new id for a repeat',
      );
      t.equal(await store.events.repeat(other.id + 1000, at(5)), false);
    },
  );
}
