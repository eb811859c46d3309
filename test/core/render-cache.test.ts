import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

t.test(
  'rendered configs are cached (per role, and per machine with its own patches) and follow what they depend on',
  async (t) => {
    let endpoint = 'a.example:4002';
    const { api, core } = await makeApp(t, {
      documentProviders: [() => [{ apiVersion: 'v1alpha1', kind: 'EventSinkConfig', endpoint }]],
    });
    t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
    t.equal(
      (
        await api('POST', '/api/v1/machines', {
          mac: '02:00:00:00:0c:01',
          hostname: 'c1',
          role: 'worker',
          cluster: 'prod',
          patches: ['machine:\n  env:\n    A: "1"\n'],
        })
      ).status,
      201,
    );
    t.equal(
      (
        await api('POST', '/api/v1/machines', {
          mac: '02:00:00:00:0c:02',
          hostname: 'c2',
          role: 'worker',
          cluster: 'prod',
        })
      ).status,
      201,
    );
    t.equal(
      (
        await api('POST', '/api/v1/machines', {
          mac: '02:00:00:00:0c:03',
          hostname: 'c3',
          role: 'worker',
          cluster: 'prod',
        })
      ).status,
      201,
    );
    const cluster = await core.clusters.get('prod');
    const machine = await core.machines.get('02:00:00:00:0c:01');
    const first = await core.renderer.render(cluster, machine);
    t.ok(first.ok, JSON.stringify(first));
    t.equal(await core.renderer.render(cluster, machine), first, 'same result object: served from the cache');
    endpoint = 'b.example:4002';
    const moved = await core.renderer.render(cluster, machine);
    t.not(moved, first, 'a provider that says something else re-renders');
    t.match(moved.ok && moved.yaml, 'endpoint: b.example:4002');
    const readdressed = await core.renderer.render(cluster, { ...machine, ip: '10.0.0.9' });
    t.not(readdressed, moved, 'the address variable is part of the key');
    // Machines without their own patches share their role's skeleton: one full render for both.
    const full = core.renderer.stats.full;
    const c2 = await core.renderer.render(cluster, await core.machines.get('02:00:00:00:0c:02'));
    const c3 = await core.renderer.render(cluster, await core.machines.get('02:00:00:00:0c:03'));
    t.equal(core.renderer.stats.full - full, 1, 'the skeleton was rendered once');
    t.match(c2.ok && c2.yaml, 'hostname: c2');
    t.match(c3.ok && c3.yaml, 'hostname: c3');
    t.match(c3.ok && c3.yaml, 'endpoint: b.example:4002');
    endpoint = 'c.example:4002';
    const c3moved = await core.renderer.render(cluster, await core.machines.get('02:00:00:00:0c:03'));
    t.match(c3moved.ok && c3moved.yaml, 'endpoint: c.example:4002', 'provided documents are part of the skeleton key');
    t.equal(core.renderer.stats.full - full, 2);
    t.equal(await core.clusters.get('prod'), cluster, 'the parsed cluster is reused while its row is unchanged');
  },
);
