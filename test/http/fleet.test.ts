// POST /api/v1/apply and GET /api/v1/export: the fleet file over HTTP, token-guarded and audited.
import t from 'tap';
import { stringify } from 'yaml';
import { fixture, makeApp, TALOS_VERSION } from '../helpers/core-app.js';

const files = {
  'controlplane.yaml': fixture('talos/examples/v1.13/controlplane.yaml'),
  'worker.yaml': fixture('talos/examples/v1.13/worker.yaml'),
};
const FLEET = `kind: Cluster
name: prod
talosVersion: ${TALOS_VERSION}
controlplane: {file: controlplane.yaml}
worker: {file: worker.yaml}
---
kind: Machine
mac: 52:54:00:12:34:56
hostname: cp-1
role: controlplane
cluster: prod
---
kind: Machine
mac: 52:54:00:12:34:57
hostname: worker-1
role: worker
cluster: prod
patches: [{inline: "machine: {kubelet: {extraArgs: {max-pods: '150'}}}"}]
`;

t.test('apply over HTTP: plan as JSON, idempotent, audited; export applies back unchanged', async (t) => {
  const { app, api } = await makeApp(t);
  const noToken = await app.inject({ method: 'POST', url: '/api/v1/apply', payload: { documents: FLEET } });
  t.equal(noToken.statusCode, 401, 'bearer token like the rest of /api/v1');

  const dry = await api('POST', '/api/v1/apply', { documents: FLEET, files, dryRun: true });
  t.equal(dry.status, 200, dry.body);
  t.same(dry.json.summary, { created: 3, changed: 0, deleted: 0, unchanged: 0 });
  t.equal((await api('GET', '/api/v1/clusters')).json.items.length, 0, 'dry run wrote nothing');

  const first = await api('POST', '/api/v1/apply', { documents: FLEET, files, source: 'prod.yaml' });
  t.equal(first.status, 200, first.body);
  t.match(first.json.changes, [
    { op: 'create', kind: 'cluster', name: 'prod', id: 'prod' },
    { op: 'create', kind: 'machine', name: 'cp-1', id: '52:54:00:12:34:56' },
    { op: 'create', kind: 'machine', name: 'worker-1' },
  ]);
  t.match(first.json.warnings, [/cluster prod: controlplane: .*persist/], "the bases' warnings come along");
  const second = await api('POST', '/api/v1/apply', { documents: FLEET, files });
  t.same(second.json.summary, { created: 0, changed: 0, deleted: 0, unchanged: 3 });
  t.same(second.json.warnings, [], 'an unchanged cluster is not warned about again');

  const audit = (await api('GET', '/api/v1/audit?limit=20')).json.items.filter(
    (a: { action: string }) => a.action === 'fleet.applied',
  );
  t.match(audit, [
    { target: 'fleet.yaml', detail: { created: 0, unchanged: 3 } },
    { target: 'prod.yaml', detail: { created: 3, changed: 0, deleted: 0, unchanged: 0, prune: false } },
  ]);

  const exported = await api('GET', '/api/v1/export');
  t.equal(exported.status, 200);
  t.match(exported.json.documents, [
    { kind: 'Cluster', name: 'prod', controlplane: { inline: /machine:/ } },
    { kind: 'Machine', hostname: 'cp-1' },
    { kind: 'Machine', hostname: 'worker-1', patches: [{ inline: /max-pods/ }] },
  ]);
  t.notOk('endpoint' in exported.json.documents[0], 'the endpoint the bases name is not repeated');
  const text = exported.json.documents.map((d: object) => stringify(d)).join('---\n');
  const back = await api('POST', '/api/v1/apply', { documents: text, dryRun: true, prune: true });
  t.same(back.json.summary, { created: 0, changed: 0, deleted: 0, unchanged: 3 });
});

t.test('a refused fleet file is a 400 naming file, document and line; nothing written', async (t) => {
  const { api } = await makeApp(t);
  const bad = FLEET.replace("max-pods: '150'", 'max-pods: 150');
  const res = await api('POST', '/api/v1/apply', { documents: bad, files, source: 'fleet/prod.yaml' });
  t.equal(res.status, 400);
  t.match(res.json, {
    error: 'validation',
    message: /^fleet\/prod\.yaml, document 3 \(Machine\), line 18: patches: .*max-pods/,
  });
  t.equal((await api('GET', '/api/v1/clusters')).json.items.length, 0);
  t.equal((await api('GET', '/api/v1/machines')).json.items.length, 0);

  const group = await api('POST', '/api/v1/apply', {
    documents: `${FLEET}---\nkind: Group\nname: g\n`,
    files,
  });
  t.equal(group.status, 400);
  t.match(group.json.message, /document 4 \(Group\), line 20: kind Group is not supported yet/);
  const unknownField = await api('POST', '/api/v1/apply', { documents: FLEET, files, force: true });
  t.equal(unknownField.status, 400, 'unknown body fields refused');
});
