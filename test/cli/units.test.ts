import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettingsFile } from '../../src/cli/config-file.js';
import { age, bytes, formatFields, formatTable } from '../../src/cli/output.js';
import { parseDiskSelector, parseKeyValue, readPatch } from '../../src/cli/inputs.js';
import { formatEvent } from '../../src/cli/commands/machine-events.js';

t.test('output helpers', async (t) => {
  t.equal(
    formatTable(
      ['A', 'LONGER'],
      [
        ['x', null],
        ['yyyy', 3],
      ],
    ),
    'A     LONGER\nx     -\nyyyy  3',
  );
  t.equal(
    formatFields([
      ['a', 'one\ntwo'],
      ['bbb', null],
    ]),
    'a:   one\n     two\nbbb: -',
  );
  const now = Date.parse('2026-01-01T00:10:00Z');
  t.same(
    ['2026-01-01T00:09:30Z', '2026-01-01T00:00:00Z', '2025-12-31T20:00:00Z', '2025-12-20T00:00:00Z', null].map((d) =>
      age(d, now),
    ),
    ['30s', '10m', '4h', '12d', '-'],
  );
  t.same([bytes(10), bytes(2048), bytes(5 * 1024 * 1024)], ['10 B', '2.0 KiB', '5.0 MiB']);
  t.equal(
    formatEvent({
      id: 1,
      mac: 'm',
      at: 'T',
      kind: 'dhcp-discover',
      state: 'dhcp',
      sourceIp: null,
      detail: { reply: 'OFFER', n: null, o: { a: 1 } },
    }),
    `T  ${'dhcp-discover'.padEnd(26)} ${'→ dhcp'.padEnd(20)} ${'-'.padEnd(15)} reply=OFFER o={"a":1}`,
  );
  t.equal(
    formatEvent({
      id: 2,
      mac: 'm',
      at: 'T',
      kind: 'machine-script',
      state: null,
      sourceIp: '10.0.0.9',
      detail: { script: 'install' },
      repeats: 40,
      lastAt: 'U',
    }),
    `T  ${'machine-script'.padEnd(26)} ${''.padEnd(20)} ${'10.0.0.9'.padEnd(15)} script=install (×40 until U)`,
    'a coalesced event says how many times and until when',
  );
});

t.test('inputs', async (t) => {
  const dir = t.testdir({ 'p.yaml': 'machine: {}\n', 'empty.yaml': '  \n' });
  t.equal(readPatch(`@${join(dir, 'p.yaml')}`), 'machine: {}\n');
  t.equal(readPatch('[{"op": "remove", "path": "/x"}]'), '[{"op": "remove", "path": "/x"}]');
  t.throws(() => readPatch(`@${join(dir, 'empty.yaml')}`), /is empty/);
  t.same(parseKeyValue('a=b=c', '--label'), ['a', 'b=c']);
  t.throws(() => parseKeyValue('=x', '--label'), /must be key=value/);
  t.same(parseDiskSelector('{size: ">= 100GB", type: nvme}'), { size: '>= 100GB', type: 'nvme' });
  t.throws(() => parseDiskSelector('/dev/sda'), /must be a YAML or JSON mapping/);
  t.throws(() => parseDiskSelector('{'), /--disk-selector: /);
});

t.test('settings file parsing', async (t) => {
  const dir = t.testdir({
    'empty.yaml': '',
    'scalar.yaml': 'just text\n',
    'ok.yaml':
      'listen: ":8080"\ndhcp-relay-subnet: 10.1.0.0/24,10.1.0.2-10.1.0.9\nassets-dir: /srv/assets\ndata-dir: data\n',
  });
  const keys = ['listen', 'dhcp-relay-subnet', 'assets-dir', 'data-dir'];
  t.same(loadSettingsFile(join(dir, 'empty.yaml'), keys)?.values.size, 0);
  t.throws(() => loadSettingsFile(join(dir, 'scalar.yaml'), keys), /must be a YAML mapping/);
  const ok = loadSettingsFile(join(dir, 'ok.yaml'), keys)!;
  t.same(Object.fromEntries(ok.values), {
    listen: ':8080',
    'dhcp-relay-subnet': ['10.1.0.0/24,10.1.0.2-10.1.0.9'],
    'assets-dir': '/srv/assets',
    'data-dir': join(dir, 'data'),
  });
  t.equal(loadSettingsFile(undefined, keys), undefined, 'no ./metalboot.yaml here: fine');
  writeFileSync(join(dir, 'null.yaml'), 'listen: ~\n');
  t.throws(() => loadSettingsFile(join(dir, 'null.yaml'), keys), /"listen" must be a string or number, got null/);
});
