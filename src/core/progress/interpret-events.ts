import { inInstallWindow } from '../timeline/lifecycle.js';
import type { InstallProgressSignal } from '../config/talos-contract.js';
import type { Machine, MachineState, UnmetCondition } from '../types.js';

/**
 * Talos's own progress reports (event sink), decoded by the gRPC adapter, and what they mean for
 * a machine's state. Names follow Talos's `api/machine/machine.proto`; enum values are their names.
 * This module is pure: the tracker (tracker.ts) stores, records and attributes.
 */
export type TalosEvent =
  | { type: 'sequence'; sequence: string; action: string; error: { code: string; message: string } | null }
  | { type: 'phase'; phase: string; action: string }
  | { type: 'task'; task: string; action: string }
  | {
      type: 'service';
      service: string;
      action: string;
      message: string;
      health: { unknown: boolean; healthy: boolean; lastMessage: string } | null;
    }
  | { type: 'machine-status'; stage: string; ready: boolean; unmetConditions: UnmetCondition[] }
  | { type: 'config-load-error'; error: string }
  | { type: 'address'; hostname: string; addresses: string[] };

/** One `EventRequest` as the sink received it; `event` is null for a type metalboot does not know. */
export interface TalosEventEnvelope {
  id: string;
  actorId: string;
  typeUrl: string;
  event: TalosEvent | null;
}

/** What one connection's event stream told us so far; events carry no sequence, so phases need it. */
export interface TalosSession {
  sequence: string | null; // the sequence running now
  installPhaseStopped: boolean; // the `install` phase ended inside the install sequence
  services: Map<string, string>; // last recorded `ACTION/healthy` per service
  statusKey: string | null; // last recorded machine status
  addressKey: string | null; // last recorded addresses
}

export const newTalosSession = (): TalosSession => ({
  sequence: null,
  installPhaseStopped: false,
  services: new Map(),
  statusKey: null,
  addressKey: null,
});

export interface Interpretation {
  /** Timeline kind, or null for an event only counted (tasks, repeats) so a boot is not 300 entries. */
  kind: string | null;
  detail: Record<string, unknown>;
  state: MachineState | null;
  /** Talos is on the disk now: the machine's next network boot must boot it. */
  installed?: true;
  failure?: string;
  status?: { stage: string; ready: boolean; unmetConditions: UnmetCondition[] };
  /** etcd runs: the first control plane is no longer waiting for `talosctl bootstrap`. */
  bootstrapDone?: true;
}

/** The installed machine's path, in order: progress only moves forward along it within a boot. */
const AFTER_INSTALL: MachineState[] = ['installed', 'booting-from-disk', 'running', 'kubelet-running', 'joined'];
const BOOTED_FROM_DISK = AFTER_INSTALL.slice(1);

/**
 * Move toward `target` unless the machine is already there or further along. States off the
 * path (failed, stalled, the install path) always move: any progress report is news.
 */
export function forward(current: MachineState, target: MachineState): MachineState | null {
  if (current === target) return null;
  const c = AFTER_INSTALL.indexOf(current);
  const t = AFTER_INSTALL.indexOf(target);
  return c >= 0 && t >= 0 && t < c ? null : target;
}

// The sequence names Talos emits (runtime.Sequence.String()).
const INSTALL = 'install';
const NEW_BOOT = new Set(['initialize', 'boot']);
// Service actions worth a timeline entry; the others are the ordinary way to RUNNING.
const RECORDED_SERVICE_ACTIONS = new Set(['WAITING', 'RUNNING', 'FINISHED', 'FAILED', 'SKIPPED']);

type MachineFacts = Pick<Machine, 'state' | 'installed' | 'reimage' | 'role'> & {
  /** What reports the install for the machine's Talos version (talos-contract.ts); `install-sequence` when unknown. */
  installProgress?: InstallProgressSignal;
};

/**
 * Talos ends a sequence that reboots (or kexecs) with a FATAL error whose message is its
 * RebootError, `unix.Reboot(<cmd>)` ("sequence failed: error running phase 9 in install sequence:
 * task 1/1: failed, unix.Reboot(45584543)"): the reboot interrupts the sequence. Omni and Sidero
 * read it as a reboot, not a failure, and so does metalboot.
 */
export const isRebootError = (message: string): boolean => message.includes('unix.Reboot');

