import type { Leadership } from '../ports/leadership.js';
import type { Housekeeping } from '../registry/housekeeping.js';
import type { StallDetector } from './stall.js';

/** One process on its own store: always the leader. */
export function alwaysLeader(): Leadership {
  let leader = true;
  return {
    isLeader: () => leader,
    onChange: () => () => undefined,
    close: async () => {
      leader = false;
    },
  };
}

/** Where the jobs report: a pino logger fits. */
export interface SingletonLog {
  info(obj: object, msg: string): void;
  info(msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SingletonOptions {
  stallIntervalMs: number;
  housekeepingIntervalMs: number;
  log: SingletonLog;
}

/**
 * The jobs that must run on one instance at a time, started and stopped with leadership: two
 * stall detectors would each mark the same machine stalled (two events), two housekeepers delete
 * the same batches twice over. A new leader starts them at once (housekeeping's first pass runs
 * right away, catching up on what a dead leader left).
 */
export class Singletons {
  private unsubscribe: (() => void) | null = null;
  /** Whether the jobs run; null before start() (so the first state is logged, standby included). */
  private running: boolean | null = null;
  private opts: SingletonOptions | null = null;

  constructor(
    readonly leadership: Leadership,
    private readonly stall: StallDetector,
    private readonly housekeeping: Housekeeping,
  ) {}

  /** Run the jobs whenever this instance leads, from now until stop(). */
  start(opts: SingletonOptions): void {
    this.opts = opts;
    this.running = null;
    this.unsubscribe?.();
    this.unsubscribe = this.leadership.onChange((leader) => this.apply(leader));
    this.apply(this.leadership.isLeader());
  }

  /** Stop the jobs (a housekeeping pass ends after its current batch) and stop following leadership. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.stall.stop();
    await this.housekeeping.stop();
    this.running = null;
  }

  private apply(leader: boolean): void {
    const o = this.opts;
    if (!o || leader === this.running) return;
    this.running = leader;
    const log = o.log;
    if (leader) {
      this.stall.start(o.stallIntervalMs, (err) => log.error({ err }, 'stall check failed'));
      this.housekeeping.start(
        o.housekeepingIntervalMs,
        (err) => log.error({ err }, 'housekeeping failed'),
        (r) => {
          if (Object.values(r).some((n) => n > 0))
            log.info(r, 'housekeeping: removed expired discovered machines and old timeline/audit rows');
        },
      );
      log.info('leader: running the stall detector and housekeeping');
    } else {
      this.stall.stop();
      void this.housekeeping.stop();
      log.info('standby: another instance runs the stall detector and housekeeping (this one takes over if it stops)');
    }
  }
}
