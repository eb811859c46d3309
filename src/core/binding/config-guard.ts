import type { Store } from '../ports/types.js';
import { CoalescedAudit, type RefusalNote } from './coalesced-audit.js';
import type { ConfigBinder, BindingVerdict } from './config-binding.js';
import { STREAM_EVENT, type Timeline } from '../timeline/timeline.js';
import type { MachineEvent } from '../types.js';

/** What the Timeline bus carries besides timeline entries, once per occurrence (metrics count these). */
export const CONFIG_REFUSAL = 'config-refusal';
export const CONFIG_CONFLICT = 'config-conflict';
export interface ConfigRefusalSignal {
  /** The refusal's fixed phrase (metrics map it to a label). */
  reason: string;
}

/** Timeline entries the dashboard shows red. */
export const CRITICAL = 'critical';

interface Delivery {
  tokenHash: string;
  sourceIp: string;
}

/**
 * The security side of handing out configs, kept apart from BootService's script building:
 * whether a script request may lead to a config (the binding), the audit of refusals
 * (coalesced: unauthenticated requests must not grow the store per request), and the conflict
 * when a second source asks for a config already delivered this boot.
 */
export class ConfigGuard {
  /** The last delivery per machine (registered machines only, so bounded by the registry). */
  private readonly deliveries = new Map<string, Delivery>();
  readonly refusals: CoalescedAudit;

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    readonly binder: ConfigBinder,
  ) {
    this.refusals = new CoalescedAudit(store, timeline);
    // Another instance's delivery counts here too: a second source asking this instance for a
    // config another one delivered is the same conflict. Its token is the machine's current one
    // (read once per delivery, off the request path; a new boot in the milliseconds between would
    // be taken for this one's).
    if (timeline.shared)
      timeline.bus.on(STREAM_EVENT, (e: MachineEvent) => {
        if (e.kind !== 'config-delivered' || !e.sourceIp || this.deliveries.get(e.mac)?.sourceIp === e.sourceIp) return;
        const sourceIp = e.sourceIp;
        store.tokens.forMachine(e.mac).then(
          (token) => token && this.deliveries.set(e.mac, { tokenHash: token.tokenHash, sourceIp }),
          () => undefined, // the database is away: no conflict is known, as before this feed
        );
      });
  }

  /**
   * May this `/ipxe` request get the machine's install (or wipe) script? Records a conflict when
   * the machine's current config was already delivered to another source, and a coalesced
   * `config.binding-refused` when the request is not tied. Touches neither the token nor the machine.
   */
  async checkScript(
    nicMac: string,
    machine: { mac: string; ip: string | null },
    sourceIp: string,
  ): Promise<BindingVerdict> {
    await this.checkConflict(machine.mac, sourceIp, '/ipxe', nicMac);
    const verdict = await this.binder.check({ nicMac, machine, sourceIp, nowMs: this.timeline.clockMs() });
    if (!verdict.tied) {
      this.timeline.bus.emit(CONFIG_REFUSAL, { reason: verdict.reason } satisfies ConfigRefusalSignal);
      await this.refusals.note({
        actor: 'machine',
        action: 'config.binding-refused',
        target: machine.mac,
        sourceIp,
        reason: verdict.reason,
        detail: { nic: nicMac, ...verdict.detail },
      });
    }
    return verdict;
  }

  /** A refused `/config`: audited (coalesced), and on the timeline once per entry. */
  async refuseConfig(mac: string | null, sourceIp: string, reason: string, onTimeline: boolean): Promise<void> {
    this.timeline.bus.emit(CONFIG_REFUSAL, { reason } satisfies ConfigRefusalSignal);
    const first = await this.refusals.note({
      actor: 'machine',
      action: 'config.refused',
      target: mac,
      sourceIp,
      reason,
    });
    if (first && onTimeline && mac) await this.timeline.record(mac, 'config-refused', { reason }, { sourceIp });
  }

  /** `/config` from `sourceIp` for this machine: a conflict when its current config went elsewhere. */
  async checkConfigRequest(mac: string, sourceIp: string): Promise<void> {
    await this.checkConflict(mac, sourceIp, '/config');
  }

  delivered(mac: string, tokenHash: string, sourceIp: string): void {
    this.deliveries.set(mac, { tokenHash, sourceIp });
  }

  private async checkConflict(mac: string, sourceIp: string, route: string, nic?: string): Promise<void> {
    const d = this.deliveries.get(mac);
    if (!d || d.sourceIp === sourceIp) return;
    const current = await this.store.tokens.forMachine(mac);
    if (current?.tokenHash !== d.tokenHash) {
      this.deliveries.delete(mac); // a new boot since: that delivery is history
      return;
    }
    this.timeline.bus.emit(CONFIG_CONFLICT, { route });
    const note: RefusalNote = {
      actor: 'machine',
      action: 'config.conflict',
      target: mac,
      sourceIp,
      reason: 'a second source asked for a config already delivered this boot',
      detail: { deliveredTo: d.sourceIp, route, ...(nic ? { nic } : {}) },
    };
    if (await this.refusals.note(note)) {
      await this.timeline.record(
        mac,
        'config-conflict',
        { severity: CRITICAL, reason: note.reason, deliveredTo: d.sourceIp, route },
        { sourceIp },
      );
    }
  }
}
