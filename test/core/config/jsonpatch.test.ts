import t from 'tap';

import { ConfigError, createDocument, parseConfig } from '../../../src/core/config/documents.js';
import {
  applyJsonPatch,
  applyOperations,
  toJsonPatchOperations,
  type JsonPatchOperation,
} from '../../../src/core/config/jsonpatch.js';
import type { ConfigValue } from '../../../src/core/config/values.js';

const apply = (target: ConfigValue, ops: ConfigValue[]): ConfigValue =>
  applyOperations(target, toJsonPatchOperations(ops));

t.test('RFC 6902 operations', async (t) => {
  const doc = { a: { b: [1, 2, 3] }, c: 'x' };
  t.strictSame(apply(doc, [{ op: 'add', path: '/a/d', value: { e: 1 } }]), {
    a: { b: [1, 2, 3], d: { e: 1 } },
    c: 'x',
  });
  t.strictSame(
    apply(doc, [{ op: 'add', path: '/a/b/1', value: 9 }]),
    { a: { b: [1, 9, 2, 3] }, c: 'x' },
    'add inserts',
  );
  t.strictSame(apply(doc, [{ op: 'add', path: '/a/b/-', value: 4 }]), { a: { b: [1, 2, 3, 4] }, c: 'x' }, '- appends');
  t.strictSame(
    apply(doc, [{ op: 'add', path: '/a/b/3', value: 4 }]),
    { a: { b: [1, 2, 3, 4] }, c: 'x' },
    'index = length appends',
  );
  t.strictSame(
    apply(doc, [{ op: 'add', path: '/c', value: 'y' }]),
    { a: { b: [1, 2, 3] }, c: 'y' },
    'add replaces a key',
  );
  t.strictSame(apply(doc, [{ op: 'remove', path: '/a/b/0' }]), { a: { b: [2, 3] }, c: 'x' });
  t.strictSame(apply(doc, [{ op: 'remove', path: '/c' }]), { a: { b: [1, 2, 3] } });
  t.strictSame(apply(doc, [{ op: 'replace', path: '/a/b/1', value: 'two' }]), { a: { b: [1, 'two', 3] }, c: 'x' });
  t.strictSame(apply(doc, [{ op: 'replace', path: '', value: { z: 1 } }]), { z: 1 }, 'replace the root');
  t.strictSame(apply(doc, [{ op: 'add', path: '', value: [1] }]), [1], 'add at the root replaces it');
  t.strictSame(apply(doc, [{ op: 'move', from: '/c', path: '/a/c' }]), { a: { b: [1, 2, 3], c: 'x' } });
  t.strictSame(apply(doc, [{ op: 'move', from: '/a/b/0', path: '/a/b/-' }]), { a: { b: [2, 3, 1] }, c: 'x' });
  t.strictSame(apply(doc, [{ op: 'copy', from: '/a/b', path: '/d' }]), { a: { b: [1, 2, 3] }, c: 'x', d: [1, 2, 3] });
  t.strictSame(apply(doc, [{ op: 'test', path: '/a', value: { b: [1, 2, 3] } }]), doc);
  t.strictSame(doc, { a: { b: [1, 2, 3] }, c: 'x' }, 'the input is untouched');
});

t.test('JSON pointer escaping', async (t) => {
  const doc = { 'a/b': 1, 'm~n': 2, '': 3, labels: { 'node.kubernetes.io/role': 'x' } };
  t.strictSame(apply(doc, [{ op: 'test', path: '/a~1b', value: 1 }]), doc);
  t.strictSame(apply(doc, [{ op: 'test', path: '/m~0n', value: 2 }]), doc);
  t.strictSame(apply(doc, [{ op: 'test', path: '/', value: 3 }]), doc, 'the empty key');
  const out = apply(doc, [{ op: 'remove', path: '/labels/node.kubernetes.io~1role' }]) as Record<string, unknown>;
  t.strictSame(out.labels, {});
});

