import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { blankMachine } from '../../src/core/registry/machines.js';
import type { Machine } from '../../src/core/types.js';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';

t.test('migrations are versioned and idempotent; WAL on', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'sub', 'm.db');
  const store = new SqliteStore(file);
  const latest = Math.max(...MIGRATIONS.map((m) => m.version));
  t.equal(store.db.pragma('user_version', { simple: true }), latest);
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  await store.close();
  await store.close(); // twice is harmless
  const again = new SqliteStore(file); // re-open: nothing re-applied
  t.equal(again.db.pragma('user_version', { simple: true }), latest);
  await again.close();
  const db = new Database(file);
  db.pragma('user_version = 999');
  t.throws(() => migrate(db), /newer than this metalboot understands/);
  db.close();
});

t.test('timeline and audit log are append-only; state moves with events', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'm.db'));
  t.teardown(() => store.close());
  const m = blankMachine('02:00:00:00:00:01', '2026-01-01T00:00:00.000Z');
  await store.machines.insert(m);
  await t.rejects(store.machines.insert(m), /already registered/);
  const e = await store.events.append({ mac: m.mac, at: '2026-01-01T00:00:01.000Z', kind: 'dhcp', detail: { a: 1 }, sourceIp: '10.0.0.1', state: 'dhcp' });
  t.equal(e.id, 1);
  const after = await store.machines.get(m.mac);
  t.equal(after?.state, 'dhcp');
  t.equal(after?.stateChangedAt, '2026-01-01T00:00:01.000Z');
  // an update from a stale copy must not roll the state back
  m.hostname = 'n1';
  await store.machines.update(m);
  const merged = await store.machines.get(m.mac);
  t.equal(merged?.state, 'dhcp');
  t.equal(merged?.hostname, 'n1');
  t.throws(() => store.db.prepare('UPDATE machine_events SET kind = ?').run('x'), /append-only/);
  t.throws(() => store.db.prepare('DELETE FROM machine_events').run(), /append-only/);
  await store.audit.append({ at: 'now', actor: 'api', action: 'x', target: null, detail: {}, sourceIp: null });
  t.throws(() => store.db.prepare('DELETE FROM audit_log').run(), /append-only/);
  t.same((await store.events.list(m.mac, { afterId: 1 })).length, 0);
});

t.test('only a coalesced refusal\'s detail may change in the audit log (its count grows)', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'm.db'), { groupCommit: false });
  t.teardown(() => store.close());
  const other = await store.audit.append({ at: 'now', actor: 'api', action: 'machine.create', target: null, detail: {}, sourceIp: null });
  const refusal = await store.audit.append({ at: 'now', actor: 'machine', action: 'config.binding-refused', target: 'aa:bb:cc:dd:ee:ff', detail: { count: 1 }, sourceIp: '10.0.0.9' });
  await t.rejects(store.audit.setDetail(other.id, { forged: true }), /append-only/, 'not any other entry');
  await store.audit.setDetail(refusal.id, { count: 2 });
  t.same((await store.audit.list()).find((a) => a.id === refusal.id)?.detail, { count: 2 });
  t.throws(() => store.db.prepare('UPDATE audit_log SET source_ip = ? WHERE id = ?').run('10.0.0.1', refusal.id), /append-only/, 'nor its source');
  t.throws(() => store.db.prepare("UPDATE audit_log SET action = 'x' WHERE id = ?").run(refusal.id), /append-only/, 'nor its action');
  t.throws(() => store.db.prepare('DELETE FROM audit_log').run(), /append-only/);
});

