// The fleet file in the core: plan, apply, idempotence, export round trip, refusals that change nothing.
import t from 'tap';
import { stringify } from 'yaml';
import { FleetError } from '../../src/core/fleet/document.js';
import { fixture, makeApp, TALOS_VERSION } from '../helpers/core-app.js';

const actor = { actor: 'api', sourceIp: null };
const files = {
  'controlplane.yaml': fixture('talos/examples/v1.13/controlplane.yaml'),
  'worker.yaml': fixture('talos/examples/v1.13/worker.yaml'),
  'patches/ntp.yaml': 'machine:\n  time:\n    servers: [time.example.com]\n',
};
const FLEET = `kind: Cluster
name: prod
talosVersion: ${TALOS_VERSION}
controlplane: {file: controlplane.yaml}
worker: {file: worker.yaml}
patches: [{file: patches/ntp.yaml}]
---
kind: Machine
mac: 52:54:00:12:34:56
hostname: cp-1
role: controlplane
cluster: prod
installDisk: /dev/sda
---
kind: Machine
mac: 52-54-00-12-34-57
hostname: worker-1
role: worker
cluster: prod
labels: {rack: r1}
patches:
  - inline: "machine: {kubelet: {extraArgs: {max-pods: '150'}}}"
`;
const src = (text: string) => ({ name: 'fleet.yaml', text, files });

t.test('apply creates, a second apply changes nothing, export applies back unchanged', async (t) => {
  const { core } = await makeApp(t);
  const first = await core.fleet.apply(src(FLEET), {}, actor);
  t.same(first.summary, { created: 3, changed: 0, deleted: 0, unchanged: 0 });
  t.same(
    first.changes.map((c) => `${c.op} ${c.kind} ${c.name}`),
    ['create cluster prod', 'create machine cp-1', 'create machine worker-1'],
  );
  const w = await core.machines.get('52:54:00:12:34:57');
  t.match(w, { hostname: 'worker-1', labels: { rack: 'r1' }, cluster: 'prod', role: 'worker' });
  t.match((await core.clusters.get('prod')).patches, [/time\.example\.com/]);
  const served = await core.renderer.render(await core.clusters.get('prod'), w);
  t.ok(served.ok && /max-pods/.test(served.yaml) && /time\.example\.com/.test(served.yaml), 'both patches served');

  const second = await core.fleet.apply(src(FLEET), {}, actor);
  t.same(second.summary, { created: 0, changed: 0, deleted: 0, unchanged: 3 });

  const audit = (await core.history.audit({ limit: 10 })).filter((a) => a.action === 'fleet.applied');
  t.equal(audit.length, 2, 'each apply audited');
  t.match(audit[0]!.detail, { created: 0, changed: 0, unchanged: 3 });

  const exported = await core.fleet.export();
  t.equal(exported.documents.length, 3);
  const text = exported.documents.map((d) => stringify(d)).join('---\n');
  const back = await core.fleet.apply({ name: 'export', text }, { dryRun: true, prune: true }, actor);
  t.same(back.summary, { created: 0, changed: 0, deleted: 0, unchanged: 3 }, 'export → apply: no change');
});

t.test('an edit is one change naming its fields; dry run writes nothing', async (t) => {
  const { core } = await makeApp(t);
  await core.fleet.apply(src(FLEET), {}, actor);
  const edited = FLEET.replace('rack: r1', 'rack: r2').replace('patches: [{file: patches/ntp.yaml}]', 'patches: []');
  const dry = await core.fleet.apply(src(edited), { dryRun: true }, actor);
  t.same(
    dry.changes.filter((c) => c.op !== 'unchanged').map((c) => [c.kind, c.name, c.fields]),
    [
      ['cluster', 'prod', ['patches']],
      ['machine', 'worker-1', ['labels']],
    ],
  );
  t.same((await core.machines.get('52:54:00:12:34:57')).labels, { rack: 'r1' }, 'dry run wrote nothing');
  const real = await core.fleet.apply(src(edited), {}, actor);
  t.same(real.summary, { created: 0, changed: 2, deleted: 0, unchanged: 1 });
  t.same((await core.machines.get('52:54:00:12:34:57')).labels, { rack: 'r2' });
  t.same((await core.clusters.get('prod')).patches, []);
});

