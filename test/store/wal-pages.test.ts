import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { blankMachine } from '../../src/core/registry/machines.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';

const MAC = '02:00:00:00:0a:01';
const AT = '2026-01-01T00:00:00.000Z';

/** The b-trees (tables, indexes) of the pages in the WAL, by name. */
function walTrees(store: SqliteStore, file: string): string[] {
  const wal = readFileSync(`${file}-wal`);
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  const byPage = new Map(
    (store.db.prepare('SELECT pageno, name FROM dbstat').all() as { pageno: number; name: string }[]).map((r) => [
      r.pageno,
      r.name,
    ]),
  );
  const names = new Set<string>();
  for (let at = 32; at + 24 <= wal.length; at += pageSize + 24)
    names.add(byPage.get(wal.readUInt32BE(at)) ?? `?${wal.readUInt32BE(at)}`);
  return [...names].sort();
}

t.test("a repeat boot's writes (last seen, token, timeline) touch no index of the machines table", async (t) => {
  const file = join(t.testdir({}), 'pages.db');
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  for (let i = 0; i < 200; i++) {
    const m = blankMachine(`02:00:00:00:0b:${i.toString(16).padStart(2, '0')}`, AT);
    await store.machines.insert({
      ...m,
      uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      ip: `10.0.1.${i + 1}`,
    });
  }
  const machine = { ...blankMachine(MAC, AT), uuid: '11111111-2222-3333-4444-555555555555' };
  await store.machines.insert(machine);
  let n = 0;
  const boot = async (ip: string) => {
    const at = new Date(Date.parse(AT) + ++n * 1000).toISOString(); // each boot writes new facts
    await store.machines.noteSeen({ ...machine, lastSeen: { ip, at, arch: 'amd64' } });
    await store.tokens.issue({
      tokenHash: String(n).repeat(64).slice(0, 64),
      mac: MAC,
      sourceIp: ip,
      createdAt: at,
      expiresAt: at,
    });
    await store.events.append({
      mac: MAC,
      at,
      kind: 'machine-script',
      detail: { script: 'install' },
      sourceIp: ip,
      state: null,
    });
    await store.flushed();
  };
  await boot('10.0.0.7');
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  await boot('10.0.0.7');
  const trees = walTrees(store, file);
  t.same(
    trees.filter((n) => n.startsWith('machines_')),
    [],
    `no machines index rewritten (WAL holds ${trees.join(', ')})`,
  );
  t.ok(trees.includes('machines') && trees.includes('machine_events'), 'the row and the timeline entry are written');

  await boot('10.0.0.8');
  t.equal((await store.machines.findByIp('10.0.0.8'))?.mac, MAC, 'a new address is still indexed');
  t.equal(await store.machines.findByIp('10.0.0.7'), undefined, 'and the old one is not');
  t.equal((await store.machines.get(MAC))?.lastSeen.ip, '10.0.0.8');
});
