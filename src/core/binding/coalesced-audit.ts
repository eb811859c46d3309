import type { Store } from '../ports/types.js';
import type { Timeline } from '../timeline/timeline.js';

export interface RefusalNote {
  actor: string;
  /** `config.refused`, `config.binding-refused`, `config.conflict`. */
  action: string;
  target: string | null;
  sourceIp: string;
  /** A fixed phrase: entries are coalesced by it, so it must not carry addresses or counters. */
  reason: string;
  /** What varies between requests (kept from the first of the window). */
  detail?: Record<string, unknown>;
}

interface Window {
  startMs: number;
  count: number;
  targets: string[];
  detail: Record<string, unknown>;
  id: Promise<number>;
}

/** Targets named in one coalesced entry: the rest are counted, not listed. */
const MAX_TARGETS = 10;

/**
 * Audit entries for what unauthenticated requests can trigger at any rate (refused configs and
 * scripts): one row per action, source address and reason per window (a minute), whose
 * `detail.count` grows in place. So a host hammering `/config` or `/ipxe` costs a bounded number
 * of rows, and the operator still sees who, why and how often.
 *
 * Open windows are kept in memory, at most `maxKeys` of them; past that (a flood from many
 * addresses) new sources share one entry per action and reason with `sourceIp` null.
 */
export class CoalescedAudit {
  private readonly open = new Map<string, Window>();

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Records the note; resolves true when it opened a new entry (callers put only those on a timeline). */
  async note(n: RefusalNote): Promise<boolean> {
    const now = this.timeline.clockMs();
    let key = `${n.action}\0${n.sourceIp}\0${n.reason}`;
    let w = this.current(key, now);
    let sourceIp: string | null = n.sourceIp;
    if (!w && this.open.size >= this.maxKeys) {
      this.prune(now);
      if (this.open.size >= this.maxKeys) {
        key = `${n.action}\0*\0${n.reason}`;
        sourceIp = null;
        w = this.current(key, now);
      }
    }
    if (w) {
      w.count++;
      if (n.target && w.targets.length < MAX_TARGETS && !w.targets.includes(n.target)) w.targets.push(n.target);
      const detail = this.detailOf(n.reason, w);
      const id = await w.id;
      await this.store.audit.setDetail(id, detail);
      return false;
    }
    const fresh: Window = {
      startMs: now,
      count: 1,
      targets: n.target ? [n.target] : [],
      detail: n.detail ?? {},
      id: Promise.resolve(0),
    };
    fresh.id = this.timeline
      .audit({ actor: n.actor, action: n.action, target: n.target, sourceIp, detail: this.detailOf(n.reason, fresh) })
      .then((e) => e.id);
    this.open.set(key, fresh);
    try {
      await fresh.id;
    } catch (err) {
      this.open.delete(key); // not written: the next note starts the entry again
      throw err;
    }
    return true;
  }

  /** Open windows (tests, and to see the bound hold). */
  get openWindows(): number {
    return this.open.size;
  }

  private current(key: string, now: number): Window | undefined {
    const w = this.open.get(key);
    if (w && now - w.startMs < this.windowMs) return w;
    if (w) this.open.delete(key);
    return undefined;
  }

  private prune(now: number): void {
    for (const [key, w] of this.open) if (now - w.startMs >= this.windowMs) this.open.delete(key);
  }

  private detailOf(reason: string, w: Window): Record<string, unknown> {
    const targets = w.targets.length > 1 ? { targets: w.targets } : {};
    return { reason, ...w.detail, ...targets, count: w.count, windowSeconds: this.windowMs / 1000 };
  }
}
