/**
 * What keeps discovery (recording MACs nobody registered) from growing the store without bound:
 * a cap on discovered machines, an expiry for ones not seen again, and a rate per source address.
 */
export interface DiscoveryLimits {
  /** At most this many discovered machines; past it the least recently seen go first. */
  maxDiscovered: number;
  /** A discovered machine not seen for this long is forgotten (housekeeping). */
  expireAfterMs: number;
  /** New discoveries per source address per minute (a burst of this many, refilled evenly); 0: no limit. */
  perSourcePerMinute: number;
  /** How many source addresses the rate limiter remembers (least recently active forgotten first). */
  maxSources: number;
}

export const DEFAULT_DISCOVERY_LIMITS: DiscoveryLimits = {
  maxDiscovered: 10_000,
  expireAfterMs: 7 * 24 * 3600_000,
  perSourcePerMinute: 60,
  maxSources: 4096,
};

/**
 * A token bucket per source address, in a Map that never holds more than `maxSources` entries.
 * Each use moves the source to the end of the Map's order, so the one dropped when a new source
 * arrives at the limit is the least recently active: a source forgotten that way starts again with
 * a full bucket, which an attacker with thousands of addresses could use — the discovery cap
 * bounds what that buys them.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly maxSources: number,
    private readonly nowMs: () => number,
  ) {}

  /** Whether `source` may do one more now (and counts it if so). */
  take(source: string): boolean {
    if (this.perMinute <= 0) return true;
    const now = this.nowMs();
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source);
      b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.atMs) * this.perMinute) / 60_000);
      b.atMs = now;
    } else {
      b = { tokens: this.perMinute, atMs: now };
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** How many sources are remembered (never more than maxSources). */
  get size(): number {
    return this.buckets.size;
  }
}
