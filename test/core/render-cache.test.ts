import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

t.test('rendered configs are cached per machine, also with document providers, and follow what they depend on', async (t) => {
  const { api, core } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal((await api('POST', '/api/v1/machines', { mac: '02:00:00:00:0c:01', hostname: 'c1', role: 'worker', cluster: 'prod' })).status, 201);
  let endpoint = 'a.example:4002';
  core.renderer.documentProviders.push(() => [{ apiVersion: 'v1alpha1', kind: 'EventSinkConfig', endpoint }]);
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
  t.equal(await core.clusters.get('prod'), cluster, 'the parsed cluster is reused while its row is unchanged');
});
