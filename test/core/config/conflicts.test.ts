/**
 * Talos's conflict rules (V1Alpha1ConflictValidate) as data: every row of the table extracted from
 * Talos v1.14.0-rc.1 is in CONFLICT_RULES with Talos's words, and each rule fires exactly when its
 * v1alpha1 setting is set the way Go's decoder would see it.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';

import { CONFLICT_RULES, conflictErrors, type ConflictRule } from '../../../src/core/config/conflicts.js';
import { createDocument } from '../../../src/core/config/documents.js';
import type { ConfigMap, ConfigValue } from '../../../src/core/config/values.js';

const table = readFileSync(new URL('../../fixtures/talos/v1.14-conflicts.md', import.meta.url), 'utf8');

/** Rows of the markdown table: kind (first word of the first cell) and Talos's messages. */
function tableRows(): Array<{ kind: string; messages: string[] }> {
  return table
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| document kind') && !line.startsWith('|---'))
    .map((line) => {
      const cells = line.split(' | ');
      const kind = cells[0]!.replace(/^\| /, '').split(' ')[0]!;
      const messages = cells[3]!.replace(/ \|$/, '').split(' / ');
      return { kind, messages };
    });
}

const withValue = (path: readonly string[], value: ConfigValue): ConfigMap => {
  const root: ConfigMap = { version: 'v1alpha1' };
  let node = root;
  path.forEach((key, i) => {
    node[key] = i === path.length - 1 ? value : {};
    node = node[key] as ConfigMap;
  });
  return root;
};

/** A value that counts as set for the rule, and the typed document the rule belongs to. */
const setValue = (r: ConflictRule): ConfigValue => (r.when === 'true' ? true : r.when === 'nonEmpty' ? ['x'] : {});
const typedDoc = (r: ConflictRule): ConfigMap => ({
  apiVersion: 'v1alpha1',
  kind: r.kind,
  ...(r.document?.name ? { name: r.document.name } : {}),
  ...(r.document?.has ? { [r.document.has]: { enabled: true } } : {}),
});

t.test('every row of Talos’s conflict table is a rule, in Talos’s words', async (t) => {
  const rows = tableRows();
  t.equal(rows.length, 30, 'the table has 30 document kinds');
  for (const { kind, messages } of rows) {
    const rules = CONFLICT_RULES.filter((r) => r.kind === kind);
    t.ok(rules.length > 0, `${kind} has rules`);
    for (const message of messages) {
      const expected = message.replace('"<name>"', '"STATE"');
      t.ok(
        rules.some((r) => r.says === expected),
        `${kind}: "${expected}"`,
      );
    }
  }
});

t.test('each rule fires when its v1alpha1 setting is set, and names the document to use instead', async (t) => {
  for (const r of CONFLICT_RULES) {
    const docs = [createDocument(withValue(r.path, setValue(r))), createDocument(typedDoc(r))];
    const errors = conflictErrors(docs);
    t.equal(errors.length, 1, `${r.kind} vs .${r.path.join('.')}`);
    t.match(errors[0], `: ${r.says}; use a ${r.instead ?? r.kind} document instead of .${r.path.join('.')}`);
  }
});

t.test('unset, null, empty or false settings do not conflict', async (t) => {
  for (const r of CONFLICT_RULES) {
    const unset = r.when === 'set' ? null : r.when === 'true' ? false : '';
    t.strictSame(
      conflictErrors([createDocument(withValue(r.path, unset)), createDocument(typedDoc(r))]),
      [],
      `${r.kind}: .${r.path.join('.')} = ${JSON.stringify(unset)}`,
    );
  }
  t.strictSame(
    conflictErrors([createDocument({ apiVersion: 'v1alpha1', kind: 'KubeletConfig' })]),
    [],
    'no v1alpha1 document: nothing to conflict with',
  );
});

t.test('rules that look at the document too', async (t) => {
  const encrypted = withValue(['machine', 'systemDiskEncryption', 'state'], { provider: 'luks2' });
  const volume = (data: ConfigMap) => createDocument({ apiVersion: 'v1alpha1', kind: 'VolumeConfig', ...data });
  t.strictSame(
    conflictErrors([createDocument(encrypted), volume({ name: 'STATE' })]),
    [],
    'a STATE volume without encryption',
  );
  t.strictSame(
    conflictErrors([createDocument(encrypted), volume({ name: 'EPHEMERAL', encryption: { provider: 'luks2' } })]),
    [],
    'another volume',
  );
  t.equal(
    conflictErrors([createDocument(encrypted), volume({ name: 'STATE', encryption: { provider: 'luks2' } })]).length,
    1,
  );

  const hostDNS = withValue(['machine', 'features', 'hostDNS'], { enabled: true });
  const resolver = (data: ConfigMap) => createDocument({ apiVersion: 'v1alpha1', kind: 'ResolverConfig', ...data });
  t.strictSame(
    conflictErrors([createDocument(hostDNS), resolver({ nameservers: [{ address: '1.1.1.1' }] })]),
    [],
    'hostDNS only conflicts with a ResolverConfig that sets it',
  );
  t.strictSame(
    conflictErrors([createDocument(hostDNS), resolver({ hostDNS: { enabled: false } })]),
    [],
    'a zero hostDNS is not set',
  );
  t.equal(conflictErrors([createDocument(hostDNS), resolver({ hostDNS: { enabled: true } })]).length, 1);

  // Like Talos, one error per document: the first of its checks that fails.
  const node = withValue(['machine', 'nodeLabels'], { a: 'b' });
  if (node.cluster === undefined) node.cluster = { allowSchedulingOnControlPlanes: true };
  t.strictSame(
    conflictErrors([createDocument(node), createDocument({ apiVersion: 'v1alpha1', kind: 'KubeNodeConfig' })]),
    [
      'KubeNodeConfig: .cluster.allowSchedulingOnControlPlanes is already set in v1alpha1 config; use a KubeNodeConfig document instead of .cluster.allowSchedulingOnControlPlanes',
    ],
  );
});