t.test('the newest event of each asked machine, in one query', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'm.db'));
  t.teardown(() => store.close());
  const ev = (mac: string, kind: string, at: string) => store.events.append({ mac, at, kind, detail: {}, sourceIp: null, state: null });
  await ev('02:00:00:00:00:01', 'dhcp', '2026-01-01T00:00:01.000Z');
  await ev('02:00:00:00:00:02', 'registered', '2026-01-01T00:00:02.000Z');
  const newest = await ev('02:00:00:00:00:01', 'tftp', '2026-01-01T00:00:03.000Z');
  await ev('02:00:00:00:00:09', 'dhcp', '2026-01-01T00:00:04.000Z'); // not asked for
  const latest = await store.events.latest(['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03']);
  t.same([...latest.entries()].sort(), [
    ['02:00:00:00:00:01', { id: newest.id, kind: 'tftp', at: '2026-01-01T00:00:03.000Z' }],
    ['02:00:00:00:00:02', { id: 2, kind: 'registered', at: '2026-01-01T00:00:02.000Z' }],
  ], 'machines without events are absent');
  t.equal((await store.events.latest([])).size, 0);
});

t.test('lookup by address prefers the reservation', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'm.db'));
  t.teardown(() => store.close());
  const a = { ...blankMachine('02:00:00:00:00:0a', 'x'), lastSeen: { ip: '10.0.0.5', at: '2026-01-01' } };
  const b = { ...blankMachine('02:00:00:00:00:0b', 'x'), ip: '10.0.0.5' };
  await store.machines.insert(a);
  await store.machines.insert(b);
  t.equal((await store.machines.findByIp('10.0.0.5'))?.mac, b.mac);
  t.equal(await store.machines.findByIp('10.0.0.6'), undefined);
});

t.test('parsed clusters are reused, and dropped when this or another connection changes them', async (t) => {
  const file = join(t.testdir({}), 'c.db');
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  const cluster = { name: 'prod', talosVersion: 'v1.13.9', updatedAt: 'a' } as never;
  await store.clusters.insert(cluster);
  const first = await store.clusters.get('prod');
  t.equal(await store.clusters.get('prod'), first, 'the same parsed object while nothing changed');
  await store.clusters.update({ ...(first as object), updatedAt: 'b' } as never);
  t.equal((await store.clusters.get('prod'))?.updatedAt, 'b', 'an update through this store is seen at once');
  await store.flushed();
  const other = new Database(file);
  other.prepare("UPDATE clusters SET doc = json_set(doc, '$.updatedAt', 'c') WHERE name = 'prod'").run();
  other.close();
  t.equal((await store.clusters.get('prod'))?.updatedAt, 'c', "another connection's commit is seen");
  await store.clusters.delete('prod');
  t.equal(await store.clusters.get('prod'), undefined, 'a deleted cluster is gone');
});

t.test('noteSeen writes what was seen and leaves the rest of the machine alone', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 's.db'));
  t.teardown(() => store.close());
  await store.machines.insert(blankMachine('02:00:00:00:00:07', '2026-01-01T00:00:00.000Z'));
  const seenCopy = (await store.machines.get('02:00:00:00:00:07'))!;
  const operatorCopy = (await store.machines.get('02:00:00:00:00:07'))!;
  await store.machines.update({ ...operatorCopy, hostname: 'edited', uuid: null });
  seenCopy.lastSeen = { ip: '10.0.0.7', at: '2026-01-01T00:01:00.000Z', arch: 'amd64' };
  seenCopy.uuid = '11111111-2222-3333-4444-555555555555';
  seenCopy.serial = 'SN1';
  t.equal(await store.machines.noteSeen(seenCopy), true);
  let m = (await store.machines.get('02:00:00:00:00:07'))!;
  t.equal(m.hostname, 'edited', "the operator's edit in between survives");
  t.same(m.lastSeen, seenCopy.lastSeen);
  t.equal(m.uuid, '11111111-2222-3333-4444-555555555555', 'a missing UUID is filled in');
  t.equal(m.serial, 'SN1');
  t.equal((await store.machines.findByIp('10.0.0.7'))?.mac, '02:00:00:00:00:07', 'found by the address it booted from');
  t.equal((await store.machines.findByUuid('11111111-2222-3333-4444-555555555555'))?.mac, '02:00:00:00:00:07');
  await store.machines.noteSeen({ ...seenCopy, uuid: '99999999-2222-3333-4444-555555555555', serial: 'SN2' });
  m = (await store.machines.get('02:00:00:00:00:07'))!;
  t.equal(m.uuid, '11111111-2222-3333-4444-555555555555', 'a known UUID is not replaced');
  t.equal(m.serial, 'SN1');
  t.equal(await store.machines.noteSeen({ ...seenCopy, mac: '02:00:00:00:00:99' }), false, 'unknown machine: nothing written');
});

