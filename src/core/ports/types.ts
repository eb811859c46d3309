import type { AuditEntry, Cluster, ConfigToken, Machine, MachineEvent, MachineState } from '../types.js';
import type { LeaseRepo } from './leases.js';
import type { ProgressRepo, TalosEventRepo } from './talos.js';
import type { TimelineFeed } from './timeline-feed.js';

/**
 * The persistence boundary. Every method is one atomic operation and returns a Promise, so an
 * implementation over a shared SQL server (several metalboot instances behind DHCP relays) can
 * replace the embedded SQLite one without touching the core.
 */
export interface Store {
  clusters: ClusterRepo;
  machines: MachineRepo;
  events: EventRepo;
  audit: AuditRepo;
  tokens: TokenRepo;
  leases: LeaseRepo;
  talosEvents: TalosEventRepo;
  progress: ProgressRepo;
  /** Each machine's BMC (out-of-band power), its password sealed. */
  bmc: BmcRepo;
  /**
   * Resolves once every write made so far is durable. A store may batch writes (SQLite commits a
   * turn of the event loop at once), so whoever tells a client that something happened awaits this
   * first.
   */
  flushed(): Promise<void>;
  close(): Promise<void>;
  /** The write-ahead log's bound and what went through it, for a store that has one (metrics, bench). */
  walStats?(): WalStats | undefined;
  /**
   * Every instance's timeline events as they commit, for a store several instances share; absent
   * for a store one process owns (then every event is this process's own).
   */
  timelineFeed?: TimelineFeed;
  /**
   * Can the store be used right now (`/healthz`, `/readyz`)? Cheap and bounded in time: a store
   * behind a server asks it (at most about once a second, however often it is asked); a store
   * without this method is always ok.
   */
  health?(): Promise<StoreHealth>;
}

export interface StoreHealth {
  /** Which engine: `sqlite`, `postgres`. */
  kind: string;
  ok: boolean;
  /** Why not, when not ok (never a password). */
  error?: string;
}

export interface WalStats {
  /** The bound the WAL file is kept under. */
  maxBytes: number;
  /** WAL bytes written since the store opened (frames × frame size): what requests cost in WAL. */
  bytesWritten: number;
  /** Checkpoints that copied the whole WAL so the next commit starts it again from the beginning. */
  restarts: number;
  /** Restart checkpoints that could not finish (another checkpointer or an old reader); retried. */
  busy: number;
}

export interface ClusterRepo {
  get(name: string): Promise<Cluster | undefined>;
  list(): Promise<Cluster[]>;
  /** One page in name order, after `after` (keyset). */
  page(page: { after?: string; limit: number }): Promise<Cluster[]>;
  /** Fails with ConflictError when the name exists. */
  insert(cluster: Cluster): Promise<void>;
  /** Replaces the row; false when it does not exist. */
  update(cluster: Cluster): Promise<boolean>;
  delete(name: string): Promise<boolean>;
  /** How many machines reference the cluster (deleting a cluster in use is refused). */
  machineCount(name: string): Promise<number>;
}

export interface MachineFilter {
  state?: MachineState;
  /** Any of these states (an indexed lookup: the stall detector asks for the in-flight ones). */
  states?: readonly MachineState[];
  cluster?: string;
  label?: { key: string; value: string };
  /** true: only registered (accepted) machines; false: only discovered ones. */
  registered?: boolean;
}

export interface MachineRepo {
  get(mac: string): Promise<Machine | undefined>;
  /** The one registered (not discovered) machine with this SMBIOS UUID; none when no machine or several have it. */
  findByUuid(uuid: string): Promise<Machine | undefined>;
  /** The machine last seen at (or reserved for) an IP: how adapters that only know an address find a machine. */
  findByIp(ip: string): Promise<Machine | undefined>;
  list(filter?: MachineFilter): Promise<Machine[]>;
  /**
   * One page of the machines that match, in MAC order, after `after` (keyset: a MAC inserted
   * meanwhile lands on the page its MAC sorts into, and no machine is listed twice).
   */
  page(filter: MachineFilter, page: { after?: string; limit: number }): Promise<Machine[]>;
  /** How many machines are in each state (states without machines are absent): one indexed query, no documents read. */
  countByState(): Promise<Map<MachineState, number>>;
  /** How many machines are only discovered (booted unknown, not accepted). */
  countDiscovered(): Promise<number>;
  /**
   * Delete the least recently seen discovered machines beyond the newest `keep`, at most `max` of
   * them (one bounded write); returns how many went.
   */
  trimDiscovered(keep: number, max: number): Promise<number>;
  /** Delete up to `max` discovered machines last seen before `seenBefore` (ISO time); returns how many went. */
  expireDiscovered(seenBefore: string, max: number): Promise<number>;
  /** The MAC holding a reservation for this address, if any. */
  reservationOwner(ip: string): Promise<string | undefined>;
  /**
   * The MAC of a machine other than `except` in this cluster with this host name, if any: host
   * names are unique within a cluster (Kubernetes node names), not across clusters.
   */
  hostnameOwner(cluster: string, hostname: string, except: string): Promise<string | undefined>;
  /** Fails with ConflictError when the MAC exists. */
  insert(machine: Machine): Promise<void>;
  update(machine: Machine): Promise<boolean>;
  /** Writes only `lastSeen`, and `uuid`/`serial` where the stored machine has none (boot requests). */
  noteSeen(machine: Machine): Promise<boolean>;
  delete(mac: string): Promise<boolean>;
}

