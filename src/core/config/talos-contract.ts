import { parseTalosVersion } from './cmdline.js';

// Talos version contracts, as data: for each Talos minor version metalboot knows, where the
// per-machine install settings are rendered and which signals tell install progress. Everything
// that differs between Talos versions in rendering or progress reads this table (and nothing else),
// so supporting a new minor version starts here.
//
// Sources (siderolabs/talos): `pkg/machinery/config/contract.go` (from contract 1.14 talosctl writes
// the install settings as an `UnattendedInstallConfig` document), `v1alpha1_sequencer.go` (with that
// document Talos runs no `install` sequence), and the `UnattendedInstallController`'s machined log
// lines (`installing Talos`, `install successful`, `requesting reboot after successful install`).

/** Where a machine's install disk, wipe and installer image are written. */
export type InstallSettingsPlace = 'machine.install' | 'UnattendedInstallConfig';

/** What reports an install's progress. */
export type InstallProgressSignal = 'install-sequence' | 'install-controller-log';

export interface TalosContract {
  /** The first minor version of the contract, e.g. `v1.14`. */
  readonly since: string;
  readonly major: number;
  readonly minor: number;
  /** Where per-machine install settings go (`.machine.install` or the typed document). */
  readonly installSettings: InstallSettingsPlace;
  /** Which events drive `installing` → `installed`. */
  readonly installProgress: InstallProgressSignal;
  /** One line for README/doctor: what is rendered where and what is read. */
  readonly summary: string;
}

/** Oldest first. A version older than the first row uses the first row. */
export const TALOS_CONTRACTS: readonly TalosContract[] = [
  {
    since: 'v1.11',
    major: 1,
    minor: 11,
    installSettings: 'machine.install',
    installProgress: 'install-sequence',
    summary:
      'install disk, selector, wipe and image in .machine.install; progress from the install sequence (event sink) and machined log lines',
  },
  {
    since: 'v1.14',
    major: 1,
    minor: 14,
    installSettings: 'UnattendedInstallConfig',
    installProgress: 'install-controller-log',
    summary:
      'install disk (CEL diskSelector), wipe and installer image in an UnattendedInstallConfig document; progress from the install controller’s kernel-log lines (no install sequence)',
  },
];

export interface ContractChoice {
  contract: TalosContract;
  /** True when the version is newer than every contract known: the newest one is used. */
  newerThanKnown: boolean;
}

/** The contract a Talos version speaks; throws on a string that is not a Talos version. */
export function contractFor(version: string): ContractChoice {
  const [major, minor] = parseTalosVersion(version);
  const newest = TALOS_CONTRACTS[TALOS_CONTRACTS.length - 1]!;
  let chosen = TALOS_CONTRACTS[0]!;
  for (const c of TALOS_CONTRACTS) {
    if (major > c.major || (major === c.major && minor >= c.minor)) chosen = c;
  }
  // A minor past the newest contract's is a guess (the newest rules, that version's own schema);
  // doctor says so.
  const newerThanKnown = major > newest.major || (major === newest.major && minor > newest.minor);
  return { contract: chosen, newerThanKnown };
}

/**
 * Which signals report an install for a cluster's Talos version; the oldest contract's when the
 * version is unknown (no cluster) or not a Talos version (cluster create refuses those).
 */
export function installProgressFor(version: string | undefined): InstallProgressSignal {
  try {
    return contractFor(version ?? '').contract.installProgress;
  } catch {
    return TALOS_CONTRACTS[0]!.installProgress;
  }
}
