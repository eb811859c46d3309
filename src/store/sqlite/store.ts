import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConflictError } from '../../core/errors.js';
import type { AuditEntry, Cluster, ConfigToken, Machine, MachineEvent } from '../../core/types.js';
import type {
  AuditRepo,
  ClusterRepo,
  EventRepo,
  MachineFilter,
  MachineRepo,
  NewMachineEvent,
  Store,
  TokenRepo,
  WalStats,
} from '../../core/store/types.js';
import type { LeaseRepo } from '../../core/store/leases.js';
import type { ProgressRepo, TalosEventRepo } from '../../core/store/talos.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { GroupCommit, type SqlDb } from './group-commit.js';
import { sqliteLeaseRepo } from './leases.js';
import { migrate } from './migrations.js';
import { retentionPruner } from './retention.js';
import { sqliteProgressRepo, sqliteTalosEventRepo } from './talos.js';
import { checkWalMaxBytes, DEFAULT_WAL_MAX_BYTES, WalBound } from './wal-bound.js';

export interface SqliteStoreOptions {
  /** See the constructor. Off, the WAL bound is not enforced either (it runs after group commits). */
  groupCommit?: boolean;
  /** The bound the WAL file is kept under (`--wal-max-mb`; wal-bound.ts). Default 64 MiB. */
  walMaxBytes?: number;
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every
 * method is atomic by construction; the async signatures are for the Store interface's sake.
 * Statements are prepared once: the boot path must not grow with the registry.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly clusters: ClusterRepo;
  readonly machines: MachineRepo;
  readonly events: EventRepo;
  readonly audit: AuditRepo;
  readonly tokens: TokenRepo;
  readonly leases: LeaseRepo;
  readonly talosEvents: TalosEventRepo;
  readonly progress: ProgressRepo;
  private readonly checkpointer: BackgroundCheckpointer | null;
  private readonly walBound: WalBound | null;
  readonly groupCommit: GroupCommit;

  /**
   * `groupCommit` (default on): commit each turn of the event loop's writes together (see
   * group-commit.ts). Off, every write commits by itself — for two stores on one file in one
   * thread (tests of multi-instance behaviour), which could not wait for each other's open batch.
   */
  constructor(file: string, opts: SqliteStoreOptions = {}) {
    const walMaxBytes = checkWalMaxBytes(opts.walMaxBytes ?? DEFAULT_WAL_MAX_BYTES); // before anything is opened
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL'); // durable across process crashes, WAL-safe on power loss
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // A boot touches rows all over the registry (each machine's row, its timeline index entries):
    // a page cache of 64 MiB and reads through mmap instead of a pread(2) per page measured
    // 1.08× boot requests per second with 10,000 machines (SQLite's default cache is 2 MiB).
    this.db.pragma('cache_size = -65536');
    this.db.pragma('mmap_size = 268435456');
    migrate(this.db);
    this.walBound = file === ':memory:' ? null : new WalBound(this.db, file, walMaxBytes);
    // The worker starts early enough to do most of the copying before the bound's restart has to.
    this.checkpointer = file === ':memory:' ? null : new BackgroundCheckpointer(this.db, file, 1000, Math.min(4 * 1024 * 1024, walMaxBytes / 4));
    this.groupCommit = new GroupCommit(this.db);
    if (this.walBound) this.groupCommit.onCommit(() => this.walBound!.afterCommit());
    const db: SqlDb = opts.groupCommit === false ? this.db : this.groupCommit.view();
    this.clusters = clusterRepo(db, (fn) => this.groupCommit.onRollback(fn));
    this.machines = machineRepo(db);
    this.events = eventRepo(db);
    this.audit = auditRepo(db);
    this.tokens = tokenRepo(db);
    this.leases = sqliteLeaseRepo(db);
    this.talosEvents = sqliteTalosEventRepo(db);
    this.progress = sqliteProgressRepo(db);
  }

  flushed(): Promise<void> {
    return this.groupCommit.flushed();
  }

