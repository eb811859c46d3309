import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import type { Store } from '../ports/types.js';
import { nextState, type BootSignal } from './lifecycle.js';
import type { AuditEntry, Machine, MachineEvent, MachineState } from '../types.js';

export type Clock = () => Date;

/** Bus event for an identical repeat counted on an earlier event (carries that event, its count grown). */
export const EVENT_REPEATED = 'event-repeated';

/**
 * The bus events live streams (SSE, the dashboard) follow: every instance's events on a shared
 * store, in id order, each once. 'event' and EVENT_REPEATED stay this process's own (per-process
 * metrics count them; Prometheus sums the instances). On a store without a feed (one process)
 * both pairs carry the same events.
 */
export const STREAM_EVENT = 'stream-event';
export const STREAM_REPEATED = 'stream-event-repeated';

/**
 * Identical repeats within this window are counted on the first event instead of appended: one
 * address replaying a registered MAC's /ipxe at full speed otherwise grows the timeline by a row
 * per request (issue 20), and a machine in a boot loop buries everything else on its timeline.
 */
export const REPEAT_WINDOW_MS = 60_000;

/** Each of these is evidence on its own (a config with the cluster's keys went out, or was fought over). */
const NEVER_COALESCED: ReadonlySet<string> = new Set(['config-delivered', 'config-conflict']);

interface LastEvent {
  id: number;
  key: string;
  state: MachineState | null;
  firstAtMs: number;
  repeats: number;
}

/**
 * Everything that happens to a machine goes through here: one place appends to the timeline,
 * moves the state, and tells live subscribers (SSE, metrics) about it.
 */
export class Timeline {
  /**
   * Emits 'event' (MachineEvent) for every entry this process appended, and STREAM_EVENT for every
   * entry of the timeline (other instances' too, when the store is shared).
   */
  readonly bus = new EventEmitter();
  /**
   * The store is shared with other instances, and its feed carries the stream (this process's
   * events included, in their order among the others').
   */
  readonly shared: boolean;
  /**
   * Each machine's newest event, to recognise an identical repeat without reading the store. Only a
   * hint: a machine evicted here (or a restart) gets a new row, never a wrong count.
   */
  private readonly lastByMac = new LRUCache<string, LastEvent>({ max: 10_000 });

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {
    this.bus.setMaxListeners(0); // one per SSE client
    this.shared = store.timelineFeed !== undefined;
    store.timelineFeed?.subscribe({
      appended: (e) => {
        // Another instance wrote a newer event for this machine: an identical repeat here must not
        // be counted on our older one (it is no longer the machine's last). Our own newer event
        // is set again when its append returns.
        const last = this.lastByMac.get(e.mac);
        if (last && e.id > last.id) this.lastByMac.delete(e.mac);
        this.bus.emit(STREAM_EVENT, e);
      },
      repeated: (e) => this.bus.emit(STREAM_REPEATED, e),
    });
  }

  now(): string {
    return this.clock().toISOString();
  }

  clockMs(): number {
    return this.clock().getTime();
  }

  /** Append an event; `signal` lets the lifecycle decide the new state, `state` forces one. */
  async record(
    machine: Pick<Machine, 'mac' | 'state' | 'installed' | 'reimage'> | string,
    kind: string,
    detail: Record<string, unknown>,
    opts: { sourceIp?: string | null; signal?: BootSignal; state?: MachineState } = {},
  ): Promise<MachineEvent> {
    const mac = typeof machine === 'string' ? machine : machine.mac;
    let state: MachineState | null = opts.state ?? null;
    if (!state && opts.signal && typeof machine !== 'string') state = nextState(machine, opts.signal);
    const sourceIp = opts.sourceIp ?? null;
    const at = this.now();
    const atMs = Date.parse(at);
    const key = `${kind}\u0000${sourceIp ?? ''}\u0000${JSON.stringify(detail)}`;
    const last = this.lastByMac.get(mac);
    // A repeat changes nothing but the count: same kind, detail and source, no state it would move
    // (none, or the one the machine is already in), within the window of the first occurrence.
    const unchangedState =
      state === null || (last?.state === state && typeof machine !== 'string' && machine.state === state);
    if (
      last &&
      last.key === key &&
      unchangedState &&
      !NEVER_COALESCED.has(kind) &&
      atMs - last.firstAtMs < REPEAT_WINDOW_MS &&
      atMs >= last.firstAtMs
    ) {
      if (await this.store.events.repeat(last.id, at)) {
        last.repeats += 1;
        const first = new Date(last.firstAtMs).toISOString();
        const repeated: MachineEvent = {
          id: last.id,
          mac,
          at: first,
          kind,
          detail,
          sourceIp,
          state: last.state,
          repeats: last.repeats,
          lastAt: at,
        };
        this.bus.emit(EVENT_REPEATED, repeated);
        if (!this.shared) this.bus.emit(STREAM_REPEATED, repeated);
        return repeated;
      }
    }
    const event = await this.store.events.append({ mac, at, kind, detail, sourceIp, state });
    this.lastByMac.set(mac, { id: event.id, key, state, firstAtMs: atMs, repeats: 1 });
    this.bus.emit('event', event);
    if (!this.shared) this.bus.emit(STREAM_EVENT, event);
    return event;
  }

  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    return this.store.audit.append({ ...entry, at: this.now() });
  }
}
