/**
 * Leadership among metalboot instances on one PostgreSQL database: the instance holding the
 * session advisory lock (LOCK_SPACE, LOCKS.leader) runs the singletons. The lock lives on a
 * connection of its own (not the pool's: a pooled connection is handed to others and ended when
 * idle, and a session lock would go with it), so holding that connection open is holding the lock.
 *
 * - Not leader: `pg_try_advisory_lock` at start and every `pollMs` (never waits on the lock).
 * - Leader: a `SELECT 1` every `pollMs` with a timeout; the connection's 'error' or 'end', or a
 *   heartbeat that fails, is leadership lost at once (the singletons stop), then reconnect with
 *   bounded backoff and try again (a former leader only after three polls: a standby goes first).
 * - A process that dies closes its socket, so PostgreSQL ends the session and frees the lock: the
 *   next poll of another instance takes it. A host that vanishes sends nothing; the session's TCP
 *   keepalives (set on the server side of this connection, below) end it after about
 *   idle + interval × count seconds, and the leader, partitioned but alive, has stepped down
 *   before that (its heartbeat times out first), so two never run the singletons at once.
 */
import pg from 'pg';
import type { Leadership } from '../../core/ports/leadership.js';
import { LOCK_SPACE, LOCKS } from './db.js';

export interface PostgresLeadershipOptions {
  /** How often a standby tries the lock and a leader checks its connection (default 2 s). */
  pollMs?: number;
  /** How long a connection attempt or a heartbeat may take (default 5 s). */
  timeoutMs?: number;
  /** Reconnect backoff: doubles from `minMs` to `maxMs` (default 0.5 s to 10 s). */
  backoff?: { minMs: number; maxMs: number };
  /**
   * The server's TCP keepalive on this session (seconds): how fast PostgreSQL notices a leader
   * whose host vanished and frees the lock (default idle 10, interval 5, count 3: about 25 s).
   */
  serverKeepalive?: { idle: number; interval: number; count: number };
  /** A failed attempt or a lost connection (the server logs it; never thrown). */
  onError?: (err: Error) => void;
}

export class PostgresLeadership implements Leadership {
  private leader = false;
  private closed = false;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private client: pg.Client | null = null;
  /** Wakes the loop early: the connection was lost, or close() was called. */
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  private firstAttempt!: () => void;
  /** Resolves once the first attempt has ended (leader, standby, or unreachable). */
  readonly ready: Promise<void>;
  private readonly o: Required<Omit<PostgresLeadershipOptions, 'onError'>> & Pick<PostgresLeadershipOptions, 'onError'>;

  constructor(
    private readonly url: string,
    opts: PostgresLeadershipOptions = {},
  ) {
    this.o = {
      pollMs: opts.pollMs ?? 2000,
      timeoutMs: opts.timeoutMs ?? 5000,
      backoff: opts.backoff ?? { minMs: 500, maxMs: 10_000 },
      serverKeepalive: opts.serverKeepalive ?? { idle: 10, interval: 5, count: 3 },
      onError: opts.onError,
    };
    this.ready = new Promise((resolve) => {
      this.firstAttempt = resolve;
    });
    this.loop = this.run();
  }

  isLeader(): boolean {
    return this.leader;
  }

  onChange(cb: (leader: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Stop trying; a lock held is freed with its session (the connection is ended). */
  async close(): Promise<void> {
    this.closed = true;
    this.set(false);
    this.wake?.();
    this.dropClient();
    await this.loop;
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const cb of this.listeners) {
      try {
        cb(leader);
      } catch (err) {
        // Called from the connection's events too: a throw there would be the process's end.
        this.o.onError?.(err as Error);
      }
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const lost = { error: null as Error | null };
      let led = false;
      try {
        await this.connect(lost);
        failures = 0;
        while (!this.closed && !lost.error) {
          if (!this.leader) {
            const res = await this.client!.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS got', [
              LOCK_SPACE,
              LOCKS.leader,
            ]);
            if (res.rows[0]?.got && !this.closed && !lost.error) {
              led = true;
              this.set(true);
            }
          } else {
            await this.client!.query('SELECT 1');
          }
          this.firstAttempt();
          await this.sleep(this.o.pollMs);
        }
        if (lost.error) throw lost.error;
      } catch (err) {
        if (!this.closed) this.o.onError?.(err as Error);
      }
      // Lost (or never had) the connection: whatever it held is gone with it.
      const wasLeader = this.leader || led;
      this.set(false);
      this.dropClient();
      this.firstAttempt();
      if (this.closed) break;
      const backoff = Math.min(this.o.backoff.maxMs, this.o.backoff.minMs * 2 ** failures++);
      // A leader whose connection broke waits out a few standby polls before trying again: a
      // standby whose connection held takes over, rather than the one that just lost its own.
      await this.sleep(wasLeader ? Math.max(backoff, 3 * this.o.pollMs) : backoff);
    }
  }

  private async connect(lost: { error: Error | null }): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'metalboot-leader',
      connectionTimeoutMillis: this.o.timeoutMs,
      query_timeout: this.o.timeoutMs,
      // Our side: a dead path shows as an error on an idle connection instead of never.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    this.client = client;
    // An idle client's 'error' (the server ended the session, the network broke) must never
    // crash the process: it is leadership lost, here and now.
    const onLost = (err?: Error) => {
      lost.error ??= err ?? new Error('the leadership connection ended');
      if (this.client !== client) return; // one already dropped: its leadership went with it
      this.set(false);
      this.wake?.();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    await client.connect();
    const k = this.o.serverKeepalive;
    try {
      await client.query(
        "SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false), set_config('tcp_keepalives_count', $3, false)",
        [String(k.idle), String(k.interval), String(k.count)],
      );
    } catch {
      // A server (or proxy) that refuses these: the lock still works, a vanished host is noticed later.
    }
  }

  private dropClient(): void {
    const c = this.client;
    this.client = null;
    // Not awaited: ending a connection to a host that vanished may wait for the network.
    c?.end().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}
