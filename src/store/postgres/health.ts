/**
 * The PostgreSQL store's health for `/healthz` and `/readyz`: `SELECT 1` through the pool, given
 * a short deadline (a server that stopped answering must not hold a probe for the pool's 10 s
 * connect timeout), and one probe per second at most, whoever asks and however often: callers in
 * the same second share its answer (or the probe still running), so a flood of health checks never
 * becomes a flood of queries.
 */
import type { StoreHealth } from '../../core/ports/types.js';
import type { Db } from './db.js';
import { failureReason } from './failure.js';

export interface HealthProbeOptions {
  /** How long `SELECT 1` may take before the database counts as down (default 2 s). */
  timeoutMs?: number;
  /** How long an answer is reused (default 1 s). */
  cacheMs?: number;
  now?: () => number;
}

export class HealthProbe {
  private last: { at: number; health: Promise<StoreHealth> } | undefined;
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    opts: HealthProbeOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.cacheMs = opts.cacheMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  check(): Promise<StoreHealth> {
    const at = this.now();
    if (this.last && at - this.last.at < this.cacheMs) return this.last.health;
    const health = this.probe();
    this.last = { at, health };
    return health;
  }

  private async probe(): Promise<StoreHealth> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to SELECT 1 within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    const query = this.db.read('SELECT 1');
    query.catch(() => undefined); // after the deadline its failure is nobody's to hear
    try {
      await Promise.race([query, deadline]);
      return { kind: 'postgres', ok: true };
    } catch (err) {
      return { kind: 'postgres', ok: false, error: failureReason(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}
