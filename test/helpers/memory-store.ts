/**
 * An in-memory `Store` for unit tests of core services that need a store but not SQL: no file, no
 * native module, no group commit (every write is done when its promise resolves, so `flushed()`
 * has nothing to wait for). It passes the store conformance suite (test/store/memory-conformance
 * .test.ts), so a test that uses it sees what a real store would do.
 *
 *   const store = new MemoryStore();
 *   const timeline = new Timeline(store, clock);
 *
 * Documents are copied in and out (structuredClone): what a caller does to an object it wrote or
 * read never changes the stored one. `another()` is a second instance over the same data, as a
 * second metalboot on a shared database would be.
 */
import { ConflictError } from '../../src/core/errors.js';
import type { LeaseRepo } from '../../src/core/ports/leases.js';
import type { ProgressRepo, TalosEventRepo, UnattributedEvent } from '../../src/core/ports/talos.js';
import type {
  AuditRepo,
  ClusterRepo,
  EventRepo,
  MachineFilter,
  MachineRepo,
  RetentionBatch,
  Store,
  TokenRepo,
  BmcRepo,
  StoredBmc,
} from '../../src/core/ports/types.js';
import { memoryLeaseRepo, type LeaseRow } from './memory-leases.js';

type Machine = NonNullable<Awaited<ReturnType<MachineRepo['get']>>>;
type Cluster = NonNullable<Awaited<ReturnType<ClusterRepo['get']>>>;
type MachineEvent = Awaited<ReturnType<EventRepo['append']>>;
type AuditEntry = Awaited<ReturnType<AuditRepo['append']>>;
type ConfigToken = Parameters<TokenRepo['issue']>[0];
type MachineProgress = Parameters<ProgressRepo['put']>[0];

/** The unattributed-event table is a diagnostic: the newest this many are kept (as in SQLite). */
const MAX_UNATTRIBUTED = 10_000;

const copy = <T>(value: T): T => structuredClone(value);

/** Everything a MemoryStore holds; several stores over one MemoryData share it. */
export class MemoryData {
  readonly clusters = new Map<string, Cluster>();
  readonly machines = new Map<string, { doc: Machine; token: ConfigToken | null }>();
  /** Oldest first (ids only grow, so also in id order). */
  events: MachineEvent[] = [];
  nextEventId = 1;
  audit: AuditEntry[] = [];
  nextAuditId = 1;
  readonly leases = new Map<number, LeaseRow>();
  /** Talos event ids per machine, oldest first. */
  readonly seen = new Map<string, string[]>();
  unattributed: UnattributedEvent[] = [];
  nextUnattributedId = 1;
  readonly progress = new Map<string, MachineProgress>();
  readonly bmc = new Map<string, StoredBmc>();
}

export class MemoryStore implements Store {
  readonly clusters: ClusterRepo;
  readonly machines: MachineRepo;
  readonly events: EventRepo;
  readonly audit: AuditRepo;
  readonly tokens: TokenRepo;
  readonly bmc: BmcRepo;
  readonly leases: LeaseRepo;
  readonly talosEvents: TalosEventRepo;
  readonly progress: ProgressRepo;

  constructor(readonly data = new MemoryData()) {
    this.clusters = clusterRepo(data);
    this.machines = machineRepo(data);
    this.events = eventRepo(data);
    this.audit = auditRepo(data);
    this.tokens = tokenRepo(data);
    this.bmc = bmcRepo(data);
    this.leases = memoryLeaseRepo(data.leases);
    this.talosEvents = talosEventRepo(data);
    this.progress = progressRepo(data);
  }

  /** A second instance over the same data (its own lease cursors, as a second process has). */
  another(): MemoryStore {
    return new MemoryStore(this.data);
  }

  async flushed(): Promise<void> {}

  async close(): Promise<void> {}
}

