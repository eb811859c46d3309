import t from 'tap';

import { ConfigError, ConfigLimitError, parseConfig } from '../../../src/core/config/documents.js';
import { applyPatches, parsePatch, parsePatches } from '../../../src/core/config/patch.js';

const SINGLE = 'version: v1alpha1\nmachine:\n  type: worker\n  certSANs: []\n';
const MULTI = `${SINGLE}---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n`;

t.test('format detection follows talosctl', async (t) => {
  t.equal(parsePatch('machine:\n  type: controlplane\n').format, 'strategic');
  t.equal(parsePatch('{"machine": {"type": "controlplane"}}').format, 'strategic', 'a JSON object is a partial config');
  t.equal(parsePatch('apiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n').format, 'strategic');
  t.strictSame(parsePatch('[{"op": "add", "path": "/machine/certSANs/-", "value": "x"}]'), {
    format: 'json',
    operations: [{ op: 'add', path: '/machine/certSANs/-', value: 'x' }],
  });
  t.strictSame(parsePatch('- op: remove\n  path: /machine/type\n'), {
    format: 'json',
    operations: [{ op: 'remove', path: '/machine/type' }],
  });
  t.strictSame(parsePatch(''), { format: 'json', operations: [] }, 'empty text is an empty JSON patch, as in talosctl');
  t.strictSame(parsePatch('# nothing\n'), { format: 'json', operations: [] });
  t.strictSame(parsePatch('[]'), { format: 'json', operations: [] });
});

t.test('detection errors say what was wrong', async (t) => {
  t.throws(() => parsePatch('[{"op": "add", "path": "/a", "value": 1}'), {
    constructor: ConfigError,
    message: /^invalid JSON patch: /,
  });
  t.throws(() => parsePatch('[1, 2]'), { message: /invalid JSON patch: every JSON patch operation must be an object/ });
  t.throws(() => parsePatch('["a"]'), { message: /every JSON patch operation must be an object/ });
  t.throws(
    () => parsePatch('- just\n- strings\n'),
    { message: /expected a map of config keys, got a list/ },
    'not ops: the config error',
  );
  t.throws(() => parsePatch('machine:\n  type: [oops\n'), { message: /invalid YAML/ });
  t.throws(() => parsePatch('- op: frobnicate\n  path: /a\n'), { message: /unknown op "frobnicate"/ });
  t.throws(() => parsePatch('version: v1alpha1\n'), { message: 'patch has no documents' });
  t.throws(() => parsePatch(`machine:\n  token: ${'x'.repeat(2 * 1024 * 1024)}\n`), {
    message: /^patch is \d+ bytes, over the limit/,
  });
});

t.test('applyPatches applies in order and names the failing patch', async (t) => {
  const patches = parsePatches([
    'machine:\n  certSANs: [a]\n',
    '[{"op": "add", "path": "/machine/certSANs/-", "value": "b"}]',
    '- op: replace\n  path: /machine/type\n  value: controlplane\n',
    'machine:\n  certSANs: [c]\n',
  ]);
  const base = parseConfig(SINGLE);
  const [doc] = applyPatches(base, patches);
  t.strictSame(doc!.data.machine, { type: 'controlplane', certSANs: ['a', 'b', 'c'] });
  t.strictSame(base, parseConfig(SINGLE), 'the input documents are untouched');

  const err = t.throws(() =>
    applyPatches(parseConfig(MULTI), parsePatches(['machine: {type: worker}\n', ''])),
  ) as ConfigError;
  t.equal(err.patchIndex, 1);
  t.match(err.message, /^patch 2: JSON patches are not supported for multi-document/);

  t.throws(() => applyPatches(parseConfig(SINGLE), parsePatches(['[{"op": "remove", "path": "/cluster"}]'])), {
    patchIndex: 0,
    message: /^patch 1: JSON patch operation 1 \(remove \/cluster\): \/cluster does not exist/,
  });
});

t.test('a patch over a resource limit is refused once, whatever its format', async (t) => {
  const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n`;
  const err = t.throws(() =>
    parsePatches(['machine: {}\n', `machine:\n  x:\n${bomb.replace(/^/gm, '    ')}`]),
  ) as ConfigError;
  t.ok(err instanceof ConfigLimitError, 'the limit error keeps its class when it names the patch');
  t.match(err.message, /^patch 2: document 1 \(line 1\): Excessive alias count/);
  t.throws(() => parsePatch(`[${'['.repeat(1000)}`), { constructor: ConfigLimitError, message: /nesting deeper/ });
});

t.test('parsePatches names the patch that does not parse', async (t) => {
  t.throws(() => parsePatches(['machine: {}\n', 'machine:\n  - x\n  y: 1\n']), {
    constructor: ConfigError,
    patchIndex: 1,
    message: /^patch 2: document 1 \(line \d\): invalid YAML/,
  });
});