t.test('operation errors', async (t) => {
  const doc = { a: { b: [1] }, s: 'x' };
  const cases: Array<[ConfigValue[], RegExp]> = [
    [[{ op: 'remove', path: '/missing' }], /operation 1 \(remove \/missing\): \/missing does not exist/],
    [[{ op: 'replace', path: '/a/c', value: 1 }], /\/a\/c does not exist/],
    [[{ op: 'add', path: '/x/y', value: 1 }], /\/x does not exist/],
    [[{ op: 'add', path: '/a/b/5', value: 1 }], /list index out of range/],
    [[{ op: 'add', path: '/a/b/01', value: 1 }], /list index out of range/],
    [[{ op: 'remove', path: '/a/b/-1' }], /does not exist/],
    [[{ op: 'add', path: '/s/x', value: 1 }], /\/s is neither a map nor a list/],
    [[{ op: 'remove', path: '' }], /cannot remove the whole document/],
    [[{ op: 'test', path: '/s', value: 'y' }], /test failed/],
    [[{ op: 'move', from: '/a', path: '/a/b/c' }], /cannot move a value into itself/],
    [
      [
        { op: 'add', path: '/ok', value: 1 },
        { op: 'remove', path: '/nope' },
      ],
      /^JSON patch operation 2 /,
    ],
  ];
  for (const [ops, message] of cases)
    t.throws(() => apply(doc, ops), { constructor: ConfigError, message }, JSON.stringify(ops));
  t.throws(() => apply(doc, [{ op: 'add', path: '/__proto__/polluted', value: true }]), /__proto__ does not exist/);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution through paths');
});

t.test('malformed operations are refused when parsed', async (t) => {
  const cases: Array<[ConfigValue, RegExp]> = [
    ['add', /must be a map/],
    [{ path: '/a' }, /op must be a string/],
    [{ op: 'add' }, /path must be a string/],
    [{ op: 'add', path: '/a' }, /"add" needs a value/],
    [{ op: 'copy', path: '/a' }, /"copy" needs from/],
    [{ op: 'copy', path: '/a', from: 'a' }, /path "a" must start with \//],
    [{ op: 'merge', path: '/a' }, /unknown op "merge"/],
    [{ op: 'add', path: 'a', value: 1 }, /must start with \//],
  ];
  for (const [op, message] of cases)
    t.throws(() => toJsonPatchOperations([op]), { constructor: ConfigError, message }, JSON.stringify(op));
  const ops: JsonPatchOperation[] = toJsonPatchOperations([{ op: 'add', path: '/a', value: null }]);
  t.strictSame(ops, [{ op: 'add', path: '/a', value: null }], 'null is a value');
});

t.test('config documents: exactly one document, still a valid document after', async (t) => {
  const single = parseConfig('version: v1alpha1\nmachine:\n  certSANs: []\n');
  const [doc] = applyJsonPatch(single, toJsonPatchOperations([{ op: 'add', path: '/machine/certSANs/-', value: 'x' }]));
  t.strictSame(doc!.data, { version: 'v1alpha1', machine: { certSANs: ['x'] } });
  t.strictSame(doc!.identity, { type: 'main' });

  const typedOnly = [createDocument({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' })];
  t.equal(
    applyJsonPatch(typedOnly, toJsonPatchOperations([{ op: 'replace', path: '/auto', value: 'off' }]))[0]!.data.auto,
    'off',
    'as Talos: any single document',
  );

  const two = parseConfig('version: v1alpha1\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n');
  t.throws(() => applyJsonPatch(two, []), {
    message: /not supported for multi-document machine configuration \(the config has 2 documents/,
  });
  t.throws(() => applyJsonPatch(single, toJsonPatchOperations([{ op: 'replace', path: '', value: [1] }])), {
    message: /something other than a map/,
  });
  t.throws(
    () =>
      applyJsonPatch(
        single,
        toJsonPatchOperations([
          { op: 'remove', path: '/version' },
          { op: 'remove', path: '/machine' },
        ]),
      ),
    {
      message: /after the JSON patch, document has no kind/,
    },
  );
});
