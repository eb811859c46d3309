/**
 * Warnings that a flood can cause once per packet (pool exhausted, offers reclaimed) are written
 * at most once per interval and key, with the number of times it happened: a random-MAC flood
 * must not turn into a flood of log lines (disk, and the CPU that JSON logging costs per packet).
 * Keys are fixed by the caller (message and pool name), so the map stays as small as the config.
 */
import type { DhcpLogger } from './types.js';

export interface CoalescedLog {
  /** Logs now if the key's last line is at least an interval old, else only counts. */
  warn(key: string, fields: object, msg: string): void;
}

export function coalescedLog(logger: DhcpLogger, intervalMs: number, now: () => number): CoalescedLog {
  const seen = new Map<string, { loggedAt: number; unlogged: number }>();
  return {
    warn(key, fields, msg) {
      const at = now();
      const entry = seen.get(key);
      if (entry && at - entry.loggedAt < intervalMs) {
        entry.unlogged++;
        return;
      }
      // `count`: occurrences this line stands for (this one and those held back since the last).
      logger.warn({ ...fields, count: (entry?.unlogged ?? 0) + 1, intervalSec: intervalMs / 1000 }, msg);
      seen.set(key, { loggedAt: at, unlogged: 0 });
    },
  };
}
