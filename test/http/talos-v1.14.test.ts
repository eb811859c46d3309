/**
 * Issue 21's "done when", through the admin API and the boot flow (fastify inject): a cluster from
 * talosctl v1.14's output is created; a machine's install disk reaches the node in the
 * UnattendedInstallConfig it fetches; v1alpha1-shaped patches that Talos would refuse are refused
 * naming the document to use, new-shaped ones merge.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';

import { loadVersionSchema, bundledSchemaFile } from '../../src/core/config/bundled-schemas.js';
import { parseConfig } from '../../src/core/config/documents.js';
import { validateConfig } from '../../src/core/config/validate.js';
import { clusterBody, configUrlOf, fixture, makeApp, type TestApp } from '../helpers/core-app.js';

const VERSION = 'v1.14.0';
const v14 = (name = 'new', extra: Record<string, unknown> = {}) =>
  clusterBody(name, {
    talosVersion: VERSION,
    controlplane: fixture('talos/examples/v1.14/controlplane-overrides.yaml'),
    worker: fixture('talos/examples/v1.14/worker-overrides.yaml'),
    ...extra,
  });

type Doc = Record<string, any>;

/** Boots the machine as iPXE and Talos would, and returns the config documents it is served. */
async function fetchConfig(app: TestApp, mac: string, ip: string): Promise<{ yaml: string; docs: Doc[] }> {
  const script = await app.get(`/ipxe?mac=${encodeURIComponent(mac)}&uuid=&serial=&arch=x86_64&platform=efi`, ip);
  if (script.statusCode !== 200) throw new Error(`script: ${script.statusCode} ${script.body}`);
  const config = await app.get(configUrlOf(script.body), ip);
  if (config.statusCode !== 200) throw new Error(`config: ${config.statusCode} ${config.body}`);
  return { yaml: config.body, docs: parseAllDocuments(config.body).map((d) => d.toJS() as Doc) };
}
const kind = (docs: Doc[], k: string) => docs.find((d) => d.kind === k);
const main = (docs: Doc[]) => docs.find((d) => d.version === 'v1alpha1')!;

