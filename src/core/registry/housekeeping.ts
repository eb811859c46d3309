import type { RetentionBatch, Store } from '../ports/types.js';
import type { DiscoveryLimits } from './discovery.js';
import type { Timeline } from '../timeline/timeline.js';

/** How long timeline events and audit entries are kept: rows older than `maxAgeMs` or beyond the newest `maxRows` go (0: no limit of that kind). */
export interface RetentionLimit {
  maxAgeMs: number;
  maxRows: number;
}

export interface RetentionSettings {
  events: RetentionLimit;
  audit: RetentionLimit;
}

const DAY = 24 * 3600_000;

/** Bounded by default: a timeline is for following installs, the audit log is evidence and lives longer. */
export const DEFAULT_RETENTION: RetentionSettings = {
  events: { maxAgeMs: 90 * DAY, maxRows: 1_000_000 },
  audit: { maxAgeMs: 365 * DAY, maxRows: 1_000_000 },
};

/** What one pass removed. */
export interface HousekeepingReport {
  discoveredExpired: number;
  discoveredTrimmed: number;
  eventsPruned: number;
  auditPruned: number;
}

export interface HousekeepingOptions {
  /** Rows per write (one transaction each; the boot path's writes go between two). */
  batchSize?: number;
  /** At most this many batches per table per pass: a pass always ends; the next one goes on. */
  maxBatchesPerPass?: number;
}

/**
 * The one background job that keeps the store bounded: it forgets discovered machines not seen
 * for the expiry, trims them to the cap (after the cap was lowered), and applies the timeline's
 * and the audit log's retention. Every delete is a batch of `batchSize` rows in its own commit,
 * and the job waits for that commit (and a turn of the event loop) before the next, so however
 * much is due it never holds the writer for longer than one small batch.
 */
export class Housekeeping {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<HousekeepingReport> | null = null;
  private stopped = false;
  private readonly batchSize: number;
  private readonly maxBatches: number;

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly discovery: DiscoveryLimits,
    private readonly retention: RetentionSettings,
    opts: HousekeepingOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.maxBatches = opts.maxBatchesPerPass ?? 200;
  }

  /** One pass now (a pass already running is joined, not doubled). */
  runOnce(): Promise<HousekeepingReport> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A pass every `intervalMs` (and one soon after start) until stop(); errors go to `onError`, never thrown. */
  start(
    intervalMs: number,
    onError: (err: unknown) => void = () => undefined,
    onReport?: (r: HousekeepingReport) => void,
  ): void {
    this.stopTimer();
    this.stopped = false;
    const tick = () =>
      void this.runOnce()
        .then((r) => onReport?.(r))
        .catch(onError);
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
    setImmediate(tick);
  }

  /** Stop the timer and let a running pass end after its current batch. */
  async stop(): Promise<void> {
    this.stopTimer();
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async pass(): Promise<HousekeepingReport> {
    const now = this.timeline.clockMs();
    const iso = (ageMs: number) => new Date(now - ageMs).toISOString();
    const batch = this.batchSize;
    const machines = this.store.machines;
    const retention = (limit: RetentionLimit): Omit<RetentionBatch, 'max'> => ({
      before: limit.maxAgeMs > 0 ? iso(limit.maxAgeMs) : undefined,
      keepRows: limit.maxRows > 0 ? limit.maxRows : undefined,
    });
    const events = retention(this.retention.events);
    const audit = retention(this.retention.audit);
    return {
      discoveredExpired:
        this.discovery.expireAfterMs > 0
          ? await this.batches(() => machines.expireDiscovered(iso(this.discovery.expireAfterMs), batch))
          : 0,
      discoveredTrimmed: await this.batches(() => machines.trimDiscovered(this.discovery.maxDiscovered, batch)),
      eventsPruned: await this.batches(() => this.store.events.prune({ ...events, max: batch })),
      auditPruned: await this.batches(() => this.store.audit.prune({ ...audit, max: batch })),
    };
  }

  /** Run `step` until it removes less than a full batch (or the pass's share is used up, or stop()). */
  private async batches(step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < this.maxBatches && !this.stopped; i++) {
      const n = await step();
      total += n;
      // The batch commits on its own (group commit) before the next starts; requests run in between.
      await this.store.flushed();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (n < this.batchSize) break;
    }
    return total;
  }
}
