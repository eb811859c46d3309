/** The data model shared by the core, the store and the adapters. Plain data, no behaviour. */

export type Role = 'controlplane' | 'worker';
export type Arch = 'amd64' | 'arm64';

/**
 * One state vocabulary for a machine's whole life, from first DHCP packet to Kubernetes join.
 * The order of the install path matters (see timeline/lifecycle.ts); `failed`, `stalled` and the reimage
 * states sit beside it.
 */
export const MACHINE_STATES = [
  'discovered', // booted, unknown MAC: recorded, nothing installed
  'registered', // known to metalboot, never seen on the network yet
  'dhcp', // DHCP exchange seen
  'pxe', // TFTP transfer of the iPXE binary seen
  'pxe-booting', // iPXE fetched its boot script
  'kernel-loaded', // kernel (and initramfs) downloaded
  'config-delivered', // Talos fetched its machine config
  'installing', // Talos reported the install sequence
  'installed', // install done, rebooting into the disk
  'booting-from-disk', // network boot answered with "boot from disk"
  'running', // Talos boot sequence finished
  'kubelet-running',
  'joined', // node ready in Kubernetes
  'reimage-requested',
  'wiping',
  'failed',
  'stalled',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

export interface Cluster {
  name: string;
  talosVersion: string; // `v1.13.9`
  arch: Arch;
  endpoint: string | null; // control-plane endpoint, informational (the base configs carry it)
  controlplane: string; // talosctl YAML, as given
  worker: string;
  patches: string[]; // each as a user passes to `talosctl --config-patch`
  kernelArgs: string[];
  schematic: string | null; // Image Factory schematic id
  createdAt: string;
  updatedAt: string;
}

/** How an installed machine leaves iPXE for its disk: `exit` suits most firmware. */
export type LocalBootMethod = 'exit' | 'sanboot';

export interface Machine {
  mac: string; // normalised aa:bb:cc:dd:ee:ff
  uuid: string | null;
  serial: string | null;
  hostname: string | null;
  role: Role | null;
  cluster: string | null;
  installDisk: string | null; // a path (`/dev/sda`); see installDiskSelector for selectors
  installDiskSelector: Record<string, unknown> | null;
  labels: Record<string, string>;
  patches: string[];
  ip: string | null; // reserved address (authoritative DHCP)
  bootFile: string | null; // firmware-specific iPXE binary override, e.g. snponly.efi
  localBoot: LocalBootMethod;
  state: MachineState;
  stateChangedAt: string;
  installed: boolean; // Talos is on the disk: network boots get "boot from disk"
  reimage: ReimageRequest | null;
  lastSeen: SeenFacts;
  createdAt: string;
  updatedAt: string;
}

export interface ReimageRequest {
  wipe: 'system' | 'disk';
  requestedAt: string;
  /** The state before the request, restored when the request is canceled. */
  previousState?: MachineState;
  /** When the wipe boot (`talos.experimental.wipe=system`) was served. */
  wipeServedAt?: string | null;
  /** When that boot downloaded its initramfs in full: the next network boot installs. */
  wipeBootedAt?: string | null;
  /**
   * The reimage drives the machine's power through its BMC (`reimage --power-cycle`): the boot
   * after the wipe must come from the network too, so the BMC is told "PXE once" again when the
   * wipe boot is served.
   */
  power?: boolean;
}

/** What the network told us about a machine the last time it booted. */
export interface SeenFacts {
  ip?: string;
  arch?: Arch;
  firmware?: 'pcbios' | 'efi';
  platform?: string;
  uuid?: string;
  serial?: string;
  at?: string;
}

export interface MachineEvent {
  id: number;
  mac: string;
  at: string;
  kind: string; // e.g. `boot-script`, `kernel-download-completed`, `config-refused`
  detail: Record<string, unknown>;
  sourceIp: string | null;
  state: MachineState | null; // state after the event, when it changed it
  /** How many times it happened, when identical repeats were coalesced into it (absent: once). */
  repeats?: number;
  /** When the last of those repeats happened (only with `repeats`). */
  lastAt?: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string; // `api` (token holder), `machine`, `system`
  action: string; // `machine.create`, `config.delivered`, `config.refused`, …
  target: string | null;
  detail: Record<string, unknown>;
  sourceIp: string | null;
}

/** A per-boot secret that authorises one machine to fetch its config from one IP. */
export interface ConfigToken {
  tokenHash: string;
  mac: string;
  sourceIp: string;
  createdAt: string;
  expiresAt: string;
}

/** One of the readiness checks Talos reports as not met (`MachineStatusEvent.status.unmet_conditions`). */
export interface UnmetCondition {
  name: string; // `time`, `network`, `services`, `staticPods`, `nodeReady`, or metalboot's `bootstrap`
  reason: string;
}

/**
 * What Talos itself last told us about a machine, beside the state (kept apart from the Machine
 * document so operator edits and Talos reports never overwrite each other).
 */
export interface MachineProgress {
  mac: string;
  stage: string | null; // MachineStatusEvent stage: BOOTING, INSTALLING, RUNNING, …
  ready: boolean | null;
  unmetConditions: UnmetCondition[];
  /** The last failure; shown as the failure reason while the machine is `failed`. */
  failure: { reason: string; at: string; source: string } | null;
  /** Set when the stall detector moved the machine to `stalled`: which state it stalled in. */
  stalled: { from: MachineState; at: string } | null;
  /** A control-plane node's etcd waits for `talosctl bootstrap` (an operator step, not a stall). */
  bootstrapWaitAt: string | null;
  lastTalosEventAt: string | null;
  updatedAt: string;
}

/** One line of a machine's kernel log as Talos streams it (`talos.logging.kernel`). */
export interface KernelLogLine {
  receivedAt: string;
  msg: string;
  facility: string | null;
  priority: string | null;
  seq: number | null;
  clock: number | null;
  level: string | null; // talos-level
  talosTime: string | null;
}
