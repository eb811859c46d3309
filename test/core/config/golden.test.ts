/**
 * Every golden case of Talos's configpatcher tests (pkg/machinery/config/configpatcher/apply_test.go
 * at v1.13.9), fed through our parser and patch engine.
 *
 * The expected files were written by Talos's Go encoder, which prints fields the input never had:
 * zero values of non-omitempty fields (`type: ""`, `token: ""`, `certSANs: []`, `cluster: null`,
 * VLAN `routes: []`). Where a case's expected file has them, the comparison drops "", [], {} and
 * null on both sides; `LENIENT` below says which cases need it and why. `patchlink` compares strictly.
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';

import { ConfigError, parseConfig, type ConfigDocument } from '../../../src/core/config/documents.js';
import { applyPatches, parsePatch } from '../../../src/core/config/patch.js';
import { isConfigMap, type ConfigValue } from '../../../src/core/config/values.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/talos/configpatcher/${name}`, import.meta.url), 'utf8');

const GO_ZERO_VALUES = 'the Go encoder adds type: "", token: "", certSANs: [] and null sections';

/** Drops "", [], {} and null recursively: what Talos's encoder prints for unset fields. */
function withoutZeroValues(value: ConfigValue): ConfigValue | undefined {
  if (value === null || value === '') return undefined;
  if (Array.isArray(value)) {
    const items = value.map(withoutZeroValues).filter((item): item is ConfigValue => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (isConfigMap(value)) {
    const entries = Object.entries(value)
      .map(([key, item]) => [key, withoutZeroValues(item)] as const)
      .filter(([, item]) => item !== undefined);
    return entries.length === 0 ? undefined : (Object.fromEntries(entries) as ConfigValue);
  }
  return value;
}

function check(
  t: Test,
  name: string,
  config: string,
  patchFiles: string[],
  expectedFile: string,
  leniency: string | undefined,
): void {
  const patches = patchFiles.map((file) => parsePatch(fixture(file)));
  const actual = applyPatches(parseConfig(fixture(config)), patches);
  const expected = parseConfig(fixture(expectedFile));
  t.strictSame(
    actual.map((d) => d.identity),
    expected.map((d) => d.identity),
    `${name}: same documents in the same order`,
  );
  const view = (docs: ConfigDocument[]): (ConfigValue | undefined)[] =>
    docs.map((d) => (leniency ? withoutZeroValues(d.data) : d.data));
  t.strictSame(
    view(actual),
    view(expected),
    `${name}: same content${leniency ? ` (ignoring zero values: ${leniency})` : ''}`,
  );
}

t.test('apply: strategic and JSON patches interleaved (TestApply)', async (t) => {
  check(
    t,
    'apply',
    'apply/config.yaml',
    [
      'apply/strategic1.yaml',
      'apply/jsonpatch1.yaml',
      'apply/jsonpatch2.yaml',
      'apply/strategic2.yaml',
      'apply/strategic3.yaml',
    ],
    'apply/expected.yaml',
    `${GO_ZERO_VALUES}, and VLAN routes: []`,
  );
});

t.test('apply: inline manifest with a leading blank line (TestApplyWithManifestNewline)', async (t) => {
  // Not a leniency: Talos trims the leading newline of inline manifests, and so do we.
  check(
    t,
    'manifests',
    'apply/config.yaml',
    ['apply/strategic4.yaml'],
    'apply/expected_manifests.yaml',
    GO_ZERO_VALUES,
  );
  const [doc] = applyPatches(parseConfig(fixture('apply/config.yaml')), [parsePatch(fixture('apply/strategic4.yaml'))]);
  const manifests = (doc!.data.cluster as { inlineManifests: Array<{ contents: string }> }).inlineManifests;
  t.match(manifests[0]?.contents, /^---\napiVersion: v1\n/);
});

t.test('multidoc: documents matched by apiVersion/kind/name (TestApplyMultiDoc)', async (t) => {
  check(
    t,
    'multidoc',
    'multidoc/config.yaml',
    ['multidoc/strategic1.yaml', 'multidoc/strategic2.yaml'],
    'multidoc/expected.yaml',
    GO_ZERO_VALUES,
  );
});

t.test('multidoc: a JSON patch on a multi-document config fails (TestApplyMultiDocFail)', async (t) => {
  const patches = [parsePatch(fixture('multidoc/jsonpatch.yaml')), parsePatch(fixture('multidoc/strategic1.yaml'))];
  t.throws(() => applyPatches(parseConfig(fixture('multidoc/config.yaml')), patches), {
    constructor: ConfigError,
    patchIndex: 0,
    message: /patch 1: JSON patches are not supported for multi-document machine configuration/,
  });
});

t.test('auditpolicy: auditPolicy is replaced, not merged (TestApplyAuditPolicy)', async (t) => {
  check(
    t,
    'auditpolicy',
    'auditpolicy/config.yaml',
    ['auditpolicy/patch1.yaml'],
    'auditpolicy/expected.yaml',
    GO_ZERO_VALUES,
  );
});

t.test('patchdelete: $patch: delete of documents, list elements and keys (TestApplyMultiDocDelete)', async (t) => {
  check(
    t,
    'patchdelete',
    'patchdelete/config.yaml',
    ['patchdelete/strategic1.yaml'],
    'patchdelete/expected.yaml',
    GO_ZERO_VALUES,
  );
});

t.test('patchdelete: deletes on a controlplane config (TestApplyMultiDocCPDelete)', async (t) => {
  check(
    t,
    'controlplane delete',
    'patchdelete/controlplane_orig.yaml',
    ['patchdelete/strategic2.yaml', 'patchdelete/strategic3.yaml', 'patchdelete/strategic4.yaml'],
    'patchdelete/controlplane_expected.yaml',
    // Deletes leave machine.nodeLabels: {} and cluster.apiServer.admissionControl: [] behind, as in
    // Talos; its encoder then omits them (omitempty), ours prints them empty.
    `${GO_ZERO_VALUES}; Go omits the nodeLabels and admissionControl that deletes emptied`,
  );
});

t.test('patchdeletemissing: deleting under a missing parent fails (TestPatchDeleteMissing)', async (t) => {
  const patch = parsePatch(fixture('patchdeletemissing/strategic1.yaml'));
  t.throws(() => applyPatches(parseConfig(fixture('patchdeletemissing/config.yaml')), [patch]), {
    constructor: ConfigError,
    message: /patch delete: path 'machine\.network\.hostname' in document v1alpha1: lookup failed/,
  });
});

t.test('patchlink: list element deleted by address, another appended (TestPatchLink)', async (t) => {
  check(t, 'patchlink', 'patchlink/base.yaml', ['patchlink/patch.yaml'], 'patchlink/expected.yaml', undefined);
});

t.test('patch files of TestLoad*: format detection', async (t) => {
  const json = parsePatch(fixture('patch.json'));
  t.strictSame(json, { format: 'json', operations: [{ op: 'add', path: '/machine/certSANs', value: ['foo.com'] }] });
  const yaml = parsePatch(fixture('patch.yaml'));
  t.strictSame(yaml, { format: 'json', operations: [{ op: 'add', path: '/some/path', value: ['a', 'b', 'c'] }] });
  const strategic = parsePatch(fixture('strategic.yaml'));
  t.equal(strategic.format, 'strategic');
  t.strictSame(
    strategic.format === 'strategic' && strategic.patch.steps.map((s) => s.type === 'merge' && s.document.identity),
    [{ type: 'main' }],
  );
});
