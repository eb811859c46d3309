/**
 * ProgressTracker: applies what Talos reports (event sink, kernel log) to the machines, once
 * attributed (peer-attribution.ts) and one address at a time (keyed-queue.ts); counts what the
 * listeners received (talos-counters.ts).
 */
import type { Store } from '../ports/types.js';
import type { UnattributedEvent } from '../ports/talos.js';
import { classifyKernelLine, type KernelLogBuffer } from './kernel-log.js';
import type { MachineService } from '../registry/machines.js';
import {
  interpretTalosEvent,
  newTalosSession,
  type Interpretation,
  type TalosEventEnvelope,
  type TalosSession,
} from './interpret-events.js';
import { interpretInstallLine } from './interpret-install-lines.js';
import { installProgressFor, type InstallProgressSignal } from '../config/talos-contract.js';
import type { Timeline } from '../timeline/timeline.js';
import type { KernelLogLine, Machine, MachineProgress, MachineState } from '../types.js';
import { KeyedQueue } from './keyed-queue.js';
import { PeerAttribution } from './peer-attribution.js';
import { blankProgress, blankTalosCounters, type IngestResult, type TalosCounters } from './talos-counters.js';

export type { IngestResult, TalosCounters } from './talos-counters.js';

/**
 * Everything Talos reports after its config was delivered, applied to the machines: attribution
 * (the request names no node, so the sender's address does), idempotency by event id, the
 * state machine (interpret-events.ts, interpret-install-lines.ts), the failure reason, unmet conditions and the kernel log.
 * Reports from one address are applied one at a time, in the order they arrived.
 */
