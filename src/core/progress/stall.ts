import type { Store } from '../ports/types.js';
import { installSelectorHint } from '../config/install-selector.js';
import { waitingForBootstrap } from './interpret-events.js';
import type { ProgressTracker } from './tracker.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Machine, MachineEvent, MachineState } from '../types.js';

const MIN = 60_000;

/**
 * How long a machine may stay silent in a state before it shows as `stalled`. Sized for a real
 * install: a PXE boot takes seconds to minutes, pulling the installer image and writing the disk
 * minutes, pulling Kubernetes images and joining tens of minutes. States that wait for an operator
 * (registered, reimage-requested) or are final (joined, failed, stalled) have none.
 */
export const DEFAULT_STALL_DEADLINES: Partial<Record<MachineState, number>> = {
  dhcp: 10 * MIN,
  pxe: 10 * MIN,
  'pxe-booting': 10 * MIN,
  'kernel-loaded': 15 * MIN,
  'config-delivered': 15 * MIN,
  installing: 15 * MIN,
  installed: 15 * MIN,
  wiping: 15 * MIN,
  'booting-from-disk': 15 * MIN,
  running: 20 * MIN,
  'kubelet-running': 30 * MIN,
};

/**
 * `--stall-deadlines installing=30,kubelet-running=60,pxe=off`: minutes per state over the
 * defaults; `off` (or 0) takes a state's deadline away. Only states that can stall are accepted.
 */
export function parseStallDeadlines(text: string): Partial<Record<MachineState, number>> {
  const result = { ...DEFAULT_STALL_DEADLINES };
  const states = Object.keys(DEFAULT_STALL_DEADLINES);
  for (const item of text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([a-z-]+)=(off|\d+(?:\.\d+)?)$/.exec(item);
    if (!m)
      throw new Error(`--stall-deadlines: "${item}" must be <state>=<minutes> or <state>=off (e.g. installing=30)`);
    const state = m[1] as MachineState;
    if (!states.includes(state))
      throw new Error(`--stall-deadlines: "${m[1]}" is not a state that can stall; one of ${states.join(', ')}`);
    const minutes = m[2] === 'off' ? 0 : Number(m[2]);
    if (minutes === 0) delete result[state];
    else result[state] = Math.round(minutes * MIN);
  }
  return result;
}

/**
 * Marks machines `stalled` when nothing happened for longer than their state's deadline: no
 * state change and no sign of life from Talos (event or kernel-log line). A timer calls `check`;
 * tests call it directly after moving the clock. A first control plane waiting for
 * `talosctl bootstrap` is waiting for its operator and is not stalled (its unmet conditions say so).
 */
export class StallDetector {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<MachineEvent[]> | null = null;

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly progress: ProgressTracker,
    private deadlines: Partial<Record<MachineState, number>> = DEFAULT_STALL_DEADLINES,
  ) {}

  /**
   * Only Talos's own reports end some states: without the event sink nothing moves a machine on
   * from booting-from-disk, running or kubelet-running, and without either listener nothing from
   * config-delivered or installing. Those states then have no deadline, rather than every
   * machine showing `stalled` after it.
   */
  limitToReporters(reporters: { events: boolean; kmsg: boolean }): void {
    const silent: MachineState[] = [];
    if (!reporters.events) silent.push('booting-from-disk', 'running', 'kubelet-running');
    if (!reporters.events && !reporters.kmsg) silent.push('config-delivered', 'installing');
    this.deadlines = Object.fromEntries(
      Object.entries(this.deadlines).filter(([state]) => !silent.includes(state as MachineState)),
    );
  }

  deadlineFor(state: MachineState): number | null {
    return this.deadlines[state] ?? null;
  }

  /** When the machine's current state started to count: the later of its change and the last sign of life. */
  since(m: Pick<Machine, 'mac' | 'stateChangedAt'>): number {
    return Math.max(Date.parse(m.stateChangedAt), this.progress.lastActivity(m.mac) ?? 0);
  }

  /** One pass over the registry; the `stalled` events it recorded. Overlapping calls share one pass. */
  check(): Promise<MachineEvent[]> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<MachineEvent[]> {
    const now = this.timeline.clockMs();
    const stalled: MachineEvent[] = [];
    // Only machines in a state with a deadline: the registry may hold 100,000 installed machines,
    // and this runs on the event loop every 30 s.
    const states = (Object.keys(this.deadlines) as MachineState[]).filter((s) => this.deadlineFor(s) !== null);
    for (const m of await this.store.machines.list({ states })) {
      const deadline = this.deadlineFor(m.state);
      if (deadline === null) continue;
      const silentFor = now - this.since(m);
      if (silentFor <= deadline) continue;
      const progress = await this.store.progress.get(m.mac);
      if (waitingForBootstrap(m, progress)) continue;
      // Re-read: the machine may have moved while this pass looked at others.
      const current = await this.store.machines.get(m.mac);
      if (!current || current.state !== m.state || current.stateChangedAt !== m.stateChangedAt) continue;
      await this.progress.noteStalled(m.mac, m.state);
      const hint = await this.hintFor(m);
      stalled.push(
        await this.timeline.record(
          m,
          'stalled',
          {
            in: m.state,
            silentForMs: silentFor,
            deadlineMs: deadline,
            unmetConditions: progress?.unmetConditions ?? [],
            ...(hint ? { hint } : {}),
          },
          { state: 'stalled' },
        ),
      );
    }
    return stalled;
  }

  /** What to check first: silence after the config, on a Talos that installs from a disk selector, is the selector. */
  private async hintFor(m: Machine): Promise<string | null> {
    if (m.state !== 'config-delivered' || !m.cluster) return null;
    const cluster = await this.store.clusters.get(m.cluster);
    return cluster ? installSelectorHint(m, cluster) : null;
  }

  /** Check every `intervalMs` until stop(); errors are reported to `onError`, never thrown. */
  start(intervalMs = 30_000, onError: (err: unknown) => void = () => undefined): void {
    this.stop();
    this.timer = setInterval(() => void this.check().catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
