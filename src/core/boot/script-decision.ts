import { inInstallWindow } from '../timeline/lifecycle.js';
import type { Cluster, Machine } from '../types.js';

/** `refused`: an install or wipe script asked for by a request not tied to the machine (binding/config-binding.ts). */
export type ScriptKind = 'install' | 'wipe' | 'localboot' | 'discovery' | 'unavailable' | 'refused';

/**
 * Which per-machine iPXE script a machine gets: `reason` says why it is `unavailable`; the
 * scripts that boot Talos carry the cluster they boot (so callers need no non-null assertions).
 */
export type ScriptDecision =
  | { kind: 'discovery'; reason?: undefined }
  | { kind: 'localboot'; reason?: undefined }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'wipe'; reason?: undefined; cluster: Cluster }
  | { kind: 'install'; reason?: undefined; cluster: Cluster };

/**
 * The decision behind `GET /ipxe`, pure: BootService.machineScript acts on it (records, tokens,
 * wipe bookkeeping) and the boot preview describes it, so the two cannot drift apart.
 *
 * In order: unknown or only discovered → discovery; installed and not being reimaged → local
 * boot; no cluster (or one that does not exist) or no role → unavailable; a reimage whose wipe
 * boot has not booted yet → wipe; else install.
 *
 * `cluster` is the machine's cluster as the store has it (undefined when it has none or it does
 * not exist); it only matters once the machine is in its install window.
 */
export function decideScript(machine: Machine | undefined, cluster: Cluster | undefined): ScriptDecision {
  if (!machine || machine.state === 'discovered') return { kind: 'discovery' };
  if (!inInstallWindow(machine)) return { kind: 'localboot' };
  if (!cluster || !machine.role) {
    const reason = !machine.cluster
      ? 'no cluster assigned'
      : !cluster
        ? `cluster ${machine.cluster} does not exist`
        : 'no role assigned';
    return { kind: 'unavailable', reason };
  }
  // Reimage, first boot: Talos wipes STATE/EPHEMERAL and reboots (no config, no token).
  if (machine.reimage && !machine.reimage.wipeBootedAt) return { kind: 'wipe', cluster };
  return { kind: 'install', cluster };
}

/** Whether decideScript needs the machine's cluster: only a machine in its install window with one named. */
export function needsCluster(machine: Machine | undefined): machine is Machine & { cluster: string } {
  return machine !== undefined && inInstallWindow(machine) && !!machine.cluster;
}