function clusterRepo(data: MemoryData): ClusterRepo {
  const sorted = () => [...data.clusters.values()].sort((a, b) => cmp(a.name, b.name));
  return {
    async get(name) {
      const c = data.clusters.get(name);
      return c && copy(c);
    },
    async list() {
      return sorted().map(copy);
    },
    async page({ after = '', limit }) {
      return sorted()
        .filter((c) => c.name > after)
        .slice(0, limit)
        .map(copy);
    },
    async insert(c) {
      if (data.clusters.has(c.name)) throw new ConflictError(`cluster "${c.name}" already exists`);
      data.clusters.set(c.name, copy(c));
    },
    async update(c) {
      if (!data.clusters.has(c.name)) return false;
      data.clusters.set(c.name, copy(c));
      return true;
    },
    async delete(name) {
      return data.clusters.delete(name);
    },
    async machineCount(name) {
      return [...data.machines.values()].filter((r) => r.doc.cluster === name).length;
    },
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** When a machine was last seen: its last boot, else its creation. */
const seenAt = (m: Machine) => m.lastSeen.at ?? m.createdAt;
const isDiscovered = (m: Machine) => m.state === 'discovered';

function matches(m: Machine, f: MachineFilter): boolean {
  const states = f.states ?? (f.state ? [f.state] : undefined);
  return (
    (!states || states.includes(m.state)) &&
    (!f.cluster || m.cluster === f.cluster) &&
    (!f.label || m.labels[f.label.key] === f.label.value) &&
    (f.registered === undefined || !isDiscovered(m) === f.registered)
  );
}

function machineRepo(data: MemoryData): MachineRepo {
  const docs = () => [...data.machines.values()].map((r) => r.doc);
  const sorted = () => docs().sort((a, b) => cmp(a.mac, b.mac));
  /** Discovered machines, least recently seen first. */
  const discoveredByAge = () =>
    docs()
      .filter(isDiscovered)
      .sort((a, b) => cmp(seenAt(a), seenAt(b)) || cmp(a.mac, b.mac));
  const remove = (ms: Machine[]) => {
    for (const m of ms) data.machines.delete(m.mac);
    return ms.length;
  };
  return {
    async get(mac) {
      const r = data.machines.get(mac);
      return r && copy(r.doc);
    },
    async findByUuid(uuid) {
      const found = docs().filter((m) => m.uuid === uuid && !isDiscovered(m));
      return found.length === 1 ? copy(found[0]!) : undefined;
    },
    async findByIp(ip) {
      const reserved = sorted().find((m) => m.ip === ip);
      if (reserved) return copy(reserved);
      const seen = docs()
        .filter((m) => m.lastSeen.ip === ip)
        .sort((a, b) => cmp(b.lastSeen.at ?? '', a.lastSeen.at ?? '') || cmp(a.mac, b.mac));
      return seen[0] && copy(seen[0]);
    },
    async list(filter = {}) {
      return sorted()
        .filter((m) => matches(m, filter))
        .map(copy);
    },
    async page(filter, { after = '', limit }) {
      return sorted()
        .filter((m) => m.mac > after && matches(m, filter))
        .slice(0, limit)
        .map(copy);
    },
    async countByState() {
      const counts = new Map<Machine['state'], number>();
      for (const m of docs()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
      return counts;
    },
    async countDiscovered() {
      return docs().filter(isDiscovered).length;
    },
    async trimDiscovered(keep, max) {
      const all = discoveredByAge();
      const excess = Math.min(max, all.length - keep);
      return excess > 0 ? remove(all.slice(0, excess)) : 0;
    },
    async expireDiscovered(seenBefore, max) {
      return max > 0
        ? remove(
            discoveredByAge()
              .filter((m) => seenAt(m) < seenBefore)
              .slice(0, max),
          )
        : 0;
    },
    async reservationOwner(ip) {
      return sorted().find((m) => m.ip === ip)?.mac;
    },
    async hostnameOwner(cluster, hostname, except) {
      return sorted().find((m) => m.cluster === cluster && m.hostname === hostname && m.mac !== except)?.mac;
    },
    async insert(m) {
      if (data.machines.has(m.mac)) throw new ConflictError(`machine ${m.mac} is already registered`);
      data.machines.set(m.mac, { doc: copy(m), token: null });
    },
    async update(m) {
      const r = data.machines.get(m.mac);
      if (!r) return false;
      // The state only moves through the timeline (events.append).
      r.doc = { ...copy(m), state: r.doc.state, stateChangedAt: r.doc.stateChangedAt };
      return true;
    },
    async noteSeen(m) {
      const r = data.machines.get(m.mac);
      if (!r) return false;
      r.doc = { ...r.doc, lastSeen: copy(m.lastSeen), uuid: r.doc.uuid ?? m.uuid, serial: r.doc.serial ?? m.serial };
      return true;
    },
    async delete(mac) {
      data.bmc.delete(mac); // goes with its machine
      return data.machines.delete(mac);
    },
  };
}

/**
 * One retention batch over a log kept oldest first: among the oldest `max` rows, those recorded
 * before `before` or beyond the newest `keepRows` go. Returns the rows kept.
 */
function pruned<T extends { at: string }>(rows: T[], opts: RetentionBatch): T[] {
  if (opts.max <= 0 || (opts.before === undefined && opts.keepRows === undefined)) return rows;
  const beyond = opts.keepRows === undefined ? 0 : rows.length - opts.keepRows;
  const goes = (row: T, i: number) =>
    i < opts.max && ((opts.before !== undefined && row.at < opts.before) || i < beyond);
  return rows.filter((row, i) => !goes(row, i));
}

function eventRepo(data: MemoryData): EventRepo {
  return {
    async append(e) {
      const event = { id: data.nextEventId++, ...copy(e) };
      data.events.push(event);
      const r = data.machines.get(e.mac);
      if (e.state && r && r.doc.state !== e.state) r.doc = { ...r.doc, state: e.state, stateChangedAt: e.at };
      return copy(event);
    },
    async repeat(id, at) {
      const e = data.events.find((x) => x.id === id);
      if (!e) return false;
      e.repeats = (e.repeats ?? 1) + 1;
      e.lastAt = at;
      return true;
    },
    async list(mac, { afterId = 0, limit = 10_000 } = {}) {
      return data.events
        .filter((e) => e.mac === mac && e.id > afterId)
        .slice(0, limit)
        .map(copy);
    },
    async prune(opts) {
      const before = data.events.length;
      data.events = pruned(data.events, opts);
      return before - data.events.length;
    },
    async since(afterId, limit) {
      return data.events
        .filter((e) => e.id > afterId)
        .slice(0, limit)
        .map(copy);
    },
    async tail(mac, limit) {
      const mine = data.events.filter((e) => e.mac === mac);
      return (limit > 0 ? mine.slice(-limit) : []).map(copy);
    },
    async latest(macs) {
      const asked = new Set(macs);
      const latest = new Map<string, { id: number; kind: string; at: string }>();
      for (const e of data.events)
        if (asked.has(e.mac)) latest.set(e.mac, { id: e.id, kind: e.kind, at: e.lastAt ?? e.at });
      return latest;
    },
  };
}

function auditRepo(data: MemoryData): AuditRepo {
  return {
    async append(a) {
      const entry = { id: data.nextAuditId++, ...copy(a) };
      data.audit.push(entry);
      return copy(entry);
    },
    async setDetail(id, detail) {
      const i = data.audit.findIndex((a) => a.id === id);
      if (i >= 0) data.audit[i] = { ...data.audit[i]!, detail: copy(detail) };
    },
    async list({ target, beforeId = Number.MAX_SAFE_INTEGER, limit = 1000 } = {}) {
      return data.audit
        .filter((a) => a.id < beforeId && (!target || a.target === target))
        .reverse()
        .slice(0, limit)
        .map(copy);
    },
    async prune(opts) {
      const before = data.audit.length;
      data.audit = pruned(data.audit, opts);
      return before - data.audit.length;
    },
  };
}

function tokenRepo(data: MemoryData): TokenRepo {
  return {
    async issue(t) {
      const r = data.machines.get(t.mac);
      if (r) r.token = copy(t);
    },
    async forMachine(mac) {
      const token = data.machines.get(mac)?.token;
      return token ? copy(token) : undefined;
    },
    async revokeForMachine(mac) {
      const r = data.machines.get(mac);
      if (r) r.token = null;
    },
  };
}

function talosEventRepo(data: MemoryData): TalosEventRepo {
  return {
    async markSeen(mac, eventId, keep = 5000) {
      const ids = data.seen.get(mac) ?? [];
      if (ids.includes(eventId)) return false;
      ids.push(eventId);
      if (ids.length > keep) ids.splice(0, ids.length - keep);
      data.seen.set(mac, ids);
      return true;
    },
    async forget(mac, eventId) {
      const ids = data.seen.get(mac);
      const i = ids?.indexOf(eventId) ?? -1;
      if (i >= 0) ids!.splice(i, 1);
    },
    async recordUnattributed(e) {
      if (data.unattributed.some((u) => u.peerIp === e.peerIp && u.eventId === e.eventId)) return false;
      data.unattributed.push({ id: data.nextUnattributedId++, ...copy(e), claimedBy: null });
      if (data.unattributed.length > MAX_UNATTRIBUTED) data.unattributed = data.unattributed.slice(-MAX_UNATTRIBUTED);
      return true;
    },
    async listUnattributed({ peerIp, unclaimedOnly, afterId, limit = 1000 } = {}) {
      return data.unattributed
        .filter(
          (u) =>
            (peerIp === undefined || u.peerIp === peerIp) &&
            (!unclaimedOnly || u.claimedBy === null) &&
            (afterId === undefined || u.id > afterId),
        )
        .slice(0, limit)
        .map(copy);
    },
    async claimUnattributed(ids, mac) {
      const claimed = new Set(ids);
      data.unattributed = data.unattributed.map((u) => (claimed.has(u.id) ? { ...u, claimedBy: mac } : u));
    },
    async countUnattributed({ unclaimedOnly } = {}) {
      return data.unattributed.filter((u) => !unclaimedOnly || u.claimedBy === null).length;
    },
  };
}

function progressRepo(data: MemoryData): ProgressRepo {
  return {
    async get(mac) {
      const p = data.progress.get(mac);
      return p && copy(p);
    },
    async put(p) {
      data.progress.set(p.mac, copy(p));
    },
  };
}

function bmcRepo(data: MemoryData): BmcRepo {
  return {
    async get(mac) {
      const b = data.bmc.get(mac);
      return b ? copy(b) : undefined;
    },
    async put(mac, bmc) {
      if (!data.machines.has(mac)) return false;
      data.bmc.set(mac, copy(bmc));
      return true;
    },
    async delete(mac) {
      return data.bmc.delete(mac);
    },
  };
}
