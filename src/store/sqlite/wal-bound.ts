import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import type { WalStats } from '../../core/ports/types.js';

/** Default bound on the WAL file (`--wal-max-mb`). */
export const DEFAULT_WAL_MAX_BYTES = 64 * 1024 * 1024;
/** Below this a bound would checkpoint on nearly every commit. */
export const MIN_WAL_MAX_BYTES = 1024 * 1024;

/** Throws a clear error for a bound that is no integer or below the minimum. */
export function checkWalMaxBytes(maxBytes: number): number {
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_WAL_MAX_BYTES) {
    throw new Error(`the WAL bound must be an integer of at least ${MIN_WAL_MAX_BYTES} bytes, got ${maxBytes}`);
  }
  return maxBytes;
}

/**
 * A restart a reader's snapshot stopped is tried again at the next commit, then after 5 ms,
 * doubling up to this: a reader that is merely descheduled (a loaded machine) is waited for at
 * once, one that stays (a long query of another process) costs a wait of
 * RESTART_BUSY_TIMEOUT_MS only now and then.
 */
const PINNED_RETRY_MAX_MS = 1000;
/** How long a restart checkpoint may wait for readers of other connections (it blocks this thread). */
const RESTART_BUSY_TIMEOUT_MS = 10;
const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

/**
 * Keeps the WAL file under `maxBytes` whatever the write rate.
 *
 * The background checkpointer's PASSIVE checkpoints copy the WAL into the database, but the log
 * only starts again from its beginning when a checkpoint has copied *all* of it and no reader
 * still needs it: under continuous writes new frames always arrive first, and the file grew
 * without end (933 MB in 60 s of one machine's /ipxe). Here, after each group commit, the main
 * connection — the one writer — looks at the WAL's length; past half the bound it runs a RESTART
 * checkpoint itself. Being the writer, it needs no one to pause: between two commits there is no
 * open transaction to wait for, so it wins against any write rate; its next commit then writes
 * from the start of the file. Half the bound leaves the other half for the batch that crosses
 * the trigger. `journal_size_limit` shrinks a file that grew past the bound anyway (a reader of
 * another process held an old snapshot) at the first restart after.
 *
 * Commit semantics are untouched: the checkpoint only runs after COMMIT returned, and copies what
 * is already durable in the WAL.
 *
 * The length is read from the WAL index (the `-shm` file's header: `mxFrame`, and the salt that
 * changes at every restart; https://sqlite.org/walformat.html), which also counts the bytes
 * written. Without it (no -shm yet) the WAL file's size is used and nothing is counted.
 */
export class WalBound {
  private shmFd: number | null = null;
  private readonly header = Buffer.alloc(96);
  private readonly frameBytes: number;
  private readonly triggerFrames: number;
  private readonly triggerBytes: number;
  private lastFrames = 0;
  private lastSalt: number | null = null;
  private framesWritten = 0;
  private retryAt = 0;
  private restarts = 0;
  private busy = 0;
  /** Restarts in a row that a reader stopped. */
  private pinned = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    readonly maxBytes: number = DEFAULT_WAL_MAX_BYTES,
  ) {
    checkWalMaxBytes(maxBytes);
    this.frameBytes = (db.pragma('page_size', { simple: true }) as number) + FRAME_HEADER_BYTES;
    this.triggerBytes = Math.floor(maxBytes / 2);
    this.triggerFrames = Math.floor((this.triggerBytes - WAL_HEADER_BYTES) / this.frameBytes);
    db.pragma(`journal_size_limit = ${maxBytes}`);
    this.readFrames(); // what the WAL already holds was written before us
  }

  /** After every commit of the main connection. */
  afterCommit(): void {
    if (!this.db.open) return;
    const frames = this.readFrames();
    const over = frames === undefined ? walFileBytes(this.file) >= this.triggerBytes : frames >= this.triggerFrames;
    if (over && Date.now() >= this.retryAt) this.restart();
  }

  stats(): WalStats {
    this.readFrames();
    return {
      maxBytes: this.maxBytes,
      bytesWritten: this.framesWritten * this.frameBytes,
      restarts: this.restarts,
      busy: this.busy,
    };
  }

  close(): void {
    if (this.shmFd !== null) closeSync(this.shmFd);
    this.shmFd = null;
  }

  private restart(): void {
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${RESTART_BUSY_TIMEOUT_MS}`);
    let log = -1;
    try {
      const [row] = this.db.pragma('wal_checkpoint(RESTART)') as Array<{ busy: number; log: number }>;
      if (row?.busy === 0) {
        this.restarts++;
        this.pinned = 0;
        return;
      }
      log = row?.log ?? -1;
    } catch {
      // SQLITE_BUSY/LOCKED from a lock held elsewhere: like busy, try again
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
    this.busy++;
    // log -1: the background worker's checkpoint held the lock; it ends within moments, so the
    // next commit tries again. Otherwise a reader's snapshot pins the log: back off.
    if (log < 0) return;
    this.retryAt = this.pinned === 0 ? 0 : Date.now() + Math.min(PINNED_RETRY_MAX_MS, 5 * 2 ** (this.pinned - 1));
    this.pinned++;
  }

  /**
   * The WAL's length in frames from the WAL index header, adding what was appended since the last
   * look to the count of frames written. Undefined when the index cannot be read.
   */
  private readFrames(): number | undefined {
    const fd = this.openShm();
    if (fd === null) return undefined;
    try {
      if (readSync(fd, this.header, 0, 96, 0) < 96) return undefined;
    } catch {
      return undefined; // the size of the WAL file decides instead
    }
    // SQLite keeps two copies of the header and writes them in turn: differing, one is being written.
    if (this.header.compare(this.header, 0, 48, 48, 96) !== 0) return this.lastFrames;
    const u32 = (at: number) => (LITTLE_ENDIAN ? this.header.readUInt32LE(at) : this.header.readUInt32BE(at));
    const frames = u32(16);
    const salt = u32(32);
    if (salt !== this.lastSalt) {
      // A new log since the last look (or the first look): all its frames are new to us.
      if (this.lastSalt !== null) this.framesWritten += frames;
      this.lastSalt = salt;
    } else if (frames > this.lastFrames) {
      this.framesWritten += frames - this.lastFrames;
    }
    this.lastFrames = frames;
    return frames;
  }

  private openShm(): number | null {
    if (this.shmFd === null) {
      try {
        this.shmFd = openSync(`${this.file}-shm`, 'r');
      } catch {
        return null;
      }
    }
    return this.shmFd;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

function walFileBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}