t.test('machines in any of several states, by the state index', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'st.db'));
  t.teardown(() => store.close());
  const at = '2026-01-01T00:00:00.000Z';
  for (const [mac, state] of [['02:00:00:00:01:01', 'pxe'], ['02:00:00:00:01:02', 'installing'], ['02:00:00:00:01:03', 'joined']] as const) {
    await store.machines.insert(blankMachine(mac, at));
    await store.events.append({ mac, at, kind: 'test', detail: {}, sourceIp: null, state });
  }
  t.same((await store.machines.list({ states: ['installing', 'pxe'] })).map((m) => m.mac), ['02:00:00:00:01:01', '02:00:00:00:01:02']);
  t.same((await store.machines.list({ state: 'joined' })).map((m) => m.mac), ['02:00:00:00:01:03']);
  t.same(await store.machines.list({ states: [] }), [], 'no states, no machines');
  t.equal((await store.machines.list()).length, 3);
});

t.test('config tokens: one per machine in its row; issuing replaces, revoking clears, operator edits keep it', async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'tok.db'));
  t.teardown(() => store.close());
  const mac = '02:00:00:00:00:21';
  await store.machines.insert(blankMachine(mac, '2026-01-01T00:00:00.000Z'));
  t.equal(await store.tokens.forMachine(mac), undefined, 'none before a boot');
  const first = { tokenHash: 'a'.repeat(64), mac, sourceIp: '10.0.0.21', createdAt: '2026-01-01T00:01:00.000Z', expiresAt: '2026-01-01T03:01:00.000Z' };
  await store.tokens.issue(first);
  t.same(await store.tokens.forMachine(mac), first);
  const second = { ...first, tokenHash: 'b'.repeat(64), createdAt: '2026-01-01T00:02:00.000Z' };
  await store.tokens.issue(second);
  t.same(await store.tokens.forMachine(mac), second, 'the latest boot replaces the earlier token');
  const m = (await store.machines.get(mac))!;
  await store.machines.update({ ...m, hostname: 'edited' });
  t.same(await store.tokens.forMachine(mac), second, 'an operator edit of the machine leaves the token alone');
  t.notOk(JSON.stringify(await store.machines.get(mac)).includes('b'.repeat(64)), 'the token hash is not part of the machine document');
  await store.tokens.revokeForMachine(mac);
  t.equal(await store.tokens.forMachine(mac), undefined, 'revoked');
  await store.tokens.issue({ ...first, mac: '02:00:00:00:00:99' });
  t.equal(await store.tokens.forMachine('02:00:00:00:00:99'), undefined, 'no token for a machine that is not registered');
  await store.tokens.issue(first);
  await store.machines.delete(mac);
  await store.machines.insert(blankMachine(mac, '2026-01-02T00:00:00.000Z'));
  t.equal(await store.tokens.forMachine(mac), undefined, 'a deleted and re-registered machine starts without one');
});

