import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever commit
 * crosses 1,000 WAL pages: that request then copies the WAL into the database and fsyncs, on the
 * one thread that also answers every machine (measured: ~1.2× throughput of the boot path without
 * it). Here the main connection never checkpoints; a worker thread with its own connection runs a
 * PASSIVE checkpoint (never blocks writers) every `intervalMs`. If the worker cannot start or dies,
 * the main connection goes back to automatic checkpoints, so the WAL never grows unbounded.
 *
 * The worker (its own V8 isolate, ~10 MB) starts only once the WAL has grown past
 * `startAtWalBytes` (by default what SQLite's own 1,000-page autocheckpoint would allow): a server
 * that mostly streams files, or a store that lives a moment (a CLI command, a test), never needs it.
 */
export class BackgroundCheckpointer {
  private worker: Worker | null = null;
  private stopped = false;
  private readonly watchTimer: NodeJS.Timeout;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly intervalMs = 1000,
    startAtWalBytes = 4 * 1024 * 1024,
  ) {
    db.pragma('wal_autocheckpoint = 0');
    this.watchTimer = setInterval(() => {
      if (walBytes(file) < startAtWalBytes) return;
      clearInterval(this.watchTimer);
      this.start();
    }, intervalMs);
    this.watchTimer.unref();
  }

  /** Whether the worker thread runs. */
  get running(): boolean {
    return this.worker !== null;
  }

  private start(): void {
    if (this.stopped) return;
    try {
      const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { sqlitePath, file: this.file, intervalMs: this.intervalMs },
      });
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
    clearInterval(this.watchTimer);
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}

function walBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0; // no WAL yet
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
