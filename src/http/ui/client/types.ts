/**
 * The shapes the dashboard reads from /api/v1, as far as it reads them. The server's own types
 * (src/core) are the authority; these are the browser's view and stay minimal on purpose.
 */

export interface MachineEvent {
  id: number;
  mac: string;
  kind: string;
  at: string;
  state?: string | null;
  sourceIp?: string | null;
  detail?: Record<string, unknown> | null;
  /** Identical repeats counted on this event, and when the last one happened. */
  repeats?: number;
  lastAt?: string;
}

export interface Reimage {
  requestedAt: string;
  wipe: string;
}

export interface Machine {
  mac: string;
  hostname?: string | null;
  state: string;
  stateChangedAt: string;
  role?: string | null;
  cluster?: string | null;
  ip?: string | null;
  uuid?: string | null;
  serial?: string | null;
  installed?: boolean;
  reimage?: Reimage | null;
  lastSeen?: { ip?: string | null; arch?: string | null; firmware?: string | null; at?: string | null } | null;
  /** The newest timeline event, carried by the list. */
  lastEvent?: MachineEvent | null;
  /** Its BMC (GET /machines/:mac only; never the password). */
  bmc?: Bmc | null;
}

export interface Bmc {
  driver: 'ipmi' | 'redfish';
  address: string;
  username: string;
  systemId?: string | null;
  insecureTls?: boolean;
  caCert?: string | null;
  updatedAt?: string;
}

export type PowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

/** GET /machines/:mac/power: the state (asked of the BMC) and what its driver can do. */
export interface PowerView {
  mac: string;
  state: 'on' | 'off' | 'unknown';
  driver: 'ipmi' | 'redfish' | 'wol' | string | null;
  actions: PowerAction[];
  bootDevice: boolean;
}

export interface Cluster {
  name: string;
  talosVersion: string;
}

/** One page of a cursor-paginated list. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** GET /machines/:mac/progress: where a machine is and why. */
export interface Progress {
  mac: string;
  hostname: string | null;
  state: string;
  reimage: Reimage | null;
  failure: { reason: string; at: string; source: string } | null;
  unmetConditions: { name: string; reason: string }[];
  waitingFor: string | null;
  talos: { stage: string | null; ready: boolean | null } | null;
  stall: { deadlineMs: number; dueAt: string } | null;
  stalledIn: string | null;
  lastEvents: MachineEvent[];
  kernelLog: { receivedAt: string; msg: string }[];
}

export interface ServerInfo {
  /** Settings that weaken config secrecy, shown as a red banner. */
  warnings: string[];
}
