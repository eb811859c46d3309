import type { MachineService } from '../registry/machines.js';
import type { History } from '../timeline/history.js';
import type { KernelLogBuffer } from './kernel-log.js';
import type { StallDetector } from './stall.js';
import type { ProgressTracker } from './tracker.js';
import { waitingForBootstrap } from './interpret-events.js';
import type { KernelLogLine, MachineEvent, MachineState, ReimageRequest, UnmetCondition } from '../types.js';

/** Where a machine is and why, in one answer: what the dashboard and CLI show per machine. */
export interface MachineProgressView {
  mac: string;
  hostname: string | null;
  state: MachineState;
  stateChangedAt: string;
  installed: boolean;
  reimage: ReimageRequest | null;
  /** Why it failed, while it is `failed`. */
  failure: { reason: string; at: string; source: string } | null;
  /** Talos's readiness checks that are not met (plus `bootstrap` for a first control plane). */
  unmetConditions: UnmetCondition[];
  /** An operator step the machine is waiting for, e.g. `talosctl bootstrap`. */
  waitingFor: string | null;
  talos: { stage: string | null; ready: boolean | null; lastEventAt: string | null };
  /** The state's stall deadline and when it runs out (null: the state has none). */
  stall: { deadlineMs: number; dueAt: string } | null;
  /** While `stalled`: the state it stalled in. */
  stalledIn: MachineState | null;
  lastEvents: MachineEvent[];
  kernelLog: KernelLogLine[];
}

/** The services the view reads (the Core has them all). */
export interface ProgressViewSources {
  machines: MachineService;
  progress: ProgressTracker;
  stall: StallDetector;
  history: History;
  kernelLogs: KernelLogBuffer;
}

export async function machineProgressView(
  core: ProgressViewSources,
  macInput: string,
  opts: { events?: number; logLines?: number } = {},
): Promise<MachineProgressView> {
  const m = await core.machines.get(macInput);
  const p = await core.progress.progressOf(m.mac);
  const bootstrap = waitingForBootstrap(m, p);
  const unmet = [...p.unmetConditions];
  if (bootstrap && p.bootstrapWaitAt && !unmet.some((c) => c.name === 'bootstrap')) {
    unmet.push({
      name: 'bootstrap',
      reason: 'etcd is waiting to join the cluster: run `talosctl bootstrap` if this is the first control-plane node',
    });
  }
  const deadline = core.stall.deadlineFor(m.state);
  return {
    mac: m.mac,
    hostname: m.hostname,
    state: m.state,
    stateChangedAt: m.stateChangedAt,
    installed: m.installed,
    reimage: m.reimage,
    failure: m.state === 'failed' ? p.failure : null,
    unmetConditions: m.state === 'joined' ? [] : unmet,
    waitingFor: bootstrap && m.state !== 'joined' ? 'talosctl bootstrap' : null,
    talos: { stage: p.stage, ready: p.ready, lastEventAt: p.lastTalosEventAt },
    stall:
      deadline === null
        ? null
        : { deadlineMs: deadline, dueAt: new Date(core.stall.since(m) + deadline).toISOString() },
    stalledIn: m.state === 'stalled' ? (p.stalled?.from ?? null) : null,
    lastEvents: await core.history.lastEvents(m.mac, opts.events ?? 20),
    kernelLog: core.kernelLogs.tail(m.mac, opts.logLines ?? 50),
  };
}
