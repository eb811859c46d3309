import { EventEmitter } from 'node:events';
import type { Store } from '../store/types.js';
import { nextState, type BootSignal } from './lifecycle.js';
import type { AuditEntry, Machine, MachineEvent, MachineState } from '../types.js';

export type Clock = () => Date;

/**
 * Everything that happens to a machine goes through here: one place appends to the timeline,
 * moves the state, and tells live subscribers (SSE, metrics) about it.
 */
export class Timeline {
  /** Emits 'event' (MachineEvent) for every appended timeline entry. */
  readonly bus = new EventEmitter();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {
    this.bus.setMaxListeners(0); // one per SSE client
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
    const event = await this.store.events.append({
      mac,
      at: this.now(),
      kind,
      detail,
      sourceIp: opts.sourceIp ?? null,
      state,
    });
    this.bus.emit('event', event);
    return event;
  }

  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    return this.store.audit.append({ ...entry, at: this.now() });
  }
}