t.test('a v1.14 cluster from talosctl’s output, end to end through the API', async (t) => {
  const app = await makeApp(t);
  const { api, core, assetsDir } = app;
  mkdirSync(join(assetsDir, 'talos', VERSION), { recursive: true });
  writeFileSync(join(assetsDir, 'talos', VERSION, 'vmlinuz-amd64'), Buffer.alloc(1024, 1));
  writeFileSync(join(assetsDir, 'talos', VERSION, 'initramfs-amd64.xz'), Buffer.alloc(1024, 2));

  const created = await api('POST', '/api/v1/clusters', v14());
  t.equal(created.status, 201, created.body);
  t.equal(created.json.cluster.endpoint, 'https://base:6443', 'endpoint read from KubeClusterConfig');
  t.notOk(
    created.json.warnings.some((w: string) => /error|unknown/.test(w)),
    'no complaints about talosctl’s own output',
  );

  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: '52:54:00:14:00:01',
        hostname: 'w1',
        role: 'worker',
        cluster: 'new',
        installDisk: '/dev/nvme0n1',
      })
    ).status,
    201,
  );
  const withDisk = await fetchConfig(app, '52:54:00:14:00:01', '10.9.0.61');
  t.equal(
    kind(withDisk.docs, 'UnattendedInstallConfig')!.provisioning.diskSelector.match,
    'disk.dev_path == "/dev/nvme0n1"',
  );
  t.notOk('install' in main(withDisk.docs).machine, 'no .machine.install');
  t.equal(kind(withDisk.docs, 'HostnameConfig')!.hostname, 'w1');
  const schema = loadVersionSchema(bundledSchemaFile(1, 14)!, 1, 14);
  t.strictSame(
    validateConfig(parseConfig(withDisk.yaml), schema).errors,
    [],
    'the v1.14 schema (kind corrected) accepts what is served',
  );

  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: '52:54:00:14:00:02',
        hostname: 'w2',
        role: 'worker',
        cluster: 'new',
      })
    ).status,
    201,
  );
  const keeps = await fetchConfig(app, '52:54:00:14:00:02', '10.9.0.62');
  t.equal(
    kind(keeps.docs, 'UnattendedInstallConfig')!.provisioning.diskSelector.match,
    'disk.dev_path == "/dev/vda"',
    'no disk: talosctl’s',
  );

  const selector = await api('POST', '/api/v1/machines', {
    mac: '52:54:00:14:00:03',
    hostname: 'w3',
    role: 'worker',
    cluster: 'new',
    installDisk: { match: 'disk.size >= 100u * GB' },
  });
  t.equal(selector.status, 201, selector.body);
  t.strictSame(selector.json.installDiskSelector, { match: 'disk.size >= 100u * GB' });
  const matched = await fetchConfig(app, '52:54:00:14:00:03', '10.9.0.63');
  t.equal(kind(matched.docs, 'UnattendedInstallConfig')!.provisioning.diskSelector.match, 'disk.size >= 100u * GB');
  const byName = await api('PATCH', '/api/v1/machines/52:54:00:14:00:03', { installDisk: { name: 'sda' } });
  t.equal(byName.status, 400);
  t.match(byName.json.message, /installDisk\.name: Talos does not support selecting the install disk by name/);

  // Patches: the v1.13 shape collides with v1.14's documents; the new shape merges.
  const oldShape = await api('PATCH', '/api/v1/machines/52:54:00:14:00:01', {
    patches: ['machine:\n  kubelet:\n    extraArgs:\n      v: "2"\n'],
  });
  t.equal(oldShape.status, 400);
  t.match(
    oldShape.json.message,
    'kubelet config is already set in v1alpha1 config (.machine.kubelet); use a KubeletConfig document instead of .machine.kubelet',
  );
  const newShape = await api('PATCH', '/api/v1/machines/52:54:00:14:00:01', {
    patches: ['apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  v: "2"\n'],
  });
  t.equal(newShape.status, 200, newShape.body);
  const patched = await fetchConfig(app, '52:54:00:14:00:01', '10.9.0.61');
  t.strictSame(kind(patched.docs, 'KubeletConfig')!.extraArgs, { v: '2' });
  t.equal(
    patched.docs.filter((d) => d.kind === 'KubeletConfig').length,
    1,
    'merged into the document, not added beside it',
  );

  const clusterOld = await api('PUT', '/api/v1/clusters/new', {
    ...v14(),
    patches: ['machine:\n  kubelet:\n    extraArgs:\n      v: "3"\n'],
  });
  t.equal(clusterOld.status, 400);
  t.match(
    clusterOld.json.message,
    /KubeletConfig: kubelet config is already set in v1alpha1 config \(\.machine\.kubelet\); use a KubeletConfig document instead/,
  );
  const clusterNew = await api('PUT', '/api/v1/clusters/new', {
    ...v14(),
    patches: ['apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  v: "3"\n'],
  });
  t.equal(clusterNew.status, 200, clusterNew.body);

  // Reimage with a whole-disk wipe: the install after the wipe boot wipes the disk.
  t.equal((await api('POST', '/api/v1/machines/52:54:00:14:00:01/reimage', { wipe: 'disk' })).status, 202);
  const machine = await core.machines.get('52:54:00:14:00:01');
  const rendered = await core.renderer.render(await core.clusters.get('new'), machine);
  t.ok(rendered.ok);
  const wiped = parseAllDocuments(rendered.ok ? rendered.yaml : '').map((d) => d.toJS() as Doc);
  t.equal(kind(wiped, 'UnattendedInstallConfig')!.provisioning.wipe, true);
});

t.test('configs Talos v1.14 would refuse are refused at cluster create', async (t) => {
  const { api } = await makeApp(t);
  const both = await api(
    'POST',
    '/api/v1/clusters',
    v14('both', { worker: `${fixture('talos/examples/v1.14/worker-overrides.yaml')}\n---\nversion: v1alpha1\n` }),
  );
  t.equal(both.status, 400, 'two main documents');
  const install = fixture('talos/examples/v1.14/worker-overrides.yaml').replace(
    'machine:\n',
    'machine:\n    install:\n        disk: /dev/sda\n',
  );
  const conflict = await api('POST', '/api/v1/clusters', v14('conflict', { worker: install }));
  t.equal(conflict.status, 400);
  t.match(
    conflict.json.message,
    'UnattendedInstallConfig config is incompatible with v1alpha1 config (.machine.install)',
  );
  const schemaSpelling = fixture('talos/examples/v1.14/worker-overrides.yaml').replace(
    'kind: UnattendedInstallConfig',
    'kind: UnattendedInstall',
  );
  const refused = await api('POST', '/api/v1/clusters', v14('enum', { worker: schemaSpelling }));
  t.equal(refused.status, 400);
  t.match(refused.json.message, /unknown document kind UnattendedInstall \(/);
  const v13match = await api('POST', '/api/v1/clusters', clusterBody('old'));
  t.equal(v13match.status, 201);
  const cel = await api('POST', '/api/v1/machines', {
    mac: '52:54:00:13:00:01',
    hostname: 'o1',
    role: 'worker',
    cluster: 'old',
    installDisk: { match: 'true' },
  });
  t.equal(cel.status, 400);
  t.match(cel.json.message, /a CEL disk match needs Talos v1\.14 or newer/);
});
