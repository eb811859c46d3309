/**
 * A machine's install settings land where the cluster's Talos version reads them: an
 * UnattendedInstallConfig document from v1.14 on (never `.machine.install`), `.machine.install`
 * before; and a cluster on an Image Factory schematic installs that schematic's installer.
 */
import t, { type Test } from 'tap';
import { parseAllDocuments } from 'yaml';

import { loadVersionSchema, bundledSchemaFile } from '../../src/core/config/bundled-schemas.js';
import { parseConfig } from '../../src/core/config/documents.js';
import { validateConfig } from '../../src/core/config/validate.js';
import { factoryInstaller } from '../../src/core/config/install-settings.js';
import { blankMachine } from '../../src/core/registry/machines.js';
import { ConfigRenderer, type RenderResult } from '../../src/core/config/render.js';
import type { Cluster, Machine } from '../../src/core/types.js';
import { fixture } from '../helpers/core-app.js';

const NOW = '2026-12-07T10:00:00.000Z';
const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

const cluster = (talosVersion: string, example: string, extra: Partial<Cluster> = {}): Cluster => ({
  name: 'c',
  talosVersion,
  arch: 'amd64',
  endpoint: null,
  controlplane: fixture(`talos/examples/${example.replace('worker', 'controlplane')}`),
  worker: fixture(`talos/examples/${example}`),
  patches: [],
  kernelArgs: [],
  schematic: null,
  createdAt: NOW,
  updatedAt: NOW,
  ...extra,
});
const V14 = (extra: Partial<Cluster> = {}) => cluster('v1.14.0', 'v1.14/worker-overrides.yaml', extra);
const V13 = (extra: Partial<Cluster> = {}) => cluster('v1.13.9', 'v1.13/worker.yaml', extra);

let macs = 0;
const machine = (fields: Partial<Machine> = {}): Machine => ({
  ...blankMachine(`02:00:00:00:00:${(++macs).toString(16).padStart(2, '0')}`, NOW),
  role: 'worker',
  cluster: 'c',
  hostname: 'w1',
  ...fields,
});

async function render(
  t: Test,
  c: Cluster,
  m: Machine,
): Promise<{ docs: Array<Record<string, any>>; yaml: string; warnings: string[] }> {
  const renderer = new ConfigRenderer(t.testdir({}));
  const r: RenderResult = await renderer.render(c, m);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return { docs: parseAllDocuments(r.yaml).map((d) => d.toJS()), yaml: r.yaml, warnings: r.warnings };
}
const install = (docs: Array<Record<string, any>>) => docs.find((d) => d.kind === 'UnattendedInstallConfig');
const main = (docs: Array<Record<string, any>>) => docs.find((d) => d.version === 'v1alpha1')!;

const schema14 = loadVersionSchema(bundledSchemaFile(1, 14)!, 1, 14);

t.test('v1.14: installDisk becomes the UnattendedInstallConfig’s CEL match, nothing in .machine.install', async (t) => {
  const { docs, yaml } = await render(t, V14(), machine({ installDisk: '/dev/nvme0n1' }));
  t.strictSame(install(docs)!.provisioning, {
    diskSelector: { match: 'disk.dev_path == "/dev/nvme0n1"' },
    wipe: false,
  });
  t.notOk('install' in main(docs).machine, 'no .machine.install');
  t.equal(docs.length, 17, 'no document added or lost');
  t.strictSame(validateConfig(parseConfig(yaml), schema14).errors, [], 'the v1.14 schema (kind corrected) accepts it');
  t.match(yaml, /\n {8}match: disk\.dev_path == "\/dev\/nvme0n1"\n/, 'written as talosctl writes it');
});

t.test('v1.14: a machine without a disk keeps talosctl’s', async (t) => {
  const { docs } = await render(t, V14(), machine());
  t.equal(install(docs)!.provisioning.diskSelector.match, 'disk.dev_path == "/dev/vda"');
});

t.test('v1.14: a base without the document gets one', async (t) => {
  const { docs, yaml } = await render(t, cluster('v1.14.0', 'v1.14/worker.yaml'), machine({ installDisk: '/dev/sdb' }));
  t.strictSame(install(docs), {
    apiVersion: 'v1alpha1',
    kind: 'UnattendedInstallConfig',
    provisioning: { diskSelector: { match: 'disk.dev_path == "/dev/sdb"' } },
    reboot: true,
  });
  t.strictSame(validateConfig(parseConfig(yaml), schema14).errors, []);
  const none = await render(t, cluster('v1.14.0', 'v1.14/worker.yaml'), machine());
  t.equal(install(none.docs), undefined, 'no disk from anywhere: nothing to write');
});

