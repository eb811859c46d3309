import type { Test } from 'tap';
import { cluster, CONFLICT, machine, open, type StoreFactory } from './fixtures.js';

export function clusterConformance(t: Test, factory: StoreFactory): void {
  t.test('get: a missing cluster is undefined; an inserted one comes back as written', async (t) => {
    const { store } = await open(t, factory);
    t.equal(await store.clusters.get('prod'), undefined);
    const written = cluster('prod', { schematic: 'abc123', endpoint: null, patches: [], kernelArgs: ['a=1', 'b'] });
    await store.clusters.insert(written);
    t.same(await store.clusters.get('prod'), written);
    t.equal(await store.clusters.get('Prod'), undefined, 'names are exact (case-sensitive)');
  });

  t.test('insert: an existing name fails with ConflictError and leaves the stored cluster alone', async (t) => {
    const { store } = await open(t, factory);
    await store.clusters.insert(cluster('prod'));
    await t.rejects(store.clusters.insert(cluster('prod', { talosVersion: 'v1.12.0' })), CONFLICT);
    t.equal((await store.clusters.get('prod'))?.talosVersion, 'v1.13.9');
    t.equal((await store.clusters.list()).length, 1);
  });

  t.test("what was written is stored, not the caller's object", async (t) => {
    const { store } = await open(t, factory);
    const c = cluster('prod');
    await store.clusters.insert(c);
    c.talosVersion = 'v0.0.0';
    c.kernelArgs.push('mutated');
    const stored = await store.clusters.get('prod');
    t.equal(stored?.talosVersion, 'v1.13.9');
    t.same(stored?.kernelArgs, ['console=ttyS0']);
  });

  t.test('update: replaces the document, false (and nothing created) when the name is unknown', async (t) => {
    const { store } = await open(t, factory);
    await store.clusters.insert(cluster('prod'));
    t.equal((await store.clusters.get('prod'))?.talosVersion, 'v1.13.9', 'read once (a store may keep it)');
    const changed = cluster('prod', {
      talosVersion: 'v1.14.0',
      worker: 'changed',
      updatedAt: '2026-06-02T00:00:00.000Z',
    });
    t.equal(await store.clusters.update(changed), true);
    t.same(await store.clusters.get('prod'), changed, 'the next get sees the update');
    t.same(await store.clusters.list(), [changed]);
    t.equal(await store.clusters.update(cluster('ghost')), false);
    t.equal(await store.clusters.get('ghost'), undefined);
  });

  t.test('delete: true once, then false; the cluster is gone from get, list and page', async (t) => {
    const { store } = await open(t, factory);
    await store.clusters.insert(cluster('a'));
    await store.clusters.insert(cluster('b'));
    t.ok(await store.clusters.get('a'));
    t.equal(await store.clusters.delete('a'), true);
    t.equal(await store.clusters.delete('a'), false);
    t.equal(await store.clusters.delete('never'), false);
    t.equal(await store.clusters.get('a'), undefined);
    t.same(
      (await store.clusters.list()).map((c) => c.name),
      ['b'],
    );
    t.same(
      (await store.clusters.page({ limit: 10 })).map((c) => c.name),
      ['b'],
    );
    await store.clusters.insert(cluster('a', { talosVersion: 'v1.12.1' }));
    t.equal((await store.clusters.get('a'))?.talosVersion, 'v1.12.1', 'the name can be used again');
  });

  t.test('list: every cluster, in name order; empty store: none', async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.clusters.list(), []);
    for (const name of ['staging', 'edge-2', 'prod', 'edge-10']) await store.clusters.insert(cluster(name));
    t.same(
      (await store.clusters.list()).map((c) => c.name),
      ['edge-10', 'edge-2', 'prod', 'staging'],
    );
  });

  t.test('machineCount: the machines that reference the cluster, following inserts, updates and deletes', async (t) => {
    const { store } = await open(t, factory);
    await store.clusters.insert(cluster('prod'));
    await store.clusters.insert(cluster('lab'));
    t.equal(await store.clusters.machineCount('prod'), 0);
    t.equal(await store.clusters.machineCount('unknown'), 0, 'an unknown cluster has none');
    await store.machines.insert(machine('02:00:00:00:00:01', { cluster: 'prod' }));
    await store.machines.insert(machine('02:00:00:00:00:02', { cluster: 'prod' }));
    await store.machines.insert(machine('02:00:00:00:00:03', { cluster: 'lab' }));
    await store.machines.insert(machine('02:00:00:00:00:04'));
    t.equal(await store.clusters.machineCount('prod'), 2);
    t.equal(await store.clusters.machineCount('lab'), 1);
    const moved = (await store.machines.get('02:00:00:00:00:02'))!;
    await store.machines.update({ ...moved, cluster: 'lab' });
    t.equal(await store.clusters.machineCount('prod'), 1, 'a machine moved to another cluster');
    t.equal(await store.clusters.machineCount('lab'), 2);
    await store.machines.delete('02:00:00:00:00:01');
    t.equal(await store.clusters.machineCount('prod'), 0, 'a deleted machine');
  });
}
