import type {
  AuditRepo,
  BmcRepo,
  ClusterRepo,
  EventRepo,
  MachineRepo,
  Store,
  StoreHealth,
  TokenRepo,
} from '../../core/ports/types.js';
import type { LeaseRepo } from '../../core/ports/leases.js';
import type { ProgressRepo, TalosEventRepo } from '../../core/ports/talos.js';
import { pgAuditRepo } from './audit.js';
import { pgBmcRepo } from './bmc.js';
import { pgClusterRepo } from './clusters.js';
import { Db, type DbOptions } from './db.js';
import { type EventFeedOptions, PgEventFeed } from './event-feed.js';
import { failureReason } from './failure.js';
import { HealthProbe } from './health.js';
import { pgEventRepo } from './events.js';
import { pgLeaseRepo } from './leases.js';
import { pgMachineRepo } from './machines.js';
import { migratePostgres } from './migrations.js';
import { pgProgressRepo, pgTalosEventRepo } from './talos.js';
import { pgTokenRepo } from './tokens.js';

/** Where a URL points, without its password: for messages and logs. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'an unparsable URL';
  }
}

/**
 * The shared store: PostgreSQL through a `pg` Pool, for one metalboot or several on one database.
 * Every repository method is one statement or one transaction, committed before its Promise
 * resolves; `flushed()` waits for those still in flight. Open with `PostgresStore.open(url)`.
 */
export class PostgresStore implements Store {
  readonly clusters: ClusterRepo;
  readonly machines: MachineRepo;
  readonly events: EventRepo;
  readonly audit: AuditRepo;
  readonly tokens: TokenRepo;
  readonly bmc: BmcRepo;
  readonly leases: LeaseRepo;
  readonly talosEvents: TalosEventRepo;
  readonly progress: ProgressRepo;
  /** Every instance's new timeline events, from a LISTEN connection of its own. */
  readonly timelineFeed: PgEventFeed;
  private readonly probe: HealthProbe;

  private constructor(
    readonly db: Db,
    url: string,
    feed: EventFeedOptions,
  ) {
    this.probe = new HealthProbe(db);
    this.clusters = pgClusterRepo(db);
    this.machines = pgMachineRepo(db);
    this.events = pgEventRepo(db);
    this.audit = pgAuditRepo(db);
    this.tokens = pgTokenRepo(db);
    this.bmc = pgBmcRepo(db);
    this.leases = pgLeaseRepo(db);
    this.talosEvents = pgTalosEventRepo(db);
    this.progress = pgProgressRepo(db);
    this.timelineFeed = new PgEventFeed(url, db, this.events, feed);
  }

  /**
   * Connect, check the server answers, and bring the schema up to date (under an advisory lock:
   * instances starting together take turns). Fails with a message naming the server (never the
   * password) when it cannot be reached or the schema cannot be migrated; nothing is left open then.
   */
  static async open(url: string, opts: DbOptions & { feed?: EventFeedOptions } = {}): Promise<PostgresStore> {
    const db = new Db(url, opts);
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await db.close().catch(() => undefined);
      throw new Error(`cannot connect to PostgreSQL at ${describePostgresUrl(url)}: ${failureReason(err)}`);
    }
    try {
      await migratePostgres(db.pool);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw new Error(`cannot prepare the PostgreSQL database at ${describePostgresUrl(url)}: ${failureReason(err)}`);
    }
    const store = new PostgresStore(db, url, opts.feed ?? {});
    // Listening before the server says it is ready, so its event stream is live from the start;
    // should LISTEN fail now, the feed keeps trying on its own.
    await store.timelineFeed.start();
    return store;
  }

  /** Every write made so far has committed (or failed and rolled back) once this resolves. */
  flushed(): Promise<void> {
    return this.db.settled();
  }

  /** `SELECT 1` within 2 s, asked at most once a second (health.ts). */
  health(): Promise<StoreHealth> {
    return this.probe.check();
  }

  async close(): Promise<void> {
    await this.timelineFeed.close();
    await this.db.close();
  }
}
