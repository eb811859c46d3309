import { readFileSync } from 'node:fs';
import t from 'tap';

import {
  ConfigError,
  ConfigLimitError,
  MAX_CONFIG_BYTES,
  createDocument,
  describeDocument,
  documentKey,
  findMainDocument,
  parseConfig,
  parseYamlStream,
  sameDocument,
  serializeConfig,
} from '../../../src/core/config/documents.js';
import { ValidationError } from '../../../src/core/errors.js';
import { formatPath } from '../../../src/core/config/values.js';

const example = (name: string): string =>
  readFileSync(new URL(`../../fixtures/talos/examples/${name}`, import.meta.url), 'utf8');

t.test('talosctl output: documents and their identities', async (t) => {
  const docs = parseConfig(example('v1.13/controlplane-overrides.yaml'));
  t.strictSame(
    docs.map((d) => d.identity),
    [
      { type: 'main' },
      { type: 'typed', apiVersion: 'v1alpha1', kind: 'RegistryMirrorConfig', name: 'ghcr.io' },
      { type: 'typed', apiVersion: 'v1alpha1', kind: 'HostnameConfig' },
    ],
  );
  t.equal(findMainDocument(docs)?.data.version, 'v1alpha1');
  t.strictSame(
    docs.map((d) => documentKey(d.identity)),
    ['v1alpha1', 'v1alpha1/RegistryMirrorConfig/ghcr.io', 'v1alpha1/HostnameConfig'],
  );
  t.strictSame(
    docs.map((d) => describeDocument(d.identity)),
    ['v1alpha1', 'RegistryMirrorConfig "ghcr.io"', 'HostnameConfig'],
  );
  t.ok(sameDocument(docs[2]!.identity, { type: 'typed', apiVersion: 'v1alpha1', kind: 'HostnameConfig' }));
  t.equal(findMainDocument(docs.slice(1)), undefined);
});

t.test('serialise then parse gives the same documents', async (t) => {
  for (const name of ['v1.13/controlplane.yaml', 'v1.13/worker-overrides.yaml', 'v1.11/controlplane-overrides.yaml']) {
    const docs = parseConfig(example(name));
    const text = serializeConfig(docs);
    t.strictSame(parseConfig(text), docs, name);
  }
  const text = serializeConfig([
    createDocument({ version: 'v1alpha1', machine: { nodeLabels: { a: 'yes', b: 'off', c: '012' } } }),
  ]);
  t.match(text, /a: "yes"\n/, 'YAML 1.1 booleans are quoted so no YAML 1.1 reader turns them into booleans');
  t.match(text, /b: "off"\n/);
  t.match(text, /machine:\n {4}nodeLabels:\n {8}a:/, 'four-space indentation as talosctl writes');
  const long = 'QUJD'.repeat(100);
  t.notMatch(
    serializeConfig([createDocument({ version: 'v1alpha1', cluster: { secret: long } })]),
    /\n\s+QUJD/,
    'long strings are not folded',
  );
});

t.test('multi-document streams: empty documents skipped, separators kept', async (t) => {
  const docs = parseConfig(
    '---\nversion: v1alpha1\nmachine: {}\n---\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n',
  );
  t.equal(docs.length, 2);
  t.equal(
    serializeConfig(docs),
    'version: v1alpha1\nmachine: {}\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n',
  );
});

t.test('main document recognised by version or its top-level keys (as in patches)', async (t) => {
  t.strictSame(parseConfig('machine:\n  type: worker\n')[0]!.identity, { type: 'main' });
  t.strictSame(parseConfig('cluster: {}\n')[0]!.identity, { type: 'main' });
  t.strictSame(parseConfig('apiVersion: v1alpha1\nkind: X\nname: 7\n')[0]!.identity, {
    type: 'typed',
    apiVersion: 'v1alpha1',
    kind: 'X',
    name: '7',
  });
});

t.test('identity problems are ConfigErrors naming the document', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['foo: bar\n', /document 1 \(line 1\): document has no kind/],
    [
      'version: v1alpha1\n---\nkind: HostnameConfig\n',
      /document 2 \(line 3\): document of kind HostnameConfig has no apiVersion/,
    ],
    ['apiVersion: v1alpha1\n', /document with apiVersion v1alpha1 has no kind/],
    ['apiVersion: v1alpha1\nkind: ""\n', /kind must be a non-empty string/],
    ['- a\n- b\n', /document 1 \(line 1\): expected a map of config keys, got a list/],
    ['just text\n', /expected a map of config keys, got a string/],
    [
      'apiVersion: v1alpha1\nkind: HostnameConfig\n---\napiVersion: v1alpha1\nkind: HostnameConfig\n',
      /document 2 \(line 4\): duplicate document HostnameConfig \(first is document 1\)/,
    ],
    ['', /config has no documents/],
    ['# only a comment\n', /config has no documents/],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseConfig(text), { constructor: ConfigError, message }, JSON.stringify(text));
  }
  const err = t.throws(() => parseConfig('version: v1alpha1\n---\n[1, 2]\n')) as ConfigError;
  t.equal(err.documentIndex, 1);
  t.equal(err.line, 3);
  t.ok(err instanceof ValidationError, 'a ConfigError is a ValidationError (HTTP 400)');
  t.equal(err.code, 'validation');
});