t.test('prune deletes what the file does not name, only when asked', async (t) => {
  const { core } = await makeApp(t);
  await core.fleet.apply(src(FLEET), {}, actor);
  await core.machines.register({ mac: '52:54:00:00:00:03', hostname: 'old-3', role: 'worker', cluster: 'prod' }, actor);
  const without = await core.fleet.apply(src(FLEET), {}, actor);
  t.same(without.summary.deleted, 0);
  t.same(without.unmanaged, { machine: 1, cluster: 0 });
  await core.machines.get('52:54:00:00:00:03');
  const pruned = await core.fleet.apply(src(FLEET), { prune: true }, actor);
  t.same(
    pruned.changes.filter((c) => c.op === 'delete').map((c) => `${c.kind} ${c.name}`),
    ['machine old-3'],
  );
  await t.rejects(core.machines.get('52:54:00:00:00:03'), /not registered/);
});

t.test('refusals name file, document and line, and change nothing', async (t) => {
  const { core } = await makeApp(t);
  const refuse = async (text: string, re: RegExp, what: string, fls = files) => {
    const err = await core.fleet.apply({ name: 'fleet.yaml', text, files: fls }, {}, actor).catch((e: unknown) => e);
    t.type(err, FleetError, what);
    t.match((err as Error).message, re, what);
  };
  // An invalid patch on the second machine: the cluster and first machine before it are not written either.
  const badPatch = FLEET.replace("max-pods: '150'", "max-pods: '150'}, nodeIP: {validSubnets: 7}");
  await refuse(badPatch, /^fleet\.yaml, document 3 \(Machine\), line 2\d: .*invalid/, 'invalid patch');
  t.same(await core.clusters.list(), [], 'nothing written');
  t.same(await core.machines.list(), []);
  await refuse(`${FLEET}---\nkind: Machine\nmac: [oops\n`, /document 4, line 2[45]: malformed YAML/, 'malformed YAML');
  await refuse(
    `${FLEET}---\nkind: Rack\nname: r1\n`,
    /document 4 \(Rack\), line 24: unknown kind "Rack": one of Cluster, Machine/,
    'unknown kind',
  );
  await refuse(
    `${FLEET}---\nkind: Group\nname: rack1\nselector: {cluster: prod}\n`,
    /document 4 \(Group\), line 24: kind Group is not supported yet: groups .* nothing was applied/,
    'a Group',
  );
  await refuse(
    `kind: EnrollmentRule\nname: r\n`,
    /document 1 \(EnrollmentRule\), line 1: kind EnrollmentRule is not supported yet/,
    'a rule',
  );
  await refuse(
    FLEET.replace('role: worker', 'role: wrker'),
    /document 3 \(Machine\), line 18: role must be one of/,
    'enum',
  );
  await refuse(
    FLEET.replace('installDisk: /dev/sda', 'instalDisk: /dev/sda'),
    /document 2 \(Machine\), line 13: "instalDisk" is not a field of a Machine/,
    'typo',
  );
  await refuse(FLEET, /document 1 \(Cluster\), line 5: file "worker.yaml" was not found/, 'missing file', {
    ...files,
    'worker.yaml': undefined as never,
  });
  await refuse(
    FLEET.replace('hostname: worker-1', 'hostname: cp-1'),
    /document 3 \(Machine\), line 17: hostname cp-1 in cluster prod is also given to document 2/,
    'shared name',
  );
  await refuse(
    FLEET.replace('mac: 52-54-00-12-34-57', 'mac: 52:54:00:12:34:56'),
    /document 3 \(Machine\), line \d+: machine 52:54:00:12:34:56 is already defined by document 2/,
    'same MAC',
  );
  await refuse(
    FLEET.replace('mac: 52-54-00-12-34-57', 'mac: ff:ff:ff:ff:ff:ff'),
    /document 3 \(Machine\), line 16: mac ff:ff:ff:ff:ff:ff is the broadcast address/,
    'broadcast MAC',
  );
  await refuse(
    FLEET.replace('cluster: prod\nlabels', 'cluster: test\nlabels'),
    /document 3 \(Machine\), line 19: cluster "test" does not exist/,
    'unknown cluster',
  );
  t.same(await core.clusters.list(), [], 'still nothing written');
});
