import type { Machine } from '../types.js';

/** What an operator can ask of a machine's power. Wake-on-LAN can only switch on; a BMC can do all. */
export const POWER_ACTIONS = ['on', 'off', 'cycle', 'reset', 'soft'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];
export type BootDevice = 'pxe' | 'disk';
export type PowerState = 'on' | 'off' | 'unknown';

export interface PowerResult {
  driver: string;
  /** What was done, for the timeline (e.g. where the magic packet went, which BMC). No secrets. */
  detail: Record<string, unknown>;
}

export interface BootDeviceRequest {
  device: BootDevice;
  persistent: boolean;
  /** The machine boots UEFI (from what DHCP saw): IPMI's EFI flag, Redfish's `BootSourceOverrideMode`. */
  efi: boolean;
}

/**
 * A way to control a machine's power. Wake-on-LAN (one for the server, from its settings) can only
 * switch on and cannot tell the state; a BMC driver (one per machine, built from its BMC) can do
 * everything. Methods a driver lacks are refused before it is called (`supports`).
 */
export interface PowerDriver {
  readonly name: string;
  supports(capability: PowerAction | 'status' | 'boot-device'): boolean;
  perform(action: PowerAction, machine: Machine): Promise<PowerResult>;
  status?(machine: Machine): Promise<Exclude<PowerState, 'unknown'>>;
  setBootDevice?(request: BootDeviceRequest, machine: Machine): Promise<PowerResult>;
}

/** A machine's BMC, opened for one call: what a BMC driver needs to dial it. */
export interface BmcTarget {
  driver: 'ipmi' | 'redfish';
  address: string;
  username: string;
  password: string;
  systemId: string | null;
  insecureTls: boolean;
}

/** Builds the driver for one BMC (the composition root's: ipmitool, the Redfish client). */
export type BmcDriverFactory = (bmc: BmcTarget) => PowerDriver;

/**
 * A driver's failure that is the BMC's (or the network's) fault, not ours: the API answers 502 with
 * these words. `kind` is the driver's classification (auth, unreachable, timeout, tls, …).
 */
export interface DriverFailure {
  kind?: string;
  message: string;
}