t.test('bad YAML: message names the document and the line', async (t) => {
  t.throws(() => parseConfig('version: v1alpha1\n---\nmachine:\n  type: [worker\n'), {
    constructor: ConfigError,
    documentIndex: 1,
    message: /^document 2 \(line \d\): invalid YAML: .*line \d/,
  });
  t.throws(() => parseConfig('machine:\n  type: a\n  type: b\n'), {
    message: /line 3\): invalid YAML: Map keys must be unique/,
  });
  t.throws(() => parseConfig('machine: *nowhere\n'), { constructor: ConfigError, message: /invalid YAML|alias/i });
});

t.test('YAML bomb (billion laughs) is refused quickly', async (t) => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `version: v1alpha1\n${levels.join('\n')}\n`;
  const started = Date.now();
  t.throws(() => parseConfig(bomb), {
    constructor: ConfigLimitError,
    documentIndex: 0,
    message: /Excessive alias count/,
  });
  t.ok(Date.now() - started < 1000, 'fails in well under a second');
  t.doesNotThrow(() => parseConfig('version: v1alpha1\nx: &x {a: 1}\ny: *x\n'), 'a few aliases are fine');
  t.throws(() => parseYamlStream('x: &x [1]\ny: [*x, *x, *x]\n', { maxAliasCount: 1 }), {
    message: /Excessive alias count/,
  });
});

t.test('oversized input is refused before parsing', async (t) => {
  const big = `version: v1alpha1\nmachine:\n  token: ${'x'.repeat(MAX_CONFIG_BYTES)}\n`;
  const started = Date.now();
  t.throws(() => parseConfig(big), { constructor: ConfigLimitError, message: /over the limit of 1048576 bytes/ });
  t.ok(Date.now() - started < 200, 'no parsing attempted');
  t.throws(() => parseConfig('version: v1alpha1\n', { maxBytes: 5 }), { message: /input is 18 bytes/ });
});

t.test('values a config never holds are refused', async (t) => {
  t.throws(() => parseConfig('version: v1alpha1\nmachine:\n  __proto__: {polluted: true}\n'), {
    message: /machine\["__proto__"\]|__proto__.*not allowed/,
  });
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.throws(() => parseConfig('version: v1alpha1\nx: .inf\n'), { message: /x: numbers must be finite/ });
});

t.test('deep nesting is refused before the yaml library recurses into it', async (t) => {
  const indented = `version: v1alpha1\n${Array.from({ length: 1400 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} v\n`;
  const inputs = {
    flow: `version: v1alpha1\nx: ${'['.repeat(500_000)}`,
    balanced: `version: v1alpha1\nx: ${'['.repeat(150)}${']'.repeat(150)}\n`,
    compact: `version: v1alpha1\nx:\n${'- '.repeat(300_000)}a\n`,
    'flow maps': `version: v1alpha1\nx: ${'{a: '.repeat(100_000)}`,
    indented,
  };
  for (const [name, text] of Object.entries(inputs)) {
    const started = Date.now();
    t.throws(
      () => parseConfig(text),
      { constructor: ConfigLimitError, message: /^line \d+: nesting deeper than 100 levels$/ },
      name,
    );
    t.ok(Date.now() - started < 500, `${name}: refused quickly`);
  }
  const nested = (depth: number): string =>
    `version: v1alpha1\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(2 * i)}k${i}:`).join('\n')} v\n`;
  t.doesNotThrow(() => parseConfig(nested(60)), 'ordinary nesting passes');
  const afterScalars = 'version: v1alpha1\nm: |\n  one\n\n  two\nq: "a\n  b"\nr: plain\n  continued\n';
  t.throws(
    () => parseConfig(`${afterScalars}x: ${'['.repeat(101)}`),
    { message: /^line 10: / },
    'lines inside scalars are counted',
  );
  t.doesNotThrow(
    () =>
      parseConfig(
        'version: v1alpha1\nm: |\n  [[[[[[[[[[ - - - - : : : {{{{{{{{\n'.replace('[[[[[[[[[[', '['.repeat(200)),
      ),
    'brackets inside block scalars are text',
  );
});

t.test('merge keys (<<) are supported as by Talos', async (t) => {
  const [doc] = parseConfig('version: v1alpha1\nbase: &b {type: worker}\nmachine:\n  <<: *b\n  token: t\n');
  t.strictSame(doc!.data.machine, { type: 'worker', token: 't' });
});

t.test('paths are rendered for operators', async (t) => {
  t.equal(formatPath(['machine', 'network', 'interfaces', 0, 'dhcp']), 'machine.network.interfaces[0].dhcp');
  t.equal(
    formatPath(['machine', 'nodeLabels', 'node.kubernetes.io/role']),
    'machine.nodeLabels["node.kubernetes.io/role"]',
  );
  t.equal(formatPath([]), '(document root)');
});