t.test('v1.14: a selector becomes Talos’s CEL equivalent; a raw match is taken as written', async (t) => {
  const selected = await render(t, V14(), machine({ installDiskSelector: { size: '>= 100GB', type: 'nvme' } }));
  t.equal(
    install(selected.docs)!.provisioning.diskSelector.match,
    'disk.size >= 100000000000u && disk.transport != "" && disk.transport == "nvme" && !disk.readonly && !disk.cdrom',
  );
  const raw = await render(t, V14(), machine({ installDiskSelector: { match: 'disk.size > 100u * GB' } }));
  t.equal(install(raw.docs)!.provisioning.diskSelector.match, 'disk.size > 100u * GB');
  const renderer = new ConfigRenderer(t.testdir({}));
  t.match(await renderer.render(V14(), machine({ installDiskSelector: { name: 'sda' } })), {
    ok: false,
    errors: [/installDisk\.name: Talos does not support/],
  });
});

t.test('v1.14: reimage with wipe: disk sets provisioning.wipe', async (t) => {
  const reimage = { wipe: 'disk' as const, requestedAt: NOW };
  const { docs } = await render(t, V14(), machine({ installDisk: '/dev/sda', reimage }));
  t.equal(install(docs)!.provisioning.wipe, true);
  t.notOk('install' in main(docs).machine);
  const system = await render(t, V14(), machine({ installDisk: '/dev/sda', reimage: { ...reimage, wipe: 'system' } }));
  t.equal(install(system.docs)!.provisioning.wipe, false, 'a system wipe leaves the disk alone');
  const renderer = new ConfigRenderer(t.testdir({}));
  t.match(await renderer.render(cluster('v1.14.0', 'v1.14/worker.yaml'), machine({ reimage })), {
    ok: false,
    errors: [/whole-disk reimage needs an install disk/],
  });
});

t.test('v1.14 cluster with a v1.13-shaped base: .machine.install moves into the document', async (t) => {
  const { docs, yaml, warnings } = await render(
    t,
    cluster('v1.14.0', 'v1.13/worker-overrides.yaml'),
    machine({ installDisk: '/dev/sdc' }),
  );
  t.notOk('install' in main(docs).machine, 'Talos refuses both; the old one is gone');
  t.strictSame(install(docs)!.provisioning, { diskSelector: { match: 'disk.dev_path == "/dev/sdc"' } });
  t.strictSame(validateConfig(parseConfig(yaml), schema14).errors, []);
  t.ok(
    warnings.some((w) => w.startsWith('machine.install.extraKernelArgs: dropped')),
    'what has no place is named',
  );
  const keeps = await render(t, cluster('v1.14.0', 'v1.13/worker-overrides.yaml'), machine());
  t.equal(
    install(keeps.docs)!.provisioning.diskSelector.match,
    'disk.dev_path == "/dev/vda"',
    'the base’s own disk moves too',
  );
  const legacy = [
    'machine:\n  install:\n    diskSelector: {size: ">= 1GB"}\n    image: registry.example/installer:v1\n    wipe: true\n',
  ];
  const moved = await render(t, cluster('v1.14.0', 'v1.13/worker.yaml', { patches: legacy }), machine());
  t.strictSame(
    install(moved.docs),
    {
      apiVersion: 'v1alpha1',
      kind: 'UnattendedInstallConfig',
      provisioning: {
        diskSelector: { match: 'disk.size >= 1000000000u && disk.transport != "" && !disk.readonly && !disk.cdrom' },
        wipe: true,
      },
      installer: { image: 'registry.example/installer:v1' },
      reboot: true,
    },
    'selector, wipe and image move; the image is the operator’s',
  );
});

