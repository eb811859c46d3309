/**
 * What the emulated BMC knows, in memory: its systems (power, boot override, the resets it was asked
 * for, the boots that followed), its sessions, and the knobs a test turns to make it misbehave.
 * Tests read this directly to check effects, independently of any client's view.
 */

export const RESET_TYPES = [
  'On',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'PowerCycle',
  'Nmi',
] as const;
export type ResetType = (typeof RESET_TYPES)[number];

export const BOOT_TARGETS = ['None', 'Pxe', 'Hdd', 'Cd', 'Usb', 'BiosSetup'] as const;
export const BOOT_ENABLED = ['Disabled', 'Once', 'Continuous'] as const;
export const BOOT_MODES = ['UEFI', 'Legacy'] as const;

export interface BootOverride {
  target: string;
  enabled: string;
  mode: string;
}

export interface SystemState {
  id: string;
  power: 'On' | 'Off';
  boot: BootOverride;
  /** ResetType of every accepted reset, in order. */
  resets: ResetType[];
  /** Every power-on that followed, with the device it booted from (a Once override is then spent). */
  boots: string[];
  /** Bumped on every change: the ETag is `W/"<generation>"`. */
  generation: number;
  /** The ResetTypes advertised (and accepted); a test may remove PowerCycle, as some BMCs do. */
  resetTypes: ResetType[];
}

export interface Session {
  id: string;
  token: string;
  user: string;
}

export interface Knobs {
  /** Accept the connection and the request, then never answer (`'POST'`: only POSTs). */
  hang: boolean | 'POST';
  /** Answer every authenticated request with 500 and a Redfish error. */
  fail500: boolean;
  /** Answer GETs with a body of this many bytes (0: normal). */
  oversizeBytes: number;
  /** Put the Authorization header and the password the client sent into error messages (a careless BMC). */
  echoCredentials: boolean;
}

export interface EmulatorState {
  username: string;
  password: string;
  systems: SystemState[];
  sessions: Map<string, Session>;
  /** Sessions ever created and deleted, by id, for tests. */
  sessionLog: { created: string[]; deleted: string[] };
  /** `METHOD path auth [if-match=…]` of every request, auth being `basic`, `session`, `none` or `bad`. */
  requests: string[];
  /** `METHOD path` of every request left unanswered by the `hang` knob. */
  hung: string[];
  knobs: Knobs;
  nextSession: number;
}

export function newSystem(id: string): SystemState {
  return {
    id,
    power: 'Off',
    boot: { target: 'None', enabled: 'Disabled', mode: 'UEFI' },
    resets: [],
    boots: [],
    generation: 1,
    resetTypes: [...RESET_TYPES],
  };
}

export function newState(opts: { username?: string; password?: string; systems?: string[] } = {}): EmulatorState {
  return {
    username: opts.username ?? 'admin',
    password: opts.password ?? 'metalboot-redfish',
    systems: (opts.systems ?? ['1']).map(newSystem),
    sessions: new Map(),
    sessionLog: { created: [], deleted: [] },
    requests: [],
    hung: [],
    knobs: { hang: false, fail500: false, oversizeBytes: 0, echoCredentials: false },
    nextSession: 1,
  };
}

/** The machine powers up: it boots from the override if one is set, and a Once override is spent. */
function powerUp(sys: SystemState): void {
  sys.power = 'On';
  const override = sys.boot.enabled !== 'Disabled' && sys.boot.target !== 'None';
  sys.boots.push(override ? sys.boot.target : 'default');
  if (sys.boot.enabled === 'Once') sys.boot.enabled = 'Disabled';
}

/** What a reset does to the machine (a restart is a power-up; Nmi changes no power state). */
export function applyReset(sys: SystemState, type: ResetType): void {
  sys.resets.push(type);
  switch (type) {
    case 'On':
      if (sys.power === 'Off') powerUp(sys);
      break;
    case 'ForceOff':
    case 'GracefulShutdown':
      sys.power = 'Off';
      break;
    case 'GracefulRestart':
    case 'ForceRestart':
      if (sys.power === 'On') powerUp(sys);
      break;
    case 'PowerCycle':
      sys.power = 'Off';
      powerUp(sys);
      break;
    case 'Nmi':
      break;
  }
  sys.generation++;
}