  /** The WAL's bound and what was written to it (metrics, the hostile bench); undefined in memory. */
  walStats(): WalStats | undefined {
    return this.walBound?.stats();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.groupCommit.commit();
    await this.checkpointer?.stop();
    this.walBound?.close();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function clusterRepo(db: SqlDb, onRollback: (fn: () => void) => void): ClusterRepo {
  const get = db.prepare<[string], { doc: string }>('SELECT doc FROM clusters WHERE name = ?');
  const list = db.prepare<[], { doc: string }>('SELECT doc FROM clusters ORDER BY name');
  const page = db.prepare<[string, number], { doc: string }>('SELECT doc FROM clusters WHERE name > ? ORDER BY name LIMIT ?');
  const insert = db.prepare('INSERT INTO clusters (name, doc) VALUES (?, ?)');
  const update = db.prepare('UPDATE clusters SET doc = ? WHERE name = ?');
  const del = db.prepare('DELETE FROM clusters WHERE name = ?');
  const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM machines WHERE cluster = ?');
  // Every boot request reads its cluster (two ~30 KiB configs): parsed clusters are kept until
  // this connection changes one, or `data_version` says another connection (another instance on
  // a shared file, the CLI) committed anything; a rolled-back batch forgets them too.
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  const parsed = new Map<string, Cluster>();
  let seenVersion = -1;
  onRollback(() => parsed.clear());
  return {
    async get(name) {
      const version = dataVersion.get();
      if (version !== seenVersion) {
        parsed.clear();
        seenVersion = version!;
      }
      const hit = parsed.get(name);
      if (hit) return hit;
      const row = get.get(name);
      if (!row) return undefined;
      const cluster = JSON.parse(row.doc) as Cluster;
      parsed.set(name, cluster);
      return cluster;
    },
    async list() {
      return list.all().map((r) => JSON.parse(r.doc) as Cluster);
    },
    async page(p) {
      return page.all(p.after ?? '', p.limit).map((r) => JSON.parse(r.doc) as Cluster);
    },
    async insert(c) {
      try {
        insert.run(c.name, JSON.stringify(c));
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`cluster "${c.name}" already exists`);
        throw err;
      }
    },
    async update(c) {
      parsed.delete(c.name);
      return update.run(JSON.stringify(c), c.name).changes > 0;
    },
    async delete(name) {
      parsed.delete(name);
      return del.run(name).changes > 0;
    },
    async machineCount(name) {
      return count.get(name)?.n ?? 0;
    },
  };
}

function machineRepo(db: SqlDb): MachineRepo {
  type Row = { doc: string };
  const parse = (row: Row | undefined) => (row ? (JSON.parse(row.doc) as Machine) : undefined);
  const get = db.prepare<[string], Row>('SELECT doc FROM machines WHERE mac = ?');
  // Registered machines only: a discovered NIC of the same machine carries its UUID too. Two rows
  // are enough to know the UUID is not unique.
  const byUuid = db.prepare<[string], Row>("SELECT doc FROM machines WHERE uuid = ? AND state != 'discovered' LIMIT 2");
  // A reservation wins over an address the machine merely booted from.
  const byIp = db.prepare<[{ ip: string }], Row>(
    `SELECT doc FROM machines WHERE ip = @ip OR seen_ip = @ip
     ORDER BY (ip IS NOT NULL AND ip = @ip) DESC, json_extract(doc, '$.lastSeen.at') DESC LIMIT 1`,
  );
  const all = db.prepare<[], Row>('SELECT doc FROM machines ORDER BY mac');
  const inStates = db.prepare<[string], Row>('SELECT doc FROM machines WHERE state IN (SELECT value FROM json_each(?)) ORDER BY mac');
  // Filters in SQL, so a page is `limit` matching rows whatever the registry holds. A label key may
  // hold dots and slashes (topology.kubernetes.io/zone): matched as a key of json_each, not a path.
  const page = db.prepare<[{ after: string; states: string | null; registered: number | null; cluster: string | null; lk: string | null; lv: string | null; limit: number }], Row>(
    `SELECT doc FROM machines WHERE mac > @after
       AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
       AND (@registered IS NULL OR (state != 'discovered') = @registered)
       AND (@cluster IS NULL OR cluster = @cluster)
       AND (@lk IS NULL OR EXISTS (SELECT 1 FROM json_each(doc, '$.labels') WHERE key = @lk AND value = @lv))
     ORDER BY mac LIMIT @limit`,
  );
  const byState = db.prepare<[], { state: Machine['state']; n: number }>('SELECT state, count(*) AS n FROM machines GROUP BY state');
  const countDiscovered = db.prepare<[], number>('SELECT n FROM discovered_count').pluck(); // kept by triggers
  // machines_discovered_seen (a partial index) orders them; the mac breaks ties the same way every time.
  const trimDiscovered = db.prepare<[number]>(
    `DELETE FROM machines WHERE mac IN (
       SELECT mac FROM machines WHERE state = 'discovered' ORDER BY seen_at, mac LIMIT ?) AND state = 'discovered'`,
  );
  const expireDiscovered = db.prepare<[string, number]>(
    `DELETE FROM machines WHERE mac IN (
       SELECT mac FROM machines WHERE state = 'discovered' AND seen_at < ? ORDER BY seen_at, mac LIMIT ?)`,
  );
  const owner = db.prepare<[string], { mac: string }>('SELECT mac FROM machines WHERE ip = ? LIMIT 1');
  const insert = db.prepare(
    'INSERT INTO machines (mac, uuid, cluster, state, ip, seen_ip, seen_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // State only moves through the timeline (events.append): an update written from a copy read
  // earlier must not roll back a state change that happened in between.
  const update = db.prepare(
    `UPDATE machines SET uuid = ?, cluster = ?, ip = ?, seen_ip = ?, seen_at = ?,
       doc = json_set(?, '$.state', state, '$.stateChangedAt', json_extract(doc, '$.stateChangedAt'))
     WHERE mac = ?`,
  );
  // What a boot request saw, written into the document by SQLite: the rest of the document (an
  // operator's edit in between included) stays as it is, and nothing is re-serialised in JS.
  // An SMBIOS UUID or serial is only filled in, never replaced.
  const noteSeen = db.prepare(
    `UPDATE machines SET seen_at = @at,
       doc = json_set(doc, '$.lastSeen', json(@lastSeen),
         '$.uuid', COALESCE(json_extract(doc, '$.uuid'), @uuid),
         '$.serial', COALESCE(json_extract(doc, '$.serial'), @serial))
     WHERE mac = @mac`,
  );
  // The indexed columns apart, and only when they change: SQLite rewrites the index entries of
  // every column an UPDATE sets, changed or not — two index pages more in the WAL per /ipxe.
  const noteSeenColumns = db.prepare(
    `UPDATE machines SET seen_ip = @ip, uuid = COALESCE(uuid, @uuid)
     WHERE mac = @mac AND (seen_ip IS NOT @ip OR (uuid IS NULL AND @uuid IS NOT NULL))`,
  );
  const del = db.prepare('DELETE FROM machines WHERE mac = ?');
  const seenIp = (m: Machine) => m.lastSeen.ip ?? null;
  const seenAt = (m: Machine) => m.lastSeen.at ?? m.createdAt;
  return {
    async get(mac) {
      return parse(get.get(mac));
    },
    async findByUuid(uuid) {
      const rows = byUuid.all(uuid);
      return rows.length === 1 ? parse(rows[0]) : undefined;
    },
    async findByIp(ip) {
      return parse(byIp.get({ ip }));
    },
    async list(filter: MachineFilter = {}) {
      const states = filter.states ?? (filter.state ? [filter.state] : undefined);
      return (states ? inStates.all(JSON.stringify(states)) : all.all())
        .map((r) => JSON.parse(r.doc) as Machine)
        .filter(
          (m) =>
            // the state is filtered by the query (its own column, indexed)
            (!filter.cluster || m.cluster === filter.cluster) &&
            (!filter.label || m.labels[filter.label.key] === filter.label.value),
        );
    },
    async page(filter, p) {
      const states = filter.states ?? (filter.state ? [filter.state] : undefined);
      return page
        .all({
          after: p.after ?? '',
          states: states ? JSON.stringify(states) : null,
          registered: filter.registered === undefined ? null : Number(filter.registered),
          cluster: filter.cluster ?? null,
          lk: filter.label?.key ?? null,
          lv: filter.label?.value ?? null,
          limit: p.limit,
        })
        .map((r) => JSON.parse(r.doc) as Machine);
    },
    async countByState() {
      return new Map(byState.all().map((r) => [r.state, r.n]));
    },
    async countDiscovered() {
      return countDiscovered.get() ?? 0;
    },
    async trimDiscovered(keep, max) {
      const excess = Math.min(max, (countDiscovered.get() ?? 0) - keep);
      return excess > 0 ? trimDiscovered.run(excess).changes : 0;
    },
    async expireDiscovered(seenBefore, max) {
      return expireDiscovered.run(seenBefore, max).changes;
    },
    async reservationOwner(ip) {
      return owner.get(ip)?.mac;
    },
    async insert(m) {
      try {
        insert.run(m.mac, m.uuid, m.cluster, m.state, m.ip, seenIp(m), seenAt(m), JSON.stringify(m));
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`machine ${m.mac} is already registered`);
        throw err;
      }
    },
    async update(m) {
      return update.run(m.uuid, m.cluster, m.ip, seenIp(m), seenAt(m), JSON.stringify(m), m.mac).changes > 0;
    },
    async noteSeen(m) {
      const args = { mac: m.mac, ip: seenIp(m), at: seenAt(m), uuid: m.uuid, serial: m.serial, lastSeen: JSON.stringify(m.lastSeen) };
      if (noteSeen.run(args).changes === 0) return false;
      noteSeenColumns.run({ mac: args.mac, ip: args.ip, uuid: args.uuid });
      return true;
    },
    async delete(mac) {
      return del.run(mac).changes > 0;
    },
  };
}

function eventRepo(db: SqlDb): EventRepo {
  type Row = { id: number; mac: string; at: string; kind: string; detail: string; source_ip: string | null; state: string | null; repeats: number; last_at: string | null };
  const repeat = db.prepare<[string, number]>('UPDATE machine_events SET repeats = repeats + 1, last_at = ? WHERE id = ?');
  const insert = db.prepare(
    'INSERT INTO machine_events (mac, at, kind, detail, source_ip, state) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // The state lives in its column and in the document; the document is edited in place by SQLite
  // (no parse and re-serialise in JS), and only when the state really changes.
  const setState = db.prepare(
    `UPDATE machines SET state = @state, doc = json_set(doc, '$.state', @state, '$.stateChangedAt', @at)
     WHERE mac = @mac AND state IS NOT @state`,
  );
  const list = db.prepare<[string, number, number], Row>(
    'SELECT * FROM machine_events WHERE mac = ? AND id > ? ORDER BY id LIMIT ?',
  );
  const since = db.prepare<[number, number], Row>('SELECT * FROM machine_events WHERE id > ? ORDER BY id LIMIT ?');
  const tail = db.prepare<[string, number], Row>('SELECT * FROM (SELECT * FROM machine_events WHERE mac = ? ORDER BY id DESC LIMIT ?) ORDER BY id');
  // One index seek per asked MAC (machine_events_mac): the whole-table GROUP BY mac would scan
  // every event ever recorded, and the timeline outlives deleted machines.
  const latest = db.prepare<[string], { mac: string; id: number; kind: string; at: string }>(
    'SELECT e.mac, e.id, e.kind, COALESCE(e.last_at, e.at) AS at FROM json_each(?) j JOIN machine_events e ON e.id = (SELECT max(id) FROM machine_events WHERE mac = j.value)',
  );
  const toEvent = (r: Row): MachineEvent => ({
    id: r.id,
    mac: r.mac,
    at: r.at,
    kind: r.kind,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    sourceIp: r.source_ip,
    state: r.state as MachineEvent['state'],
    // Only a coalesced event carries its count: most events happen once.
    ...(r.repeats > 1 ? { repeats: r.repeats, lastAt: r.last_at ?? r.at } : {}),
  });
  const append = db.transaction((e: NewMachineEvent): MachineEvent => {
    const id = Number(
      insert.run(e.mac, e.at, e.kind, JSON.stringify(e.detail), e.sourceIp, e.state).lastInsertRowid,
    );
    if (e.state) setState.run({ state: e.state, at: e.at, mac: e.mac });
    return { id, ...e };
  });
  const prune = retentionPruner(db, 'machine_events');
  return {
    async append(e) {
      return append(e);
    },
    async repeat(id, at) {
      return repeat.run(at, id).changes > 0;
    },
    async prune(opts) {
      return prune(opts);
    },
    async list(mac, opts = {}) {
      return list.all(mac, opts.afterId ?? 0, opts.limit ?? 10_000).map(toEvent);
    },
    async since(afterId, limit) {
      return since.all(afterId, limit).map(toEvent);
    },
    async tail(mac, limit) {
      return tail.all(mac, limit).map(toEvent);
    },
    async latest(macs) {
      if (macs.length === 0) return new Map();
      return new Map(latest.all(JSON.stringify(macs)).map((r) => [r.mac, { id: r.id, kind: r.kind, at: r.at }]));
    },
  };
}

function auditRepo(db: SqlDb): AuditRepo {
  type Row = { id: number; at: string; actor: string; action: string; target: string | null; detail: string; source_ip: string | null };
  const insert = db.prepare(
    'INSERT INTO audit_log (at, actor, action, target, detail, source_ip) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const setDetail = db.prepare('UPDATE audit_log SET detail = ? WHERE id = ?');
  const listAll = db.prepare<[number, number], Row>('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?');
  const listTarget = db.prepare<[string, number, number], Row>(
    'SELECT * FROM audit_log WHERE target = ? AND id < ? ORDER BY id DESC LIMIT ?',
  );
  const prune = retentionPruner(db, 'audit_log');
  const toEntry = (r: Row): AuditEntry => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    sourceIp: r.source_ip,
  });
  return {
    async append(a) {
      const info = insert.run(a.at, a.actor, a.action, a.target, JSON.stringify(a.detail), a.sourceIp);
      return { id: Number(info.lastInsertRowid), ...a };
    },
    async setDetail(id, detail) {
      setDetail.run(JSON.stringify(detail), id);
    },
    async list(opts = {}) {
      const limit = opts.limit ?? 1000;
      const before = opts.beforeId ?? Number.MAX_SAFE_INTEGER;
      const rows = opts.target ? listTarget.all(opts.target, before, limit) : listAll.all(before, limit);
      return rows.map(toEntry);
    },
    async prune(opts) {
      return prune(opts);
    },
  };
}

function tokenRepo(db: SqlDb): TokenRepo {
  type Row = { token_hash: string | null; token_ip: string | null; token_created_at: string | null; token_expires_at: string | null };
  const revoke = db.prepare(
    'UPDATE machines SET token_hash = NULL, token_ip = NULL, token_created_at = NULL, token_expires_at = NULL WHERE mac = ? AND token_hash IS NOT NULL',
  );
  const issue = db.prepare('UPDATE machines SET token_hash = ?, token_ip = ?, token_created_at = ?, token_expires_at = ? WHERE mac = ?');
  const get = db.prepare<[string], Row>('SELECT token_hash, token_ip, token_created_at, token_expires_at FROM machines WHERE mac = ?');
  return {
    async issue(t) {
      issue.run(t.tokenHash, t.sourceIp, t.createdAt, t.expiresAt, t.mac);
    },
    async forMachine(mac) {
      const r = get.get(mac);
      return r?.token_hash
        ? { tokenHash: r.token_hash, mac, sourceIp: r.token_ip!, createdAt: r.token_created_at!, expiresAt: r.token_expires_at! }
        : undefined;
    },
    async revokeForMachine(mac) {
      revoke.run(mac);
    },
  };
}
