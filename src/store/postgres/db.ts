/**
 * The PostgreSQL connection the repositories share: a `pg` Pool, one query or one transaction at
 * a time per call, every statement parameterised, and every call tracked so `flushed()` and
 * `close()` can wait for what is still in flight.
 */
import pg from 'pg';
import { classifyFailure, isDroppedConnection } from './failure.js';

/** What a statement returns; the rows typed by the caller. */
export interface Rows<R> {
  rows: R[];
  rowCount: number;
}

/** A connection inside a transaction (or the pool outside one): parameterised statements only. */
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Rows<R>>;
}

/** Advisory-lock keys (the two-integer form): 'mbot' and what the lock guards. */
export const LOCK_SPACE = 0x6d626f74;
export const LOCKS = { migrations: 1, leases: 2, events: 3, audit: 4, leader: 5 } as const;

/**
 * int8 (ids, counts, times in ms) as JavaScript numbers instead of pg's strings: every one of them
 * stays below 2^53 (ids of a sequence, unsigned 32-bit addresses, milliseconds since the epoch).
 * Passed to each pool, so pg's process-wide parsers stay as they are for anyone else.
 */
const INT8_OID = 20;
export const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export interface DbOptions {
  /** Connections kept at most (default 10). */
  max?: number;
  /** How long a connection attempt may take before the call fails (default 10 s). */
  connectTimeoutMs?: number;
}

/** Named (prepared) statements at most; the repositories have a few dozen. */
const MAX_NAMED_STATEMENTS = 500;

export class Db implements Sql {
  readonly pool: pg.Pool;
  /** Calls that may write (statements through `query`, every transaction): what `settled()` waits for. */
  private readonly writes = new Set<Promise<unknown>>();
  /** Every call in flight, reads included: what `close()` waits for. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  /** Statement text → its prepared statement's name (the same on every connection). */
  private readonly statementNames = new Map<string, string>();
  private generation = 1;
  /** `read` as an `Sql`, for helpers that take one. */
  readonly reader: Sql = { query: (text, params) => this.read(text, params) };

  constructor(url: string, opts: DbOptions = {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'metalboot',
      types: pgTypes,
      // A database host that vanishes (no RST) would otherwise leave a query waiting until TCP
      // gives up on its own, hours by default; probes from 10 s of silence end it much sooner.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle connection the server dropped (restart, network) must not crash the process: the
    // pool discards it, and the next call opens a new one or fails with the reason.
    this.pool.on('error', () => undefined);
  }

  /** One statement, autocommitted: atomic by itself. Counted as a write (`settled()` waits for it). */
  query<R = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<Rows<R>> {
    return this.track(() => this.run<R>(text, params), true);
  }

  /**
   * One statement that only reads: `settled()` does not wait for it, so an HTTP response (which
   * awaits `flushed()`) never waits for another request's reads.
   */
  read<R = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<Rows<R>> {
    return this.track(async () => {
      try {
        return await this.run<R>(text, params);
      } catch (err) {
        // An idle pooled connection the server had ended (a restart, pg_terminate_backend) before
        // the pool heard of it: a read is safe to ask once more, on a new connection. Writes are
        // not retried: one that reached the server may have committed.
        if (!isDroppedConnection(err)) throw err;
        return this.run<R>(text, params);
      }
    }, false);
  }

  /**
   * `fn` inside BEGIN … COMMIT on one pooled connection; ROLLBACK when it throws (its error is
   * rethrown). `lock` takes a transaction-level advisory lock first (released at COMMIT or
   * ROLLBACK), serialising the transactions that take the same one, across instances.
   */
  tx<T>(fn: (sql: Sql) => Promise<T>, opts: { lock?: number; isolation?: 'serializable' } = {}): Promise<T> {
    return this.track(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      // The pool stops listening while a connection is checked out: a connection lost between two
      // statements would otherwise be an unhandled 'error' event (a crash). The statement waiting
      // on it fails anyway; the connection is not handed out again.
      const lost = (err: Error) => {
        broken = err;
      };
      client.on('error', lost);
      try {
        await client.query(opts.isolation === 'serializable' ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN');
        if (opts.lock !== undefined)
          await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE, opts.lock]);
        const sql: Sql = {
          query: async <R>(text: string, params: readonly unknown[] = []) => {
            const res = await client.query(text, params as unknown[]);
            return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
          },
        };
        const result = await fn(sql);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is unusable: do not hand it out again
        }
        throw err;
      } finally {
        client.removeListener('error', lost);
        client.release(broken);
      }
    }, true);
  }

  /**
   * Resolves once every call made so far has settled: each was its own transaction, so it either
   * committed (durable) or rolled back (nothing of it left). A call's failure is its caller's to hear.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }

  /** Waits for the calls in flight (no new one starts), then closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.pool.end();
  }

  private async run<R>(text: string, params: readonly unknown[]): Promise<Rows<R>> {
    // A named statement is parsed and planned once per connection, then only bound and run: the
    // same few statements serve every boot request. Only statements with parameters (the
    // repositories' own, a fixed set); one without them (DDL, admin) runs as it is.
    const res =
      params.length > 0
        ? await this.pool
            .query({ name: this.statementName(text), text, values: params as unknown[] })
            .catch((err: unknown) => {
              // "cached plan must not change result type": a newer instance migrated the schema
              // under this one (a rolling upgrade). New names for every statement from now on,
              // and this one once more unnamed.
              if ((err as { code?: string }).code !== '0A000') throw err;
              this.statementNames.clear();
              this.generation++;
              return this.pool.query(text, params as unknown[]);
            })
        : await this.pool.query(text);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  }

  private statementName(text: string): string {
    let name = this.statementNames.get(text);
    if (name === undefined) {
      // Bounded: the repositories' statements are a fixed set; anything past it runs unnamed.
      if (this.statementNames.size >= MAX_NAMED_STATEMENTS) return '';
      name = `mb${this.generation}_${this.statementNames.size + 1}`;
      this.statementNames.set(text, name);
    }
    return name;
  }

  private track<T>(call: () => Promise<T>, write: boolean): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the PostgreSQL store is closed'));
    // A lost connection becomes the core's UnavailableError (HTTP 503, DHCP silent); the pool
    // opens a new connection for the next call, so service resumes when the server does.
    const p = call().catch((err: unknown) => {
      throw classifyFailure(err);
    });
    this.inFlight.add(p);
    if (write) this.writes.add(p);
    const done = () => {
      this.inFlight.delete(p);
      this.writes.delete(p);
    };
    p.then(done, done);
    return p;
  }
}

/** Did this statement fail on a unique or primary key (an insert of a name or MAC already there)? */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}
