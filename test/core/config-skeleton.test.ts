import t from 'tap';
import type { RenderResult } from '../../src/core/config/render.js';
import type { Cluster, Machine } from '../../src/core/types.js';
import { clusterBody, fixture, makeApp, TALOS_VERSION } from '../helpers/core-app.js';
import { xorshift32 } from '../helpers/prng.js';

type Full = { renderFull(c: Cluster, m: Machine, provided: unknown[]): RenderResult };

// The skeleton path must give byte-for-byte what a full render gives, for every host name and
// disk a machine can be registered with; the ones it cannot stand for must take the full path.
t.test('skeleton renders equal full renders, across host names, disks, roles, bases and providers', async (t) => {
  let withProvider = false;
  const { api, core } = await makeApp(t, {
    documentProviders: [
      () =>
        withProvider
          ? [{ apiVersion: 'v1alpha1', kind: 'KmsgLogConfig', name: 'remote', url: 'tcp://10.9.0.1:4003/' }]
          : [],
    ],
  });
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (
      await api(
        'POST',
        '/api/v1/clusters',
        clusterBody('old', {
          controlplane: fixture('talos/examples/v1.11/controlplane.yaml'),
          worker: fixture('talos/examples/v1.11/worker.yaml'),
          patches: ['machine:\n  kubelet:\n    extraArgs:\n      rotate-server-certificates: "true"\n'],
        }),
      )
    ).status,
    201,
  );
  // v1.14: the disk lands inside a CEL string of the UnattendedInstallConfig document.
  t.equal(
    (
      await api(
        'POST',
        '/api/v1/clusters',
        clusterBody('new', {
          talosVersion: 'v1.14.0',
          controlplane: fixture('talos/examples/v1.14/controlplane-overrides.yaml'),
          worker: fixture('talos/examples/v1.14/worker-overrides.yaml'),
        }),
      )
    ).status,
    201,
  );
  const rnd = xorshift32(0x5eed);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-';
  const randomHost = () => {
    const len = 1 + (rnd() % 20);
    let h = 'abcdefghijklmnopqrstuvwxyz0123456789'[rnd() % 36]!;
    for (let i = 1; i < len; i++) h += alphabet[rnd() % alphabet.length];
    return h.replace(/-+$/, '') || 'x';
  };
  const tricky = [
    'yes',
    'no',
    'on',
    'off',
    'y',
    'n',
    'null',
    'true',
    'false',
    '123',
    '0x1f',
    '1e5',
    'e5',
    'node-1.rack-2.example',
    'a'.repeat(63),
  ];
  const hosts: (string | null)[] = [null, ...tricky, ...Array.from({ length: 40 }, randomHost)];
  const disks: (string | null)[] = [
    null,
    '/dev/sda',
    '/dev/nvme0n1',
    '/dev/disk/by-path/pci-0000:00:1f.2-ata-1',
    '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4',
    '/dev/mapper/a.b_c',
  ];
  const renderer = core.renderer as unknown as Full;
  let compared = 0;
  for (const provides of [false, true]) {
    withProvider = provides;
    for (const clusterName of ['prod', 'old', 'new']) {
      const cluster = await core.clusters.get(clusterName);
      for (const [i, hostname] of hosts.entries()) {
        const machine = {
          mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
          hostname,
          installDisk: disks[i % disks.length]!,
          role: i % 3 === 0 ? 'controlplane' : 'worker',
          cluster: clusterName,
          patches: [],
          installDiskSelector: null,
          ip: null,
          labels: {},
          lastSeen: {},
          updatedAt: '2026-11-25T10:00:00.000Z',
        } as unknown as Machine;
        const viaRender = await core.renderer.render(cluster, machine);
        const full = renderer.renderFull(
          cluster,
          machine,
          core.renderer.documentProviders.map((p) => p(machine, cluster)),
        );
        if (!full.ok) t.fail(`${clusterName} ${hostname}: ${full.errors.join('; ')}`);
        if (JSON.stringify(viaRender) !== JSON.stringify(full))
          t.fail(`${clusterName} host=${hostname} disk=${machine.installDisk}: skeleton and full render differ`);
        compared++;
      }
    }
  }
  t.equal(compared, hosts.length * 6);
  t.ok(
    core.renderer.stats.skeleton > compared / 2,
    `most renders came from a skeleton (${core.renderer.stats.skeleton})`,
  );
  // A render that takes the skeleton path shows the machine's values where the full path put them.
  const cluster = await core.clusters.get('prod');
  const sample = await core.renderer.render(cluster, {
    mac: '02:00:00:00:aa:01',
    hostname: 'web-7',
    installDisk: '/dev/vdb',
    role: 'worker',
    cluster: 'prod',
    patches: [],
    installDiskSelector: null,
    ip: null,
    labels: {},
    lastSeen: {},
    updatedAt: 'x',
  } as unknown as Machine);
  t.ok(
    sample.ok &&
      sample.yaml.includes('hostname: web-7') &&
      sample.yaml.includes('disk: /dev/vdb') &&
      !sample.yaml.includes('sentinel'),
  );
  t.equal(TALOS_VERSION, cluster.talosVersion);
  const v14 = await core.renderer.render(await core.clusters.get('new'), {
    mac: '02:00:00:00:aa:02',
    hostname: 'web-8',
    installDisk: '/dev/vdb',
    role: 'worker',
    cluster: 'new',
    patches: [],
    installDiskSelector: null,
    ip: null,
    labels: {},
    lastSeen: {},
    updatedAt: 'x',
  } as unknown as Machine);
  t.ok(
    v14.ok && v14.yaml.includes('match: disk.dev_path == "/dev/vdb"') && !v14.yaml.includes('sentinel'),
    'v1.14: the skeleton’s CEL match carries the machine’s disk',
  );
});

