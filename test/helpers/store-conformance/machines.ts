import type { Test } from 'tap';
import { at, cluster, CONFLICT, discovered, event, mac, machine, open, type StoreFactory } from './fixtures.js';

export function machineConformance(t: Test, factory: StoreFactory): void {
  t.test('get: a missing machine is undefined; an inserted one comes back as written', async (t) => {
    const { store } = await open(t, factory);
    t.equal(await store.machines.get('02:00:00:00:00:01'), undefined);
    await store.clusters.insert(cluster('prod'));
    const m = machine('02:00:00:00:00:01', {
      uuid: '11111111-2222-3333-4444-555555555555',
      serial: 'SN1',
      hostname: 'worker-1',
      role: 'worker',
      cluster: 'prod',
      installDisk: '/dev/sda',
      installDiskSelector: { size: '>= 100GB', type: 'nvme' },
      labels: { rack: 'r1', 'topology.kubernetes.io/zone': 'a' },
      patches: ['machine:\n  env:\n    A: "1"\n'],
      ip: '10.0.0.21',
      bootFile: 'snponly.efi',
      localBoot: 'sanboot',
      installed: true,
      reimage: { wipe: 'system', requestedAt: at(9), previousState: 'running', wipeServedAt: null },
      lastSeen: { ip: '10.0.0.21', arch: 'amd64', firmware: 'efi', platform: 'metal', at: at(8) },
    });
    await store.machines.insert(m);
    t.same(await store.machines.get(m.mac), m);
  });

  t.test('insert: an existing MAC fails with ConflictError and leaves the stored machine alone', async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(machine('02:00:00:00:00:01', { hostname: 'first' }));
    await t.rejects(store.machines.insert(machine('02:00:00:00:00:01', { hostname: 'second' })), CONFLICT);
    t.equal((await store.machines.get('02:00:00:00:00:01'))?.hostname, 'first');
    t.equal((await store.machines.list()).length, 1);
  });

  t.test("what was written is stored, not the caller's object", async (t) => {
    const { store } = await open(t, factory);
    const m = machine('02:00:00:00:00:01', { labels: { a: '1' } });
    await store.machines.insert(m);
    m.labels.a = 'mutated';
    m.hostname = 'mutated';
    const stored = (await store.machines.get(m.mac))!;
    t.same(stored.labels, { a: '1' });
    t.equal(stored.hostname, null);
    stored.hostname = 'changed-by-reader';
    t.equal((await store.machines.get(m.mac))?.hostname, null, "nor a reader's copy");
  });

  t.test(
    'update: replaces the document but never its state (only the timeline moves it); false when unknown',
    async (t) => {
      const { store } = await open(t, factory);
      await store.clusters.insert(cluster('prod'));
      const m = machine('02:00:00:00:00:01');
      await store.machines.insert(m);
      const stale = (await store.machines.get(m.mac))!;
      await store.events.append(event(m.mac, 'dhcp', 5, { state: 'dhcp' }));
      t.equal(
        await store.machines.update({
          ...stale,
          hostname: 'n1',
          cluster: 'prod',
          labels: { x: 'y' },
          updatedAt: at(6),
        }),
        true,
      );
      const merged = (await store.machines.get(m.mac))!;
      t.equal(merged.hostname, 'n1');
      t.equal(merged.cluster, 'prod');
      t.same(merged.labels, { x: 'y' });
      t.equal(merged.updatedAt, at(6));
      t.equal(merged.state, 'dhcp', 'a copy read before the state change does not roll it back');
      t.equal(merged.stateChangedAt, at(5));
      t.equal(await store.machines.update({ ...merged, state: 'joined', stateChangedAt: at(7) }), true);
      t.equal((await store.machines.get(m.mac))?.state, 'dhcp', 'nor does a copy with another state');
      t.equal((await store.machines.get(m.mac))?.stateChangedAt, at(5));
      t.equal(await store.machines.update(machine('02:00:00:00:00:99')), false);
      t.equal(await store.machines.get('02:00:00:00:00:99'), undefined, 'nothing created');
    },
  );

  t.test('delete: true once, then false', async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(machine('02:00:00:00:00:01'));
    t.equal(await store.machines.delete('02:00:00:00:00:01'), true);
    t.equal(await store.machines.delete('02:00:00:00:00:01'), false);
    t.equal(await store.machines.get('02:00:00:00:00:01'), undefined);
    t.same(await store.machines.list(), []);
    await store.machines.insert(machine('02:00:00:00:00:01', { hostname: 'again' }));
    t.equal((await store.machines.get('02:00:00:00:00:01'))?.hostname, 'again', 'the MAC can be registered again');
  });

  t.test('noteSeen: writes lastSeen, fills in a missing UUID and serial, leaves everything else alone', async (t) => {
    const { store } = await open(t, factory);
    const m = machine('02:00:00:00:00:07');
    await store.machines.insert(m);
    const seenCopy = (await store.machines.get(m.mac))!;
    const operatorCopy = (await store.machines.get(m.mac))!;
    await store.machines.update({ ...operatorCopy, hostname: 'edited' });
    await store.events.append(event(m.mac, 'dhcp', 30, { state: 'dhcp' }));
    const lastSeen = { ip: '10.0.0.7', at: at(60), arch: 'amd64' as const, firmware: 'efi' as const };
    t.equal(
      await store.machines.noteSeen({
        ...seenCopy,
        lastSeen,
        uuid: '11111111-2222-3333-4444-555555555555',
        serial: 'SN1',
        hostname: 'stale',
      }),
      true,
    );
    let got = (await store.machines.get(m.mac))!;
    t.equal(got.hostname, 'edited', "the operator's edit in between survives");
    t.equal(got.state, 'dhcp', 'the state change in between survives');
    t.same(got.lastSeen, lastSeen);
    t.equal(got.uuid, '11111111-2222-3333-4444-555555555555', 'a missing UUID is filled in');
    t.equal(got.serial, 'SN1');
    t.equal((await store.machines.findByIp('10.0.0.7'))?.mac, m.mac, 'found by the address it booted from');
    t.equal((await store.machines.findByUuid('11111111-2222-3333-4444-555555555555'))?.mac, m.mac, 'and by its UUID');

    const later = { ip: '10.0.0.8', at: at(120) };
    t.equal(
      await store.machines.noteSeen({
        ...got,
        lastSeen: later,
        uuid: '99999999-2222-3333-4444-555555555555',
        serial: 'SN2',
      }),
      true,
    );
    got = (await store.machines.get(m.mac))!;
    t.equal(got.uuid, '11111111-2222-3333-4444-555555555555', 'a known UUID is not replaced');
    t.equal(got.serial, 'SN1', 'nor a known serial');
    t.same(got.lastSeen, later, 'lastSeen is replaced as a whole');
    t.equal(await store.machines.findByIp('10.0.0.7'), undefined, 'the old address no longer finds it');
    t.equal((await store.machines.findByIp('10.0.0.8'))?.mac, m.mac);
    t.equal(
      await store.machines.noteSeen(machine('02:00:00:00:00:99', { lastSeen: later })),
      false,
      'unknown machine: false',
    );
    t.equal(await store.machines.get('02:00:00:00:00:99'), undefined, 'and nothing created');
  });

  t.test(
    'findByUuid: the one registered machine with it; none when only discovered ones or several have it',
    async (t) => {
      const { store } = await open(t, factory);
      const U1 = '11111111-0000-0000-0000-000000000001';
      const U2 = '11111111-0000-0000-0000-000000000002';
      t.equal(await store.machines.findByUuid(U1), undefined);
      await store.machines.insert(discovered(mac(1), 10, { uuid: U1 }));
      t.equal(await store.machines.findByUuid(U1), undefined, 'a discovered NIC carrying the UUID is not it');
      await store.machines.insert(machine(mac(2), { uuid: U1 }));
      t.equal((await store.machines.findByUuid(U1))?.mac, mac(2), 'the registered one, beside a discovered one');
      await store.machines.insert(machine(mac(3), { uuid: U2 }));
      await store.machines.insert(machine(mac(4), { uuid: U2, state: 'running' }));
      t.equal(await store.machines.findByUuid(U2), undefined, 'two registered machines: not unique, none');
      await store.machines.delete(mac(3));
      t.equal((await store.machines.findByUuid(U2))?.mac, mac(4), 'unique again after a delete');
      const m2 = (await store.machines.get(mac(2)))!;
      await store.machines.update({ ...m2, uuid: U2 });
      t.equal(await store.machines.findByUuid(U1), undefined, 'an update moves the UUID');
      t.equal(await store.machines.findByUuid(U2), undefined, 'now shared by two');
      await store.events.append(event(mac(1), 'accepted', 20, { state: 'registered' }));
      t.equal((await store.machines.findByUuid(U1))?.mac, mac(1), 'an accepted (no longer discovered) machine counts');
    },
  );

  t.test('findByIp: the reservation wins over a booted-from address; the most recently seen among those', async (t) => {
    const { store } = await open(t, factory);
    t.equal(await store.machines.findByIp('10.0.0.5'), undefined);
    await store.machines.insert(machine(mac(1), { lastSeen: { ip: '10.0.0.5', at: at(10) } }));
    await store.machines.insert(machine(mac(2), { lastSeen: { ip: '10.0.0.5', at: at(30) } }));
    await store.machines.insert(machine(mac(3), { lastSeen: { ip: '10.0.0.5', at: at(20) } }));
    t.equal((await store.machines.findByIp('10.0.0.5'))?.mac, mac(2), 'the one seen there last');
    await store.machines.insert(machine(mac(4), { ip: '10.0.0.5' }));
    t.equal((await store.machines.findByIp('10.0.0.5'))?.mac, mac(4), 'the reservation');
    t.equal(await store.machines.findByIp('10.0.0.6'), undefined);
    const m4 = (await store.machines.get(mac(4)))!;
    await store.machines.update({ ...m4, ip: '10.0.0.9' });
    t.equal((await store.machines.findByIp('10.0.0.5'))?.mac, mac(2), 'an update moves the reservation');
    t.equal((await store.machines.findByIp('10.0.0.9'))?.mac, mac(4));
  });

  t.test('reservationOwner: the MAC reserved for an address; a booted-from address is no reservation', async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(machine(mac(1), { ip: '10.0.0.11' }));
    await store.machines.insert(machine(mac(2), { lastSeen: { ip: '10.0.0.12', at: at(1) } }));
    t.equal(await store.machines.reservationOwner('10.0.0.11'), mac(1));
    t.equal(await store.machines.reservationOwner('10.0.0.12'), undefined);
    t.equal(await store.machines.reservationOwner('10.0.0.13'), undefined);
    await store.machines.delete(mac(1));
    t.equal(await store.machines.reservationOwner('10.0.0.11'), undefined, 'gone with its machine');
  });

  t.test(
    'hostnameOwner: another machine of the same cluster with that host name; other clusters do not count',
    async (t) => {
      const { store } = await open(t, factory);
      await store.clusters.insert(cluster('prod'));
      await store.clusters.insert(cluster('lab'));
      await store.machines.insert(machine(mac(2), { cluster: 'prod', hostname: 'worker-1' }));
      await store.machines.insert(machine(mac(3), { cluster: 'lab', hostname: 'worker-1' }));
      await store.machines.insert(machine(mac(4), { cluster: 'prod', hostname: 'worker-10' }));
      t.equal(await store.machines.hostnameOwner('prod', 'worker-1', mac(1)), mac(2));
      t.equal(await store.machines.hostnameOwner('lab', 'worker-1', mac(1)), mac(3));
      t.equal(await store.machines.hostnameOwner('prod', 'worker-1', mac(2)), undefined, 'not the machine itself');
      t.equal(await store.machines.hostnameOwner('prod', 'worker', mac(1)), undefined, 'the whole name, no prefix');
      t.equal(await store.machines.hostnameOwner('prod', 'WORKER-1', mac(1)), undefined, 'exactly');
      t.equal(await store.machines.hostnameOwner('edge', 'worker-1', mac(1)), undefined);
      await store.machines.update(machine(mac(2), { cluster: 'prod', hostname: 'worker-2' }));
      t.equal(await store.machines.hostnameOwner('prod', 'worker-1', mac(1)), undefined, 'an update frees the name');
      await store.machines.update(machine(mac(3), { cluster: 'prod', hostname: 'worker-1' }));
      t.equal(await store.machines.hostnameOwner('prod', 'worker-1', mac(1)), mac(3), 'and moving clusters takes it');
      await store.machines.delete(mac(3));
      t.equal(await store.machines.hostnameOwner('prod', 'worker-1', mac(1)), undefined, 'gone with its machine');
    },
  );

  t.test('list: all machines in MAC order, or those matching every given filter', async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.machines.list(), []);
    await store.clusters.insert(cluster('prod'));
    await store.clusters.insert(cluster('lab'));
    const zone = 'topology.kubernetes.io/zone';
    await store.machines.insert(machine(mac(3), { cluster: 'prod', labels: { [zone]: 'a', rack: '1' } }));
    await store.machines.insert(machine(mac(1), { cluster: 'lab', labels: { [zone]: 'b' } }));
    await store.machines.insert(discovered(mac(5), 1));
    await store.machines.insert(machine(mac(2), { cluster: 'prod', labels: { [zone]: 'b' } }));
    await store.machines.insert(machine(mac(4), { cluster: 'prod', labels: { rack: 'a' } }));
    await store.events.append(event(mac(2), 'pxe', 2, { state: 'pxe' }));
    await store.events.append(event(mac(4), 'installing', 3, { state: 'installing' }));
    const macs = async (filter?: Parameters<typeof store.machines.list>[0]) =>
      (await store.machines.list(filter)).map((m) => m.mac);
    t.same(await macs(), [mac(1), mac(2), mac(3), mac(4), mac(5)]);
    t.same(await macs({}), [mac(1), mac(2), mac(3), mac(4), mac(5)], 'an empty filter is no filter');
    t.same(await macs({ state: 'registered' }), [mac(1), mac(3)]);
    t.same(await macs({ states: ['installing', 'pxe'] }), [mac(2), mac(4)], 'any of several states');
    t.same(await macs({ states: [] }), [], 'no states: no machines');
    t.same(await macs({ cluster: 'prod' }), [mac(2), mac(3), mac(4)]);
    t.same(await macs({ cluster: 'none' }), []);
    t.same(await macs({ label: { key: zone, value: 'b' } }), [mac(1), mac(2)], 'a label key with dots and slashes');
    t.same(await macs({ label: { key: 'rack', value: 'a' } }), [mac(4)], 'a label value is matched exactly');
    t.same(
      await macs({ cluster: 'prod', label: { key: zone, value: 'b' }, state: 'pxe' }),
      [mac(2)],
      'all filters at once',
    );
    t.same(
      await macs({ cluster: 'prod', state: 'registered', label: { key: zone, value: 'b' } }),
      [],
      'all must match',
    );
    t.same(await macs({ registered: false }), [mac(5)], 'only discovered');
    t.same(await macs({ registered: true }), [mac(1), mac(2), mac(3), mac(4)], 'only registered');
  });

  t.test('page: matching machines in MAC order, after a MAC, at most limit', async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.machines.page({}, { limit: 10 }), [], 'an empty registry: an empty page');
    await store.clusters.insert(cluster('prod'));
    for (const n of [5, 1, 4, 2, 3, 6]) {
      await store.machines.insert(
        n === 6
          ? discovered(mac(n), 1)
          : machine(mac(n), { cluster: n % 2 ? 'prod' : null, labels: { n: String(n % 2) } }),
      );
    }
    await store.events.append(event(mac(3), 'dhcp', 2, { state: 'dhcp' }));
    const macs = async (filter: Parameters<typeof store.machines.page>[0], after?: string, limit = 10) =>
      (await store.machines.page(filter, { after, limit })).map((m) => m.mac);
    t.same(await macs({}, undefined, 2), [mac(1), mac(2)]);
    t.same(await macs({}, mac(2), 2), [mac(3), mac(4)]);
    t.same(await macs({}, mac(2)), [mac(3), mac(4), mac(5), mac(6)]);
    t.same(
      await macs({}, '02:00:00:00:00:03:ff'),
      [mac(4), mac(5), mac(6)],
      'after a MAC that is not stored: the next ones',
    );
    t.same(await macs({}, mac(6)), [], 'after the last: an empty page');
    t.same(await macs({ cluster: 'prod' }, undefined, 2), [mac(1), mac(3)], 'the limit counts matching machines only');
    t.same(await macs({ cluster: 'prod' }, mac(3), 2), [mac(5)]);
    t.same(await macs({ state: 'registered' }), [mac(1), mac(2), mac(4), mac(5)]);
    t.same(await macs({ states: ['dhcp', 'discovered'] }), [mac(3), mac(6)]);
    t.same(await macs({ states: [] }), []);
    t.same(await macs({ registered: false }), [mac(6)]);
    t.same(await macs({ registered: true }, mac(4)), [mac(5)]);
    t.same(await macs({ label: { key: 'n', value: '0' } }), [mac(2), mac(4)]);
    t.same(
      await macs({ label: { key: 'n', value: '0' }, registered: true, state: 'registered', cluster: 'prod' }),
      [],
      'every filter applies',
    );
  });

  t.test('countByState: machines per state, states without machines absent', async (t) => {
    const { store } = await open(t, factory);
    t.same([...(await store.machines.countByState()).entries()], []);
    await store.machines.insert(machine(mac(1)));
    await store.machines.insert(machine(mac(2)));
    await store.machines.insert(discovered(mac(3), 1));
    await store.events.append(event(mac(2), 'pxe', 2, { state: 'pxe' }));
    const counts = await store.machines.countByState();
    t.same(Object.fromEntries(counts), { registered: 1, pxe: 1, discovered: 1 });
    await store.machines.delete(mac(3));
    t.equal(
      (await store.machines.countByState()).has('discovered'),
      false,
      'a state whose last machine went is absent',
    );
  });

  t.test('countDiscovered: follows inserts, acceptance (a state change) and deletes', async (t) => {
    const { store } = await open(t, factory);
    t.equal(await store.machines.countDiscovered(), 0);
    await store.machines.insert(discovered(mac(1), 1));
    await store.machines.insert(discovered(mac(2), 2));
    await store.machines.insert(machine(mac(3)));
    t.equal(await store.machines.countDiscovered(), 2);
    await store.events.append(event(mac(1), 'accepted', 3, { state: 'registered' }));
    t.equal(await store.machines.countDiscovered(), 1, 'accepted');
    await store.machines.delete(mac(2));
    await store.machines.delete(mac(3));
    t.equal(await store.machines.countDiscovered(), 0, 'deleted');
  });

  t.test(
    'trimDiscovered: the least recently seen discovered machines beyond the newest keep, at most max',
    async (t) => {
      const { store } = await open(t, factory);
      t.equal(await store.machines.trimDiscovered(0, 10), 0, 'nothing to trim');
      // seen at 50, 10, 40, 20, 30 seconds; one registered machine seen long before all of them
      for (const [n, seen] of [
        [1, 50],
        [2, 10],
        [3, 40],
        [4, 20],
        [5, 30],
      ] as const)
        await store.machines.insert(discovered(mac(n), seen));
      await store.machines.insert(machine(mac(9), { lastSeen: { ip: '10.0.0.9', at: at(0) } }));
      t.equal(await store.machines.trimDiscovered(5, 10), 0, 'not over keep');
      t.equal(await store.machines.trimDiscovered(1, 2), 2, 'at most max');
      t.same(
        (await store.machines.list({ state: 'discovered' })).map((m) => m.mac),
        [mac(1), mac(3), mac(5)],
        'the two least recently seen went',
      );
      t.equal(await store.machines.trimDiscovered(1, 10), 2, 'down to keep');
      t.same(
        (await store.machines.list({ state: 'discovered' })).map((m) => m.mac),
        [mac(1)],
        'the most recently seen stays',
      );
      t.equal(await store.machines.countDiscovered(), 1);
      t.ok(await store.machines.get(mac(9)), 'a registered machine is never trimmed');
      t.equal(await store.machines.trimDiscovered(0, 0), 0, 'max 0: none');
      t.equal(await store.machines.trimDiscovered(0, 5), 1);
      t.ok(await store.machines.get(mac(9)));
    },
  );

  t.test('trimDiscovered and expireDiscovered order by the last boot noted (noteSeen), not by insertion', async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(discovered(mac(1), 10));
    await store.machines.insert(discovered(mac(2), 20));
    await store.machines.noteSeen({ ...(await store.machines.get(mac(1)))!, lastSeen: { ip: '10.0.0.1', at: at(30) } });
    t.equal(await store.machines.expireDiscovered(at(25), 10), 1);
    t.same(
      (await store.machines.list()).map((m) => m.mac),
      [mac(1)],
      'seen again at 30: kept',
    );
    await store.machines.insert(discovered(mac(3), 40));
    t.equal(await store.machines.trimDiscovered(1, 10), 1);
    t.same(
      (await store.machines.list()).map((m) => m.mac),
      [mac(3)],
    );
  });

  t.test('expireDiscovered: discovered machines last seen before the time, at most max', async (t) => {
    const { store } = await open(t, factory);
    for (let n = 1; n <= 5; n++) await store.machines.insert(discovered(mac(n), n * 10));
    await store.machines.insert(machine(mac(9), { lastSeen: { ip: '10.0.0.9', at: at(0) } }));
    // Never seen: its creation time stands in for the last boot.
    await store.machines.insert(machine(mac(8), { state: 'discovered', createdAt: at(5), lastSeen: {} }));
    t.equal(await store.machines.expireDiscovered(at(10), 10), 1, 'strictly before: the one seen at 10 stays');
    t.notOk(await store.machines.get(mac(8)), 'never seen, created at 5: expired');
    t.equal(await store.machines.expireDiscovered(at(45), 2), 2, 'at most max');
    t.equal(await store.machines.expireDiscovered(at(45), 2), 2);
    t.equal(await store.machines.expireDiscovered(at(45), 2), 0, 'none left that old');
    t.same(
      (await store.machines.list()).map((m) => m.mac),
      [mac(5), mac(9)],
      'the registered one is never expired',
    );
    t.equal(await store.machines.countDiscovered(), 1);
  });
}
