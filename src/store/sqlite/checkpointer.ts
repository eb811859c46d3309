import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever commit
 * crosses 1,000 WAL pages: that request then copies the WAL into the database and fsyncs, on the
 * one thread that also answers every machine (measured: ~1.2× throughput of the boot path without
 * it). Here the main connection never checkpoints; a worker thread with its own connection runs a
 * PASSIVE checkpoint (never blocks writers) every `intervalMs`. If the worker cannot start or dies,
 * the main connection goes back to automatic checkpoints, so the WAL never grows unbounded.
 */
export class BackgroundCheckpointer {
  private worker: Worker | null = null;
  private stopped = false;
  private readonly startTimer: NodeJS.Timeout;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly intervalMs = 1000,
  ) {
    db.pragma('wal_autocheckpoint = 0');
    // Started after the first interval: a store that lives a moment (a CLI command, a test) needs none.
    this.startTimer = setTimeout(() => this.start(), intervalMs);
    this.startTimer.unref();
  }

  private start(): void {
    if (this.stopped) return;
    try {
      const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
      this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sqlitePath, file: this.file, intervalMs: this.intervalMs } });
    } catch {
      this.fallBack();
      return;
    }
    this.worker.unref();
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => {
      this.worker = null;
      if (!this.stopped) this.fallBack();
    });
  }

  private fallBack(): void {
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.startTimer);
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}

// CommonJS, evaluated in the worker: its own connection, a PASSIVE checkpoint per interval.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.sqlitePath);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: next time */ }
}, workerData.intervalMs);
`;