t.test('Image Factory schematic: its installer unless the operator chose one, in the contract’s place', async (t) => {
  const factory = factoryInstaller(SCHEMATIC, 'v1.14.0');
  t.equal(factory, `factory.talos.dev/metal-installer/${SCHEMATIC}:v1.14.0`);
  const v14 = await render(t, V14({ schematic: SCHEMATIC }), machine());
  t.equal(install(v14.docs)!.installer.image, factory);
  const chosen = await render(
    t,
    V14({
      schematic: SCHEMATIC,
      patches: [
        'apiVersion: v1alpha1\nkind: UnattendedInstallConfig\ninstaller:\n  image: registry.example/installer:v1.14.0\n',
      ],
    }),
    machine(),
  );
  t.equal(install(chosen.docs)!.installer.image, 'registry.example/installer:v1.14.0', 'an operator’s image is kept');
  const talosctl = await render(
    t,
    V14({
      schematic: SCHEMATIC,
      patches: [
        'apiVersion: v1alpha1\nkind: UnattendedInstallConfig\ninstaller:\n  image: ghcr.io/siderolabs/installer:v1.14.2\n',
      ],
    }),
    machine(),
  );
  t.equal(install(talosctl.docs)!.installer.image, factory, 'talosctl’s default counts as not set');
  const created = await render(
    t,
    cluster('v1.14.0', 'v1.14/worker.yaml', { schematic: SCHEMATIC }),
    machine({ installDisk: '/dev/sdb' }),
  );
  t.equal(install(created.docs)!.installer.image, factory, 'also in a document metalboot created');
  const plain = await render(t, V14(), machine());
  t.strictSame(install(plain.docs)!.installer, {}, 'no schematic: Talos picks the installer itself');

  const v13 = await render(t, V13({ schematic: SCHEMATIC }), machine({ installDisk: '/dev/sda' }));
  t.equal(
    main(v13.docs).machine.install.image,
    factoryInstaller(SCHEMATIC, 'v1.13.9'),
    '≤ v1.13: .machine.install.image',
  );
  const v13default = await render(
    t,
    V13({ schematic: SCHEMATIC, patches: ['machine:\n  install:\n    image: ghcr.io/siderolabs/installer:v1.13.9\n'] }),
    machine(),
  );
  t.equal(main(v13default.docs).machine.install.image, factoryInstaller(SCHEMATIC, 'v1.13.9'));
  const v13other = await render(
    t,
    V13({ schematic: SCHEMATIC, patches: ['machine:\n  install:\n    image: ghcr.io/siderolabs/installer:v1.12.0\n'] }),
    machine(),
  );
  t.equal(
    main(v13other.docs).machine.install.image,
    'ghcr.io/siderolabs/installer:v1.12.0',
    'a pinned other release is the operator’s choice',
  );
  const v13plain = await render(t, V13(), machine());
  t.notOk('image' in main(v13plain.docs).machine.install, 'no schematic: unchanged');
});

t.test('≤ v1.13 renders into .machine.install as before; a CEL match needs v1.14', async (t) => {
  const { docs } = await render(
    t,
    V13(),
    machine({ installDisk: '/dev/sdb', reimage: { wipe: 'disk', requestedAt: NOW } }),
  );
  t.match(main(docs).machine.install, { disk: '/dev/sdb', wipe: true });
  t.notOk(docs.some((d) => d.kind === 'UnattendedInstallConfig'));
  const selector = await render(t, V13(), machine({ installDiskSelector: { size: '>= 100GB' } }));
  t.strictSame(main(selector.docs).machine.install.diskSelector, { size: '>= 100GB' });
  const renderer = new ConfigRenderer(t.testdir({}));
  t.match(await renderer.render(V13(), machine({ installDiskSelector: { match: 'true' } })), {
    ok: false,
    errors: [/a CEL disk match needs Talos v1\.14 or newer \(the cluster runs v1\.13\.9\)/],
  });
});

t.test(
  'v1.14: the machine reboots into what it installed (reboot: true unless the operator said otherwise)',
  async (t) => {
    // Talos reboots after an unattended install only with reboot: true or an installer image, and
    // talosctl writes `installer: {}`: without this a release-asset cluster installs and never reboots.
    const plain = await render(t, V14(), machine({ installDisk: '/dev/sda' }));
    t.equal(install(plain.docs)!.reboot, true, 'unset in the base: true');
    t.notOk(install(plain.docs)!.installer?.image, 'no installer image needed for it');
    const noReboot = { ...V14(), patches: ['apiVersion: v1alpha1\nkind: UnattendedInstallConfig\nreboot: false\n'] };
    const kept = await render(t, noReboot, machine({ installDisk: '/dev/sda' }));
    t.equal(install(kept.docs)!.reboot, false, "an operator's reboot: false stays");
    const v13 = await render(t, V13(), machine({ installDisk: '/dev/sda' }));
    t.notOk(install(v13.docs), 'v1.13 has no such document');
  },
);
