import type Database from 'better-sqlite3';

/** What the repositories use of a connection. */
export type SqlDb = Pick<Database.Database, 'prepare' | 'transaction'>;

/**
 * Group commit: every write of one turn of the event loop goes into one SQLite transaction.
 *
 * A boot request writes several small rows (the machine's last-seen facts, a config token, a
 * timeline event or two, an audit entry). Committed one by one, each commit writes its dirty pages
 * to the WAL again — in the render benchmark commits were the largest single cost. Here the first
 * write opens a transaction, and a `setImmediate` commits it once the requests being handled in
 * this turn have done their (synchronous) store calls; a boot storm's requests then share commits.
 *
 * Nothing is promised before its commit: whoever answers a client after writing awaits `flushed()`
 * (the HTTP layer does it for every response, the DHCP server before every reply), which resolves
 * after the commit that holds those writes, or rejects if it failed.
 */
export class GroupCommit {
  private pending: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | null = null;
  /** Commits so far (tests, metrics). */
  commits = 0;
  private readonly rollbackListeners: (() => void)[] = [];
  private readonly commitListeners: (() => void)[] = [];

  constructor(private readonly db: Database.Database) {}

  /** Before a write: join the open batch, or open one. */
  begin(): void {
    if (this.pending) {
      if (this.db.inTransaction) return;
      // SQLite rolled the whole transaction back by itself (I/O error, disk full): its writes are
      // gone, so their waiters learn it now, and this write starts a new batch.
      this.settle(new Error('the store transaction was rolled back by SQLite'));
    }
    if (this.db.inTransaction) return; // someone else's explicit transaction (migrations)
    this.db.exec('BEGIN IMMEDIATE');
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    promise.catch(() => undefined); // a batch nobody waits for must not be an unhandled rejection
    this.pending = { promise, resolve, reject };
    setImmediate(() => this.commit());
  }

  /** Commit the open batch now (the timer does it; close() and tests call it too). */
  commit(): void {
    if (!this.pending) return;
    if (!this.db.inTransaction) return this.settle(new Error('the store transaction was rolled back by SQLite'));
    try {
      this.db.exec('COMMIT');
      this.commits++;
    } catch (err) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // the connection is gone; the waiters hear the commit's error below
      }
      return this.settle(err as Error);
    }
    this.settle();
    for (const fn of this.commitListeners) fn();
  }

  /** Called after each commit, its waiters already told (the WAL bound checkpoints here). */
  onCommit(fn: () => void): void {
    this.commitListeners.push(fn);
  }

  /** Called when a batch's writes were lost: caches of what they wrote must forget it. */
  onRollback(fn: () => void): void {
    this.rollbackListeners.push(fn);
  }

  /** Resolves once everything written so far is committed. */
  flushed(): Promise<void> {
    return this.pending?.promise ?? Promise.resolve();
  }

  private settle(err?: Error): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    if (!err) return p.resolve();
    for (const fn of this.rollbackListeners) fn();
    p.reject(err);
  }

  /**
   * The connection as the repositories see it: statements that write, and transaction functions,
   * join the batch before they run; reads go straight through.
   */
  view(): SqlDb {
    const db = this.db;
    return {
      prepare: ((source: string) => {
        const stmt = db.prepare(source);
        if (stmt.readonly) return stmt;
        // `get` and `all` too: a write with RETURNING is run through them.
        for (const method of ['run', 'get', 'all'] as const) {
          const call = (stmt[method] as (...args: unknown[]) => unknown).bind(stmt);
          (stmt as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
            this.begin();
            return call(...args);
          };
        }
        return stmt;
      }) as Database.Database['prepare'],
      transaction: ((fn: (...args: never[]) => unknown) => {
        const tx = db.transaction(fn);
        return Object.assign(
          (...args: never[]) => {
            this.begin();
            return tx(...args);
          },
          { default: tx.default, deferred: tx.deferred, immediate: tx.immediate, exclusive: tx.exclusive },
        );
      }) as Database.Database['transaction'],
    };
  }
}
