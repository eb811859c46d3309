import type { Store } from '../ports/types.js';
import type { AuditEntry, MachineEvent } from '../types.js';

/**
 * What the timeline and the audit log hold, read back: the SSE stream's replay, a machine's last
 * events, the audit pages. Timeline (timeline.ts) writes; this only reads.
 */
export class History {
  constructor(private readonly store: Store) {}

  /**
   * Timeline events after `afterId`, oldest first, at most `limit`: of one machine when `mac` is
   * given, else of all (what an SSE client that reconnects with Last-Event-ID missed).
   */
  eventsAfter(afterId: number, opts: { mac?: string; limit: number }): Promise<MachineEvent[]> {
    return opts.mac
      ? this.store.events.list(opts.mac, { afterId, limit: opts.limit })
      : this.store.events.since(afterId, opts.limit);
  }

  /** A machine's newest `limit` timeline events, oldest first. */
  lastEvents(mac: string, limit: number): Promise<MachineEvent[]> {
    return this.store.events.tail(mac, limit);
  }

  /** Audit entries, newest first: of one target when given, before `beforeId` (the API's cursor). */
  audit(query: { target?: string; beforeId?: number; limit?: number }): Promise<AuditEntry[]> {
    return this.store.audit.list(query);
  }
}