t.test('machines the skeleton cannot stand for take the full path', async (t) => {
  const { api, core } = await makeApp(t);
  t.equal(
    (
      await api(
        'POST',
        '/api/v1/clusters',
        clusterBody('prod', { patches: ['machine:\n  env:\n    NODE: "{{machine.hostname}}"\n'] }),
      )
    ).status,
    201,
  );
  t.equal((await api('POST', '/api/v1/clusters', clusterBody('plain'))).status, 201);
  const base = {
    role: 'worker',
    installDisk: null,
    installDiskSelector: null,
    ip: null,
    labels: {},
    lastSeen: {},
    updatedAt: 'x',
  };
  const templated = await core.clusters.get('prod');
  const plain = await core.clusters.get('plain');
  const before = { ...core.renderer.stats };
  const r1 = await core.renderer.render(templated, {
    ...base,
    mac: '02:00:00:00:bb:01',
    hostname: 'n1',
    cluster: 'prod',
    patches: [],
  } as unknown as Machine);
  t.ok(r1.ok && r1.yaml.includes('NODE: n1'), 'template variables are expanded per machine');
  const r2 = await core.renderer.render(plain, {
    ...base,
    mac: '02:00:00:00:bb:02',
    hostname: 'n2',
    cluster: 'plain',
    patches: ['machine:\n  env:\n    X: "1"\n'],
  } as unknown as Machine);
  t.ok(r2.ok && r2.yaml.includes('X: "1"'), 'machine patches are applied');
  const r3 = await core.renderer.render(plain, {
    ...base,
    mac: '02:00:00:00:bb:03',
    hostname: 'n3',
    cluster: 'plain',
    patches: [],
    installDiskSelector: { size: '>= 100GB' },
  } as unknown as Machine);
  t.ok(r3.ok && r3.yaml.includes('diskSelector'), 'a disk selector is written');
  const r4 = await core.renderer.render(plain, {
    ...base,
    mac: '02:00:00:00:bb:04',
    hostname: 'yes',
    cluster: 'plain',
    patches: [],
  } as unknown as Machine);
  t.ok(r4.ok && r4.yaml.includes('hostname: "yes"'), 'a host name YAML would read as a boolean stays quoted');
  t.equal(core.renderer.stats.full - before.full, 4, 'four full renders');
  t.equal(core.renderer.stats.skeleton - before.skeleton, 0, 'no skeleton used');
});