t.test('migration 4 moves each machine\'s newest config token into its row and drops the table', async (t) => {
  const file = join(t.testdir({}), 'v3.db');
  const db = new Database(file);
  migrate(db, MIGRATIONS.filter((m) => m.version <= 3));
  const doc = (mac: string) => JSON.stringify(blankMachine(mac, '2026-01-01T00:00:00.000Z'));
  db.prepare("INSERT INTO machines (mac, state, doc) VALUES ('02:00:00:00:00:31', 'registered', ?), ('02:00:00:00:00:32', 'registered', ?)").run(doc('02:00:00:00:00:31'), doc('02:00:00:00:00:32'));
  const tok = db.prepare('INSERT INTO config_tokens (token_hash, mac, source_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?)');
  tok.run('old', '02:00:00:00:00:31', '10.0.0.31', '2026-01-01T00:00:00.000Z', '2026-01-01T03:00:00.000Z');
  tok.run('new', '02:00:00:00:00:31', '10.0.0.31', '2026-01-01T00:05:00.000Z', '2026-01-01T03:05:00.000Z');
  db.close();
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  t.equal(store.db.pragma('user_version', { simple: true }), Math.max(...MIGRATIONS.map((m) => m.version)), 'and every later one');
  t.same(await store.tokens.forMachine('02:00:00:00:00:31'), { tokenHash: 'new', mac: '02:00:00:00:00:31', sourceIp: '10.0.0.31', createdAt: '2026-01-01T00:05:00.000Z', expiresAt: '2026-01-01T03:05:00.000Z' });
  t.equal(await store.tokens.forMachine('02:00:00:00:00:32'), undefined, 'a machine without a token has none');
  t.equal(store.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'config_tokens'").get()!.n, 0, 'the old table is gone');
});

t.test('the count of discovered machines follows inserts, state changes and deletes', async (t) => {
  const store = new SqliteStore(':memory:');
  t.teardown(() => store.close());
  const now = '2026-12-07T10:00:00.000Z';
  const m = (mac: string, state: Machine['state']) => ({ ...blankMachine(mac, now), state });
  await store.machines.insert(m('02:00:00:00:00:01', 'discovered'));
  await store.machines.insert(m('02:00:00:00:00:02', 'discovered'));
  await store.machines.insert(m('02:00:00:00:00:03', 'registered'));
  t.equal(await store.machines.countDiscovered(), 2);
  await store.events.append({ mac: '02:00:00:00:00:01', at: now, kind: 'accepted', detail: {}, sourceIp: null, state: 'registered' });
  t.equal(await store.machines.countDiscovered(), 1, 'accepted');
  await store.machines.delete('02:00:00:00:00:02');
  await store.machines.delete('02:00:00:00:00:03');
  t.equal(await store.machines.countDiscovered(), 0, 'deleted');
  const direct = store.db.prepare("SELECT count(*) AS n FROM machines WHERE state = 'discovered'").get() as { n: number };
  t.equal(direct.n, 0);
});

t.test('migration 5 fills in when each machine was last seen and counts the discovered ones', async (t) => {
  const file = join(t.testdir({}), 'v4.db');
  const db = new Database(file);
  migrate(db, MIGRATIONS.filter((m) => m.version <= 4));
  const seen = { ...blankMachine('02:00:00:00:00:41', '2026-01-01T00:00:00.000Z'), state: 'discovered', lastSeen: { ip: '10.0.0.41', at: '2026-01-02T00:00:00.000Z' } };
  const never = { ...blankMachine('02:00:00:00:00:42', '2026-01-03T00:00:00.000Z'), state: 'discovered' };
  const ins = db.prepare('INSERT INTO machines (mac, state, doc) VALUES (?, ?, ?)');
  ins.run(seen.mac, 'discovered', JSON.stringify(seen));
  ins.run(never.mac, 'discovered', JSON.stringify(never));
  db.close();
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  t.equal(await store.machines.countDiscovered(), 2);
  t.equal(await store.machines.expireDiscovered('2026-01-02T12:00:00.000Z', 10), 1, 'last seen on the 2nd: expired');
  t.ok(await store.machines.get(never.mac), 'never seen: its creation time counts');
  t.equal(await store.machines.countDiscovered(), 1);
});
