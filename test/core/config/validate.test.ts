import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { parseConfig, type ConfigDocument } from '../../../src/core/config/documents.js';
import { applyPatches, parsePatches } from '../../../src/core/config/patch.js';
import { loadSchema, validateConfig } from '../../../src/core/config/validate.js';

const SCHEMA_PATH = fileURLToPath(new URL('../../fixtures/talos/config.schema.v1.13.json', import.meta.url));
const example = (name: string): string =>
  readFileSync(new URL(`../../fixtures/talos/examples/${name}`, import.meta.url), 'utf8');
const schema = loadSchema(SCHEMA_PATH);

/** The v1.13 worker config with patches applied, validated. */
function validateWorker(...patches: string[]): { errors: string[]; warnings: string[] } {
  const docs: ConfigDocument[] = applyPatches(parseConfig(example('v1.13/worker.yaml')), parsePatches(patches));
  return validateConfig(docs, schema);
}

t.test('talosctl v1.13 and v1.11 output is valid for the v1.13 schema', async (t) => {
  for (const name of ['controlplane', 'controlplane-overrides', 'worker', 'worker-overrides']) {
    for (const version of ['v1.13', 'v1.11']) {
      const result = validateConfig(parseConfig(example(`${version}/${name}.yaml`)), schema);
      t.strictSame(result.errors, [], `${version}/${name}.yaml: no errors`);
      t.ok(
        result.warnings.some((w) => w.startsWith('persist: deprecated')),
        `${version}/${name}.yaml: persist warned about`,
      );
    }
  }
  const v111 = validateConfig(parseConfig(example('v1.11/controlplane-overrides.yaml')), schema);
  t.strictSame(
    v111.warnings.map((w) => w.split(':')[0]),
    [
      'persist',
      'machine.network',
      'machine.registries',
      'machine.install.extraKernelArgs',
      'machine.features.rbac',
      'machine.features.stableHostname',
      'machine.features.apidCheckExtKeyUsage',
      'cluster.apiServer.disablePodSecurityPolicy',
    ],
  );
  t.match(
    v111.warnings[1],
    /machine\.network: deprecated, accepted by Talos but absent from its schema \(use HostnameConfig/,
  );
});

t.test('unknown keys are errors naming the path', async (t) => {
  t.strictSame(validateWorker('machine:\n  instal:\n    disk: /dev/sda\n').errors, ['machine.instal: unknown key']);
  t.strictSame(validateWorker('machine:\n  install:\n    dsk: /dev/sda\n').errors, [
    'machine.install.dsk: unknown key',
  ]);
  t.strictSame(validateWorker('version: v1alpha1\nfoo: 1\n').errors, ['foo: unknown key']);
  t.strictSame(
    validateWorker('apiVersion: v1alpha1\nkind: HostnameConfig\nhostnam: x\n').errors,
    ['HostnameConfig: hostnam: unknown key'],
    'typed documents say which document',
  );
});

t.test('deprecated sections are accepted with a warning but still checked inside', async (t) => {
  const ok = validateWorker(
    'machine:\n  network:\n    interfaces:\n      - interface: eth0\n        cidr: 10.0.0.2/24\n        vlans: [{vlanId: 5, cidr: 10.5.0.2/24}]\n',
  );
  t.strictSame(ok.errors, []);
  t.ok(ok.warnings.some((w) => w.startsWith('machine.network: deprecated')));
  t.strictSame(validateWorker('machine:\n  network:\n    hostnam: x\n').errors, [
    'machine.network.hostnam: unknown key',
  ]);
  t.strictSame(validateWorker('machine:\n  network:\n    interfaces: [{interface: eth0, dhcp: "yes"}]\n').errors, [
    'machine.network.interfaces[0].dhcp: must be a boolean (true or false), not string "yes"',
  ]);
  t.strictSame(validateWorker('cluster:\n  etcd:\n    subnet: 10.0.0.0/8\n').errors, []);
});

t.test('wrong types, values and missing keys', async (t) => {
  t.strictSame(validateWorker('machine:\n  install:\n    wipe: "yes"\n').errors, [
    'machine.install.wipe: must be a boolean (true or false), not string "yes"',
  ]);
  const sans = validateConfig(parseConfig('version: v1alpha1\nmachine:\n  certSANs: node-1\n'), schema);
  t.strictSame(sans.errors, ['machine.certSANs: must be a list, not string "node-1"']);
  t.strictSame(validateWorker('cluster:\n  controlPlane:\n    endpoint: http://1.2.3.4:6443\n').errors, [
    'cluster.controlPlane.endpoint: must match ^https://',
  ]);
  t.strictSame(validateWorker('cluster:\n  controlPlane:\n    endpoint: "https://exa mple:6443"\n').errors, [
    'cluster.controlPlane.endpoint: must be a valid uri',
  ]);
  t.strictSame(validateWorker('version: v1alpha2\nmachine: {}\n').errors, ['version: must be one of "v1alpha1"']);
  t.strictSame(validateWorker('apiVersion: v1alpha1\nkind: RegistryMirrorConfig\nendpoints: []\n').errors, [
    'RegistryMirrorConfig: name: required key missing',
  ]);
  t.strictSame(validateWorker('machine:\n  nodeLabels:\n    node.kubernetes.io/x: 1\n').errors, [
    'machine.nodeLabels["node.kubernetes.io/x"]: must be a string, not number 1',
  ]);
});

t.test('oneOf errors are one readable line, or the fitting branch', async (t) => {
  t.strictSame(validateWorker('machine:\n  kubelet:\n    extraArgs:\n      v: 2\n').errors, [
    'machine.kubelet.extraArgs.v: must be a string or a list of strings',
  ]);
  t.strictSame(validateWorker('machine:\n  kubelet:\n    extraArgs:\n      v: [2]\n').errors, [
    'machine.kubelet.extraArgs.v[0]: must be a string, not number 2',
  ]);
});

t.test('documents of unknown kinds or versions', async (t) => {
  t.strictSame(validateWorker('apiVersion: v1alpha1\nkind: FooConfig\nx: 1\n').errors, [
    'document 3: unknown document kind FooConfig (apiVersion v1alpha1)',
  ]);
  t.strictSame(validateWorker('apiVersion: v1beta1\nkind: HostnameConfig\nauto: stable\n').errors, [
    'document 3: HostnameConfig does not exist in apiVersion v1beta1 (supported: v1alpha1)',
  ]);
});

t.test('loadSchema caches by path and refuses files that are not Talos schemas', async (t) => {
  t.equal(loadSchema(SCHEMA_PATH), schema);
  t.equal(loadSchema(`${SCHEMA_PATH}/../config.schema.v1.13.json`), schema, 'same file, same schema');
  const typedOnly = {
    $defs: { x: { type: 'object', properties: { apiVersion: { enum: ['v1'] }, kind: { enum: ['X'] } } } },
    oneOf: [{ $ref: '#/$defs/x' }, { $ref: '#/$defs/missing' }],
  };
  const dir = t.testdir({
    'bad.json': '{nope',
    'other.json': '{"type": "object"}',
    'invalid.json': '{"$defs": {}, "oneOf": []}',
    'nomain.json': JSON.stringify(typedOnly),
  });
  t.throws(() => loadSchema(`${dir}/missing.json`), /cannot load the Talos config schema .*missing\.json/);
  t.throws(() => loadSchema(`${dir}/bad.json`), /cannot load the Talos config schema/);
  t.throws(() => loadSchema(`${dir}/other.json`), /is not a Talos config schema/);
  t.throws(() => loadSchema(`${dir}/invalid.json`), /invalid\.json: invalid JSON schema: .*oneOf/);
  const empty = loadSchema(`${dir}/nomain.json`);
  t.strictSame(validateConfig(parseConfig('version: v1alpha1\n'), empty).errors, [
    'document 1: the schema has no v1alpha1 document',
  ]);
  t.throws(() => validateConfig([], { path: SCHEMA_PATH }), /needs a schema returned by loadSchema/);
});

t.test('loadSchema loads a rewritten file afresh; the schema it replaced still validates', async (t) => {
  const dir = t.testdir({ 'config.schema.json': readFileSync(SCHEMA_PATH, 'utf8') });
  const first = loadSchema(`${dir}/config.schema.json`);
  t.equal(loadSchema(`${dir}/config.schema.json`), first, 'unchanged: cached');
  writeFileSync(`${dir}/config.schema.json`, `${readFileSync(SCHEMA_PATH, 'utf8')}\n`);
  const second = loadSchema(`${dir}/config.schema.json`);
  t.not(second, first, 'rewritten: loaded again');
  const docs = parseConfig(example('v1.13/worker.yaml'));
  t.strictSame(validateConfig(docs, first).errors, []);
  t.strictSame(validateConfig(docs, second).errors, []);
});
