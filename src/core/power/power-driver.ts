import type { Machine } from '../types.js';

/** What an operator can ask of a machine's power. Wake-on-LAN can only switch on. */
export type PowerAction = 'on';

export interface PowerResult {
  driver: string;
  /** What was done, for the timeline (e.g. where the magic packet went). */
  detail: Record<string, unknown>;
}

/**
 * A way to control a machine's power. Wake-on-LAN now; IPMI and Redfish drivers implement the same
 * interface later (they will read their BMC address and credentials from the machine's settings).
 */
export interface PowerDriver {
  readonly name: string;
  supports(action: PowerAction): boolean;
  perform(action: PowerAction, machine: Machine): Promise<PowerResult>;
}
