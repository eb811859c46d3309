/**
 * What the SQLite store does beyond the Store contract (test/helpers/store-conformance, run by
 * sqlite-conformance.test.ts): migrations, WAL, triggers that keep the logs append-only, the
 * cluster cache across connections, where columns live.
 */
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
  const e = await store.events.append({
    mac: m.mac,
    at: '2026-01-01T00:00:01.000Z',
    kind: 'dhcp',
    detail: { a: 1 },
    sourceIp: '10.0.0.1',
    state: 'dhcp',
  });
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

t.test("only a coalesced refusal's detail may change in the audit log (its count grows)", async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'm.db'), { groupCommit: false });
  t.teardown(() => store.close());
  const other = await store.audit.append({
    at: 'now',
    actor: 'api',
    action: 'machine.create',
    target: null,
    detail: {},
    sourceIp: null,
  });
  const refusal = await store.audit.append({
    at: 'now',
    actor: 'machine',
    action: 'config.binding-refused',
    target: 'aa:bb:cc:dd:ee:ff',
    detail: { count: 1 },
    sourceIp: '10.0.0.9',
  });
  await t.rejects(store.audit.setDetail(other.id, { forged: true }), /append-only/, 'not any other entry');
  await store.audit.setDetail(refusal.id, { count: 2 });
  t.same((await store.audit.list()).find((a) => a.id === refusal.id)?.detail, { count: 2 });
  t.throws(
    () => store.db.prepare('UPDATE audit_log SET source_ip = ? WHERE id = ?').run('10.0.0.1', refusal.id),
    /append-only/,
    'nor its source',
  );
  t.throws(
    () => store.db.prepare("UPDATE audit_log SET action = 'x' WHERE id = ?").run(refusal.id),
    /append-only/,
    'nor its action',
  );
  t.throws(() => store.db.prepare('DELETE FROM audit_log').run(), /append-only/);
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

t.test("a config token lives in its machine's row, not in the machine document", async (t) => {
  const store = new SqliteStore(join(t.testdir({}), 'tok.db'));
  t.teardown(() => store.close());
  const mac = '02:00:00:00:00:21';
  await store.machines.insert(blankMachine(mac, '2026-01-01T00:00:00.000Z'));
  const tok = {
    tokenHash: 'b'.repeat(64),
    mac,
    sourceIp: '10.0.0.21',
    createdAt: '2026-01-01T00:01:00.000Z',
    expiresAt: '2026-01-01T03:01:00.000Z',
  };
  await store.tokens.issue(tok);
  t.same(await store.tokens.forMachine(mac), tok);
  t.notOk(
    JSON.stringify(await store.machines.get(mac)).includes('b'.repeat(64)),
    'the token hash is not part of the machine document',
  );
  await store.flushed();
  t.equal(
    store.db.prepare('SELECT token_hash FROM machines WHERE mac = ?').pluck().get(mac),
    'b'.repeat(64),
    'it is in the row',
  );
});

t.test("migration 4 moves each machine's newest config token into its row and drops the table", async (t) => {
  const file = join(t.testdir({}), 'v3.db');
  const db = new Database(file);
  migrate(
    db,
    MIGRATIONS.filter((m) => m.version <= 3),
  );
  const doc = (mac: string) => JSON.stringify(blankMachine(mac, '2026-01-01T00:00:00.000Z'));
  db.prepare(
    "INSERT INTO machines (mac, state, doc) VALUES ('02:00:00:00:00:31', 'registered', ?), ('02:00:00:00:00:32', 'registered', ?)",
  ).run(doc('02:00:00:00:00:31'), doc('02:00:00:00:00:32'));
  const tok = db.prepare(
    'INSERT INTO config_tokens (token_hash, mac, source_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  );
  tok.run('old', '02:00:00:00:00:31', '10.0.0.31', '2026-01-01T00:00:00.000Z', '2026-01-01T03:00:00.000Z');
  tok.run('new', '02:00:00:00:00:31', '10.0.0.31', '2026-01-01T00:05:00.000Z', '2026-01-01T03:05:00.000Z');
  db.close();
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  t.equal(
    store.db.pragma('user_version', { simple: true }),
    Math.max(...MIGRATIONS.map((m) => m.version)),
    'and every later one',
  );
  t.same(await store.tokens.forMachine('02:00:00:00:00:31'), {
    tokenHash: 'new',
    mac: '02:00:00:00:00:31',
    sourceIp: '10.0.0.31',
    createdAt: '2026-01-01T00:05:00.000Z',
    expiresAt: '2026-01-01T03:05:00.000Z',
  });
  t.equal(await store.tokens.forMachine('02:00:00:00:00:32'), undefined, 'a machine without a token has none');
  t.equal(
    store.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'config_tokens'").get()!
      .n,
    0,
    'the old table is gone',
  );
});

t.test('the discovered count the triggers keep follows inserts, state changes and deletes', async (t) => {
  const store = new SqliteStore(':memory:');
  t.teardown(() => store.close());
  const now = '2026-12-07T10:00:00.000Z';
  const m = (mac: string, state: Machine['state']) => ({ ...blankMachine(mac, now), state });
  await store.machines.insert(m('02:00:00:00:00:01', 'discovered'));
  await store.machines.insert(m('02:00:00:00:00:02', 'discovered'));
  await store.machines.insert(m('02:00:00:00:00:03', 'registered'));
  t.equal(await store.machines.countDiscovered(), 2);
  await store.events.append({
    mac: '02:00:00:00:00:01',
    at: now,
    kind: 'accepted',
    detail: {},
    sourceIp: null,
    state: 'registered',
  });
  t.equal(await store.machines.countDiscovered(), 1, 'accepted');
  await store.machines.delete('02:00:00:00:00:02');
  await store.machines.delete('02:00:00:00:00:03');
  t.equal(await store.machines.countDiscovered(), 0, 'deleted');
  const direct = store.db.prepare("SELECT count(*) AS n FROM machines WHERE state = 'discovered'").get() as {
    n: number;
  };
  t.equal(direct.n, 0);
});

t.test('migration 5 fills in when each machine was last seen and counts the discovered ones', async (t) => {
  const file = join(t.testdir({}), 'v4.db');
  const db = new Database(file);
  migrate(
    db,
    MIGRATIONS.filter((m) => m.version <= 4),
  );
  const seen = {
    ...blankMachine('02:00:00:00:00:41', '2026-01-01T00:00:00.000Z'),
    state: 'discovered',
    lastSeen: { ip: '10.0.0.41', at: '2026-01-02T00:00:00.000Z' },
  };
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
