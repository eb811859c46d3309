import type { KernelLogSignal } from './kernel-log.js';
import { inInstallWindow } from '../timeline/lifecycle.js';
import type { Interpretation } from './interpret-events.js';
import type { Machine } from '../types.js';

type MachineFacts = Pick<Machine, 'state' | 'installed' | 'reimage'>;

/** The kernel-log signals about the install (the others, errors and bootstrap, the tracker keeps). */
export type InstallLogSignal = Exclude<KernelLogSignal, { kind: 'error' } | { kind: 'waiting-for-bootstrap' }>;

/**
 * The meaning of an install line on the kernel log for a machine in `state` (the caller passes
 * the state a stalled machine stalled in), or null when it means nothing for this machine. Pure,
 * like interpretTalosEvent. Talos v1.13 reports the install's end only ("installation of … complete");
 * v1.14's install controller reports its start (disk, image), its end, the reboot it asks for,
 * its warnings and its error — and a selector matching no disk, nothing (stall.ts's hint).
 */
export function interpretInstallLine(m: MachineFacts, signal: InstallLogSignal): Interpretation | null {
  // This boot is the install: not the wipe boot of a reimage, nor the old installation before it.
  const installs = inInstallWindow(m) && m.state !== 'wiping' && !(m.reimage && !m.reimage.wipeBootedAt);
  const source = 'kernel-log';
  switch (signal.kind) {
    case 'install-succeeded':
      if (!installs) return null;
      return {
        kind: 'install-succeeded',
        detail: { message: signal.message, source },
        state: 'installed',
        installed: true,
      };
    case 'install-reboot-requested':
      // Said right after the success line; alone (that line lost) it still means the install succeeded.
      if (installs)
        return {
          kind: 'install-succeeded',
          detail: { message: signal.message, source },
          state: 'installed',
          installed: true,
        };
      return { kind: 'install-reboot-requested', detail: { message: signal.message, source }, state: null };
    case 'install-started': {
      const detail = { message: signal.message, disk: signal.disk, image: signal.image, source };
      if (!installs) return { kind: 'install-started', detail, state: null };
      // The controller starts again only after its last attempt failed: Talos retries by itself.
      // A machine already `failed` keeps its state and first reason until something succeeds.
      if (m.state === 'installing' || m.state === 'failed') return { kind: 'install-retried', detail, state: null };
      return { kind: 'install-started', detail, state: 'installing' };
    }
    case 'install-failed': {
      const detail = { message: signal.message, error: signal.error, source };
      if (!installs || m.state === 'failed') return { kind: 'install-failed', detail, state: null };
      return { kind: 'install-failed', detail, state: 'failed', failure: `install failed: ${signal.error}` };
    }
    case 'install-no-reboot':
      return {
        kind: 'install-no-reboot',
        detail: {
          message: signal.message,
          source,
          hint: 'Talos installed but will not reboot by itself: UnattendedInstallConfig has `reboot: false`, or neither `reboot` nor `installer.image`; reboot it (`talosctl reboot`) or set `reboot: true`',
        },
        state: null,
      };
    case 'install-warning':
      return { kind: 'install-warning', detail: { message: signal.message, ...signal.detail, source }, state: null };
  }
}
