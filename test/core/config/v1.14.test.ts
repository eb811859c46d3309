/**
 * Validation for Talos v1.14 accepts what Talos v1.14 accepts: its schema, corrected for the
 * kind-name bug, plus the deprecated v1alpha1 fields its schema dropped (derived from v1.13's),
 * minus what its conflict rules refuse. Patches of the new shape merge by document identity.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { bundledSchemaFile, loadVersionSchema, previousSchema } from '../../../src/core/config/bundled-schemas.js';
import { parseConfig, type ConfigDocument } from '../../../src/core/config/documents.js';
import { applyPatches, parsePatches } from '../../../src/core/config/patch.js';
import { deprecatedPaths, loadSchema, validateConfig } from '../../../src/core/config/validate.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/talos/', import.meta.url));
const example = (name: string): string => readFileSync(join(FIXTURES, 'examples', name), 'utf8');
const v13 = loadSchema(join(FIXTURES, 'config.schema.v1.13.json'));
const v14 = loadSchema(join(FIXTURES, 'config.schema.v1.14.json'), { previous: v13 });

function patched(base: string, ...patches: string[]): ConfigDocument[] {
  return applyPatches(parseConfig(example(base)), parsePatches(patches));
}

t.test(
  'talosctl v1.14 output is valid: UnattendedInstallConfig is the kind, whatever the schema enum says',
  async (t) => {
    for (const name of ['controlplane', 'controlplane-overrides', 'worker', 'worker-overrides']) {
      const docs = parseConfig(example(`v1.14/${name}.yaml`));
      // talosctl writes it when given an install disk: the overrides were generated with one.
      const hasInstall = docs.some((d) => d.identity.type === 'typed' && d.identity.kind === 'UnattendedInstallConfig');
      t.equal(
        hasInstall,
        name.endsWith('-overrides'),
        `${name}: UnattendedInstallConfig present iff generated with a disk`,
      );
      t.strictSame(validateConfig(docs, v14).errors, [], `v1.14/${name}.yaml: no errors`);
    }
    t.equal(parseConfig(example('v1.14/worker-overrides.yaml')).length, 17, 'the overrides worker is 17 documents');
    const schemaSpelling = patched(
      'v1.14/worker.yaml',
      'apiVersion: v1alpha1\nkind: UnattendedInstall\nprovisioning: {diskSelector: {match: "true"}}\n',
    );
    t.match(
      validateConfig(schemaSpelling, v14).errors,
      [/unknown document kind UnattendedInstall \(apiVersion v1alpha1\)/],
      'the enum’s spelling is what Talos refuses',
    );
    const typo = patched(
      'v1.14/worker.yaml',
      'apiVersion: v1alpha1\nkind: UnattendedInstallConfig\nprovisioning: {diskSelecter: {}}\n',
    );
    t.strictSame(
      validateConfig(typo, v14).errors,
      ['UnattendedInstallConfig: provisioning.diskSelecter: unknown key'],
      'the corrected document is still checked',
    );
  },
);

t.test('the fields v1.14 dropped from its schema are derived from v1.13’s and accepted as deprecated', async (t) => {
  const paths = deprecatedPaths(v14);
  // The diff of the two schemas, as read by hand in the shared Talos notes.
  const machine =
    'baseRuntimeSpecOverrides controlPlane files install kernel kubelet nodeAnnotations nodeLabels nodeTaints pods sysctls sysfs udev';
  const cluster =
    'acceptedCAs aescbcEncryptionSecret aggregatorCA allowSchedulingOnControlPlanes apiServer ca clusterName controlPlane controllerManager coreDNS discovery extraManifestHeaders extraManifests id inlineManifests network proxy scheduler secret secretboxEncryptionSecret serviceAccount';
  for (const key of machine.split(' ')) t.ok(paths.includes(`machine.${key}`), `machine.${key}`);
  for (const key of cluster.split(' ')) t.ok(paths.includes(`cluster.${key}`), `cluster.${key}`);
  for (const key of ['kubePrism', 'hostDNS', 'imageCache', 'kubernetesTalosAPIAccess'])
    t.ok(paths.includes(`machine.features.${key}`), `machine.features.${key}`);
  t.ok(paths.includes('persist') && paths.includes('machine.network'), 'v1.13’s hand-read list carries over');
  t.notOk(deprecatedPaths(v13).includes('machine.kubelet'), 'v1.13 documents machine.kubelet');

  for (const name of ['controlplane', 'controlplane-overrides', 'worker', 'worker-overrides']) {
    for (const version of ['v1.13', 'v1.11']) {
      t.strictSame(
        validateConfig(parseConfig(example(`${version}/${name}.yaml`)), v14).errors,
        [],
        `${version}/${name}.yaml is valid for v1.14 too`,
      );
    }
  }
  const { warnings } = validateConfig(parseConfig(example('v1.13/worker.yaml')), v14);
  t.ok(
    warnings.includes(
      'machine.kubelet: deprecated, accepted by Talos but absent from its schema (use a KubeletConfig document instead)',
    ),
  );
  t.ok(warnings.some((w) => w.startsWith('machine.install: deprecated') && w.includes('UnattendedInstallConfig')));
});

t.test('inside a deprecated section unknown keys are still errors', async (t) => {
  t.strictSame(
    validateConfig(patched('v1.14/worker.yaml', 'machine:\n  sysctls:\n    net.ipv4.ip_forward: "1"\n'), v14).errors,
    [],
  );
  t.strictSame(
    validateConfig(patched('v1.14/worker.yaml', 'machine:\n  files:\n    - path: /var/x\n      contnt: x\n'), v14)
      .errors,
    ['machine.files[0].contnt: unknown key'],
  );
  t.strictSame(validateConfig(patched('v1.14/worker.yaml', 'machine:\n  instal:\n    disk: /dev/sda\n'), v14).errors, [
    'machine.instal: unknown key',
  ]);
});

t.test(
  'a v1alpha1 setting next to the document that replaced it is refused in Talos’s words, naming the document',
  async (t) => {
    const kubelet = validateConfig(
      patched('v1.14/worker.yaml', 'machine:\n  kubelet:\n    extraArgs:\n      v: "2"\n'),
      v14,
    );
    t.strictSame(kubelet.errors, [
      'KubeletConfig: kubelet config is already set in v1alpha1 config (.machine.kubelet); use a KubeletConfig document instead of .machine.kubelet',
    ]);
    const install = validateConfig(
      patched('v1.14/worker-overrides.yaml', 'machine:\n  install:\n    disk: /dev/sda\n'),
      v14,
    );
    t.strictSame(install.errors, [
      'UnattendedInstallConfig: UnattendedInstallConfig config is incompatible with v1alpha1 config (.machine.install); use a UnattendedInstallConfig document instead of .machine.install',
    ]);
    const network = validateConfig(
      patched('v1.14/worker-overrides.yaml', 'cluster:\n  network:\n    dnsDomain: x.local\n'),
      v14,
    );
    t.match(network.errors, [/^KubeNetworkConfig: cluster network config is already set/]);
  },
);

t.test('a patch document of a new kind merges into the config’s document of that identity', async (t) => {
  const base = parseConfig(example('v1.14/worker-overrides.yaml'));
  const docs = patched(
    'v1.14/worker-overrides.yaml',
    'apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  feature-gates: Foo=true\nclusterDNS: [4.4.4.4]\n',
  );
  t.equal(docs.length, base.length, 'merged, not appended');
  const kubelet = docs.find((d) => d.identity.type === 'typed' && d.identity.kind === 'KubeletConfig')!.data;
  t.strictSame(kubelet.extraArgs, { 'feature-gates': 'Foo=true' });
  t.strictSame(kubelet.clusterDNS, ['3.3.3.3', '4.4.4.4'], 'lists append, as talosctl’s strategic merge');
  t.equal(kubelet.image, 'ghcr.io/siderolabs/kubelet:v1.28.0', 'the rest of the document is kept');
  t.strictSame(validateConfig(docs, v14).errors, []);

  const deleted = patched('v1.14/worker-overrides.yaml', 'apiVersion: v1alpha1\nkind: KubeletConfig\n$patch: delete\n');
  t.notOk(
    deleted.some((d) => d.identity.type === 'typed' && d.identity.kind === 'KubeletConfig'),
    '$patch: delete removes the document',
  );
  const key = patched(
    'v1.14/worker-overrides.yaml',
    'apiVersion: v1alpha1\nkind: KubeletConfig\nclusterDNS:\n  $patch: delete\n',
  );
  t.notOk(
    'clusterDNS' in key.find((d) => d.identity.type === 'typed' && d.identity.kind === 'KubeletConfig')!.data,
    '$patch: delete removes a key of it',
  );
  const named = patched(
    'v1.14/worker-overrides.yaml',
    'apiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: ghcr.io\nendpoints: [{url: "https://second.example"}]\n',
  );
  const mirror = named.find((d) => d.identity.type === 'typed' && d.identity.kind === 'RegistryMirrorConfig')!.data;
  t.equal((mirror.endpoints as unknown[]).length, 2, 'named documents merge by apiVersion/kind/name');
  // Once the document is gone, the v1alpha1 setting is Talos's deprecated but valid way.
  const swapped = patched(
    'v1.14/worker-overrides.yaml',
    'apiVersion: v1alpha1\nkind: KubeletConfig\n$patch: delete\n',
    'machine:\n  kubelet:\n    extraArgs: {v: "2"}\n',
  );
  t.strictSame(validateConfig(swapped, v14).errors, []);
});

t.test(
  'bundled schemas form a lineage; an unknown newer version is checked with its own schema against the newest bundled',
  async (t) => {
    t.ok(bundledSchemaFile(1, 13) && bundledSchemaFile(1, 14), 'v1.13 and v1.14 are bundled');
    t.equal(bundledSchemaFile(1, 12), undefined);
    t.equal(previousSchema(1, 13), undefined, 'v1.13 is the oldest: the hand-read list applies');
    const bundled14 = loadVersionSchema(bundledSchemaFile(1, 14)!, 1, 14);
    t.ok(deprecatedPaths(bundled14).includes('machine.kubelet'));
    t.equal(previousSchema(1, 15), bundled14, 'v1.15 is corrected against v1.14');

    // A v1.15 schema that drops one more field: that one is deprecated too, and v1.14's stay accepted.
    const raw = JSON.parse(readFileSync(join(FIXTURES, 'config.schema.v1.14.json'), 'utf8'));
    delete raw.$defs['v1alpha1.FeaturesConfig'].properties.diskQuotaSupport;
    raw.$defs['v1alpha1.Config'].properties.persist = { type: 'boolean' }; // documented again
    const dir = t.testdir({});
    writeFileSync(join(dir, 'config.schema.json'), JSON.stringify(raw));
    const v15 = loadVersionSchema(join(dir, 'config.schema.json'), 1, 15);
    t.ok(deprecatedPaths(v15).includes('machine.features.diskQuotaSupport'));
    t.ok(deprecatedPaths(v15).includes('machine.kubelet'));
    t.notOk(
      deprecatedPaths(v15).includes('persist'),
      'a field the newer schema documents again is no longer deprecated',
    );
    const result = validateConfig(parseConfig(example('v1.14/controlplane-overrides.yaml')), v15);
    t.strictSame(result.errors, []);
    t.ok(result.warnings.some((w) => w.startsWith('machine.features.diskQuotaSupport: deprecated')));
    t.throws(
      () => loadSchema(join(dir, 'config.schema.json'), { previous: { path: 'x' } }),
      /previous must be a schema returned by loadSchema/,
    );
    t.throws(() => deprecatedPaths({ path: 'x' }), /needs a schema returned by loadSchema/);
  },
);