export type NewMachineEvent = Omit<MachineEvent, 'id' | 'repeats' | 'lastAt'>;

export interface EventRepo {
  /**
   * Append to the machine's timeline; its id is above every id handed out before (never reused,
   * not necessarily consecutive), and ids become visible to readers in that order, on every
   * instance of a shared store: a reader paging with `since` never skips an event.
   * When `event.state` is set, the machine's state and stateChangedAt move with it in the same
   * transaction.
   */
  append(event: NewMachineEvent): Promise<MachineEvent>;
  /**
   * Count one more occurrence of event `id` (an identical repeat coalesced into it): its `repeats`
   * grows by one and `lastAt` becomes `at`; nothing else of it changes. False when the event is
   * gone (retention took it) or, on a store several instances share, is no longer its machine's
   * newest (another instance appended one since), so the caller appends instead.
   */
  repeat(id: number, at: string): Promise<boolean>;
  list(mac: string, opts?: { afterId?: number; limit?: number }): Promise<MachineEvent[]>;
  /**
   * Retention: delete the oldest events, at most `max` (one bounded write), those recorded before
   * `before` (ISO time) and those beyond the newest `keepRows`. Returns how many went.
   */
  prune(opts: RetentionBatch): Promise<number>;
  /** Every machine's events after `afterId`, oldest first, at most `limit` (an SSE client catching up). */
  since(afterId: number, limit: number): Promise<MachineEvent[]>;
  /** The newest `limit` events, oldest first. */
  tail(mac: string, limit: number): Promise<MachineEvent[]>;
  /**
   * Each machine's newest event (machines without events are absent), in one query: for lists. Its
   * `at` is when it last happened (a coalesced event's `lastAt`).
   */
  latest(macs: readonly string[]): Promise<Map<string, LatestEvent>>;
}

export type LatestEvent = Pick<MachineEvent, 'id' | 'kind' | 'at'>;

export interface AuditRepo {
  append(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  /** Replace an entry's detail (a coalesced entry's count grows in place). */
  setDetail(id: number, detail: Record<string, unknown>): Promise<void>;
  /** Newest first; `beforeId` continues a page (keyset on the id). */
  list(opts?: { target?: string; beforeId?: number; limit?: number }): Promise<AuditEntry[]>;
  /** Retention, as EventRepo.prune. */
  prune(opts: RetentionBatch): Promise<number>;
}

/**
 * One batch of a retention run: rows older than `before` (ISO time; undefined: any age) or beyond the
 * newest `keepRows` (undefined: no limit) go, at most `max`. `keepRows` counts rows, not ids: ids may
 * have gaps (a shared store's sequence skips the ids of rolled-back inserts).
 */
export interface RetentionBatch {
  before?: string;
  keepRows?: number;
  max: number;
}

/** Config tokens: at most one per machine, so they are looked up by the machine the URL names. */
export interface TokenRepo {
  /** Replace the machine's token with this one: only the latest boot may fetch. No-op for an unknown machine. */
  issue(token: ConfigToken): Promise<void>;
  /** The machine's current token, if it has one (expired ones included: the caller says why it refuses). */
  forMachine(mac: string): Promise<ConfigToken | undefined>;
  revokeForMachine(mac: string): Promise<void>;
}

/** A machine's BMC as stored: the password only sealed (`SecretSealer`), never in the clear. */
export interface StoredBmc {
  driver: 'ipmi' | 'redfish';
  /** `host` or `host:port` (IPv6 in brackets). */
  address: string;
  username: string;
  /** Redfish: the ComputerSystem id when the service has several. */
  systemId: string | null;
  /** Redfish: accept a self-signed certificate (the operator asked for it). */
  insecureTls: boolean;
  /** Redfish: the PEM CA (or the BMC's own certificate) to trust for it; null: the system's CAs. */
  caCert?: string | null;
  passwordSealed: string;
  updatedAt: string;
}

/** At most one BMC per machine; it goes when the machine is deleted. */
export interface BmcRepo {
  get(mac: string): Promise<StoredBmc | undefined>;
  /** Set or replace it. False (nothing written) when the machine is not registered. */
  put(mac: string, bmc: StoredBmc): Promise<boolean>;
  /** False when there was none. */
  delete(mac: string): Promise<boolean>;
}