export class ProgressTracker {
  readonly counters: TalosCounters = blankTalosCounters();
  private readonly sessions = new Map<string, TalosSession>();
  private readonly activity = new Map<string, number>();
  private readonly lastError = new Map<string, string>();
  private readonly queues = new KeyedQueue();
  private readonly attribution: PeerAttribution;

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly machines: MachineService,
    readonly kernelLogs: KernelLogBuffer,
  ) {
    this.attribution = new PeerAttribution(store);
  }

  /** When the machine last gave a sign of life (any event or kernel-log line), ms since the epoch. */
  lastActivity(mac: string): number | undefined {
    return this.activity.get(mac);
  }

  async progressOf(mac: string): Promise<MachineProgress> {
    return (await this.store.progress.get(mac)) ?? blankProgress(mac, this.timeline.now());
  }

  /** Talos events kept from addresses no machine is known by and not claimed since, oldest first. */
  unattributed(page: { afterId?: number; limit: number }): Promise<UnattributedEvent[]> {
    return this.store.talosEvents.listUnattributed({ unclaimedOnly: true, ...page });
  }

  unattributedCount(): Promise<number> {
    return this.store.talosEvents.countUnattributed({ unclaimedOnly: true });
  }

  ingestEvent(peerIp: string, env: TalosEventEnvelope): Promise<IngestResult> {
    return this.queues.run(peerIp, async () => {
      this.counters.eventsReceived++;
      if (!env.event) {
        this.counters.eventsUnknownType++;
        return 'ignored';
      }
      let m = await this.attribution.machineAt(peerIp);
      if (!m && env.event.type === 'address') {
        m = await this.attribution.identifyByAddresses(env.event.hostname, env.event.addresses);
        if (m) await this.learn(peerIp, m);
      }
      if (!m) {
        const fresh = await this.store.talosEvents.recordUnattributed({
          at: this.timeline.now(),
          peerIp,
          eventId: env.id,
          type: env.typeUrl.replace(/^.*\//, ''),
          payload: env as unknown as Record<string, unknown>,
        });
        if (fresh) this.counters.eventsUnattributed++;
        else this.counters.eventsDuplicate++;
        return fresh ? 'unattributed' : 'duplicate';
      }
      return this.apply(m.mac, peerIp, env);
    });
  }

  kernelLine(peerIp: string, line: KernelLogLine): Promise<void> {
    return this.queues.run(peerIp, async () => {
      this.counters.kmsgLines++;
      const m = await this.attribution.machineAt(peerIp);
      this.kernelLogs.append(m ? m.mac : `ip:${peerIp}`, line);
      if (!m) {
        this.counters.kmsgUnattributed++;
        return;
      }
      this.activity.set(m.mac, this.timeline.clockMs());
      const signal = classifyKernelLine(line);
      if (!signal || m.state === 'discovered') return;
      if (signal.kind === 'error') {
        this.lastError.set(m.mac, signal.message);
        return;
      }
      const progress = await this.progressOf(m.mac);
      const state = m.state === 'stalled' && progress.stalled ? progress.stalled.from : m.state;
      if (signal.kind !== 'waiting-for-bootstrap') {
        const r = interpretInstallLine({ ...m, state }, signal);
        if (r) await this.applyInstallLine(m, state, progress, peerIp, r);
        return;
      }
      if (progress.bootstrapWaitAt) return; // said once per wait
      progress.bootstrapWaitAt = this.timeline.now();
      progress.stalled = null;
      await this.putProgress(progress);
      await this.timeline.record(
        m,
        'waiting-for-bootstrap',
        {
          message: signal.message,
          hint: 'run `talosctl bootstrap` against this node if it is the first control-plane node',
        },
        {
          sourceIp: peerIp,
          ...(m.state === 'stalled' ? { state } : {}),
        },
      );
    });
  }

  /** An install line on the kernel log: like an event, it moves the machine and ends a stall. */
  private async applyInstallLine(
    m: Machine,
    effective: MachineState,
    progress: MachineProgress,
    peerIp: string,
    r: Interpretation,
  ): Promise<void> {
    if (r.installed) await this.machines.completeInstall(m.mac);
    const state = r.state ?? (m.state === 'stalled' ? effective : null);
    let changed = this.noteFailure(progress, effective, r, state, 'kernel log');
    if (state && state !== 'stalled' && progress.stalled) {
      progress.stalled = null;
      changed = true;
    }
    if (changed) await this.putProgress(progress);
    await this.timeline.record(m, r.kind ?? 'kernel-log', r.detail, { sourceIp: peerIp, ...(state ? { state } : {}) });
  }

  /**
   * A failure's reason is the first one: what follows a failure (a service stopping, machined
   * giving up) is its consequence and goes on the timeline only. False when nothing changed.
   */
  private noteFailure(
    progress: MachineProgress,
    effective: MachineState,
    r: Interpretation,
    state: MachineState | null,
    source: string,
  ): boolean {
    if (!r.failure || state !== 'failed') return false;
    const context = this.lastError.get(progress.mac);
    if (context) r.detail.kernelLog = context;
    if (effective === 'failed' && progress.failure) return false;
    progress.failure = { reason: r.failure, at: this.timeline.now(), source };
    return true;
  }

  private async apply(mac: string, peerIp: string, env: TalosEventEnvelope): Promise<IngestResult> {
    if (env.id && !(await this.store.talosEvents.markSeen(mac, env.id))) {
      this.counters.eventsDuplicate++;
      return 'duplicate';
    }
    try {
      await this.applyFresh(mac, peerIp, env);
      this.counters.eventsRecorded++;
      return 'recorded';
    } catch (err) {
      this.counters.eventsFailed++;
      if (env.id) await this.store.talosEvents.forget(mac, env.id).catch(() => undefined);
      throw err;
    }
  }

  private async applyFresh(mac: string, peerIp: string, env: TalosEventEnvelope): Promise<void> {
    const m = await this.store.machines.get(mac);
    if (!m || !env.event) return;
    this.activity.set(mac, this.timeline.clockMs());
    let session = this.sessions.get(mac);
    if (!session) {
      session = newTalosSession();
      this.sessions.set(mac, session);
    }
    const progress = await this.progressOf(mac);
    // A stalled machine is judged by where it stalled; any report from it ends the stall.
    const effective: MachineState = m.state === 'stalled' && progress.stalled ? progress.stalled.from : m.state;
    // Only sequences are read differently per Talos version (v1.14 installs without one).
    const installProgress = env.event.type === 'sequence' ? await this.installProgressOf(m) : undefined;
    const r = interpretTalosEvent({ ...m, state: effective, installProgress }, session, env.event);
    let state = m.state === 'discovered' ? null : r.state;
    let kind = r.kind;
    if (state === null && m.state === 'stalled') {
      state = effective;
      kind ??= 'stall-cleared';
    }
    const now = this.timeline.now();
    let changed = false;
    if (r.installed) await this.machines.completeInstall(mac);
    if (this.noteFailure(progress, effective, r, state, `talos ${env.event.type}`)) changed = true;
    if (r.status) {
      Object.assign(progress, {
        stage: r.status.stage,
        ready: r.status.ready,
        unmetConditions: r.status.unmetConditions,
      });
      changed = true;
    }
    if ((r.bootstrapDone || state === 'joined') && progress.bootstrapWaitAt) {
      progress.bootstrapWaitAt = null;
      changed = true;
    }
    if (state && state !== 'stalled' && progress.stalled) {
      progress.stalled = null;
      changed = true;
    }
    if (changed || kind || state) {
      progress.lastTalosEventAt = now;
      await this.putProgress(progress);
    }
    if (kind || state) {
      await this.timeline.record(
        m,
        kind ?? 'talos-event',
        { ...r.detail, eventId: env.id },
        { sourceIp: peerIp, ...(state ? { state } : {}) },
      );
    }
  }

  /** Which signals report this machine's install: its cluster's Talos version contract. */
  private async installProgressOf(m: Machine): Promise<InstallProgressSignal> {
    return installProgressFor(m.cluster ? (await this.store.clusters.get(m.cluster))?.talosVersion : undefined);
  }

  /** Remember the address, then apply what it sent before anyone knew whose it was. */
  private async learn(peerIp: string, m: Machine): Promise<void> {
    this.attribution.remember(peerIp, m.mac);
    await this.machines.noteSeen(m, { ip: peerIp });
    this.kernelLogs.adopt(`ip:${peerIp}`, m.mac);
    const pending = await this.store.talosEvents.listUnattributed({ peerIp, unclaimedOnly: true, limit: 5000 });
    for (const p of pending) await this.apply(m.mac, peerIp, p.payload as unknown as TalosEventEnvelope);
    await this.store.talosEvents.claimUnattributed(
      pending.map((p) => p.id),
      m.mac,
    );
  }

  private async putProgress(p: MachineProgress): Promise<void> {
    p.updatedAt = this.timeline.now();
    await this.store.progress.put(p);
  }

  /** Record that the stall detector stalled a machine (so its reports are judged by `from`). */
  async noteStalled(mac: string, from: MachineState): Promise<void> {
    const p = await this.progressOf(mac);
    p.stalled = { from, at: this.timeline.now() };
    await this.putProgress(p);
  }
}