/** `sequence failed: x` is how Talos words every sequence error; the reason says it once. */
const sequenceFailure = (sequence: string, message: string) =>
  `${sequence} sequence failed: ${message.replace(/^sequence failed: /, '')}`;

/**
 * The meaning of one Talos event for a machine in `state` (the caller passes the state a stalled
 * machine stalled in). Mirrors Talos's own MachineStatusController: install phase START is
 * "installing", kexec/reboot inside the install sequence is "installed", boot STOP is "running";
 * a FATAL sequence error (other than the reboot that ends a sequence), a config load error or a
 * FAILED service is a failure.
 */
export function interpretTalosEvent(m: MachineFacts, session: TalosSession, e: TalosEvent): Interpretation {
  const r = interpret(m, session, e);
  // Until the wipe boot of a reimage ran, reports come from the old installation: on the
  // timeline, but they do not move a machine the operator is about to reimage.
  if (m.reimage && !m.reimage.wipeBootedAt) return { kind: r.kind, detail: r.detail, state: null };
  return r;
}

function interpret(m: MachineFacts, session: TalosSession, e: TalosEvent): Interpretation {
  const none = (kind: string | null, detail: Record<string, unknown>): Interpretation => ({
    kind,
    detail,
    state: null,
  });
  // Reports from the wipe boot itself are not the install either (that is the boot after it).
  const installWindow = inInstallWindow(m) && m.state !== 'wiping';
  switch (e.type) {
    case 'sequence': {
      const detail = { sequence: e.sequence, action: e.action, ...(e.error ? { error: e.error } : {}) };
      if (e.action === 'START') {
        session.sequence = e.sequence;
        if (e.sequence === INSTALL) session.installPhaseStopped = false;
      }
      if (e.action === 'STOP' && session.sequence === e.sequence) session.sequence = null;
      if (e.error && e.sequence === INSTALL) session.installPhaseStopped = false; // it stopped by failing
      if (e.error && e.error.code === 'FATAL' && isRebootError(e.error.message)) {
        // The install sequence's last phase reboots into the installed system: installed, if the
        // phases before did not say so already (a metalboot restart or a lost event).
        if (e.sequence === INSTALL && installWindow && m.state !== 'installed')
          return {
            kind: 'talos-sequence',
            detail: { ...detail, note: 'rebooting after the install' },
            state: 'installed',
            installed: true,
          };
        return none('talos-sequence', { ...detail, note: 'rebooting' });
      }
      if (e.error && e.error.code === 'FATAL') {
        return {
          kind: 'talos-sequence-failed',
          detail,
          state: 'failed',
          failure: sequenceFailure(e.sequence, e.error.message),
        };
      }
      if (e.error) return none('talos-sequence', detail); // LOCKED/CANCELED: another sequence ran, not a failure
      if (e.action === 'START' && e.sequence === INSTALL && installWindow && m.state !== 'installing') {
        return { kind: 'talos-sequence', detail, state: 'installing' };
      }
      if (
        e.action === 'START' &&
        NEW_BOOT.has(e.sequence) &&
        m.installed &&
        !m.reimage &&
        m.state !== 'booting-from-disk'
      ) {
        return { kind: 'talos-sequence', detail, state: 'booting-from-disk' };
      }
      if (e.action === 'STOP' && e.sequence === 'boot') {
        // Talos v1.14's install controller installs while the PXE boot runs the boot sequence:
        // there, boot STOP says neither "installed" nor "running"; only a boot from the disk runs.
        if (m.installProgress === 'install-controller-log' && !BOOTED_FROM_DISK.includes(m.state))
          return none('talos-sequence', detail);
        // Boot STOP on a machine we did not install: Talos found an installation on the disk and
        // skipped the install, so the disk is what it should boot from now.
        if (m.reimage) return none('talos-sequence', detail);
        const foundOnDisk = !m.installed;
        return {
          kind: 'talos-sequence',
          detail: foundOnDisk ? { ...detail, note: 'Talos booted an existing installation' } : detail,
          state: forward(m.state, 'running'),
          ...(foundOnDisk ? { installed: true as const } : {}),
        };
      }
      // Install STOP alone says nothing: Talos publishes it (deferred) before the NOOP carrying the
      // sequence's error, so after a failed install phase the STOP comes first. Success shows as
      // the phase after `install` starting, or as the reboot NOOP above.
      return none('talos-sequence', detail);
    }
    case 'phase': {
      const detail = { phase: e.phase, action: e.action, sequence: session.sequence };
      const inInstall = session.sequence === INSTALL;
      if (e.action === 'STOP') {
        if (inInstall && e.phase === 'install') {
          session.installPhaseStopped = true;
          return none('talos-phase', detail);
        }
        return none(null, detail);
      }
      if (inInstall && installWindow && e.phase === 'install' && m.state !== 'installing')
        return { kind: 'talos-phase', detail, state: 'installing' };
      // Whatever follows the install phase (saveConfig, kexec, reboot…) means the installer succeeded.
      // Judged by the sequence, not the state: Talos's own DHCP may have moved the state meanwhile.
      if (
        inInstall &&
        installWindow &&
        (e.phase === 'kexec' || e.phase === 'reboot' || session.installPhaseStopped) &&
        m.state !== 'installed'
      ) {
        return { kind: 'talos-phase', detail, state: 'installed', installed: true };
      }
      return none('talos-phase', detail);
    }
    case 'task':
      // A maintenance-mode Talos waits for a config to be applied: worth seeing.
      if (e.task === 'runningMaintenance' && e.action === 'START') return none('talos-maintenance', { task: e.task });
      return none(null, { task: e.task, action: e.action });
    case 'service': {
      const healthy = e.health ? (e.health.unknown ? null : e.health.healthy) : null;
      const detail = { service: e.service, action: e.action, message: e.message, healthy };
      const key = `${e.action}/${String(healthy)}`;
      const repeat = session.services.get(e.service) === key;
      session.services.set(e.service, key);
      const kind = !repeat && RECORDED_SERVICE_ACTIONS.has(e.action) ? 'talos-service' : null;
      if (e.action === 'FAILED') {
        return {
          kind: 'talos-service-failed',
          detail,
          state: 'failed',
          failure: `service ${e.service} failed: ${e.message || e.health?.lastMessage || 'no message'}`,
        };
      }
      const running = e.action === 'RUNNING' && healthy === true;
      if (running && e.service === 'kubelet' && m.installed)
        return { kind, detail, state: forward(m.state, 'kubelet-running') };
      if (running && e.service === 'etcd') return { kind, detail, state: null, bootstrapDone: true };
      return none(kind, detail);
    }
    case 'machine-status': {
      const status = { stage: e.stage, ready: e.ready, unmetConditions: e.unmetConditions };
      const key = JSON.stringify(status);
      const repeat = session.statusKey === key;
      session.statusKey = key;
      const base: Interpretation = { kind: repeat ? null : 'talos-status', detail: status, state: null, status };
      if (e.stage === 'RUNNING' && e.ready && m.installed) return { ...base, state: forward(m.state, 'joined') };
      if (e.stage === 'INSTALLING' && installWindow && m.state !== 'installing' && m.state !== 'installed')
        return { ...base, state: 'installing' };
      // Talos's own stage machine: REBOOTING while installing is the kexec after a good install (a
      // failed one is `failed` first). Covers a metalboot restart that lost the running sequence.
      if (e.stage === 'REBOOTING' && installWindow && m.state === 'installing')
        return { ...base, state: 'installed', installed: true };
      return base;
    }
    case 'config-load-error':
      return {
        kind: 'talos-config-load-error',
        detail: { error: e.error },
        state: 'failed',
        failure: `config load error: ${e.error}`,
      };
    case 'address': {
      const key = JSON.stringify([e.hostname, e.addresses]);
      const repeat = session.addressKey === key;
      session.addressKey = key;
      return none(repeat ? null : 'talos-addresses', { hostname: e.hostname, addresses: e.addresses });
    }
  }
}

/**
 * A control-plane node that waits for `talosctl bootstrap` is waiting for its operator, not
 * stuck: Talos says so in the kernel log, and its readiness checks name etcd.
 */
export function waitingForBootstrap(
  m: Pick<Machine, 'role'>,
  p: { bootstrapWaitAt: string | null; unmetConditions: UnmetCondition[] } | undefined,
): boolean {
  if (m.role !== 'controlplane' || !p) return false;
  return p.bootstrapWaitAt !== null || p.unmetConditions.some((c) => /\betcd\b/.test(c.reason));
}
