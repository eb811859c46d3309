import type { MachineEvent } from '../core/types.js';

/** What one timeline event means for the protocol counters (null: only the per-kind count). */
export type EventCount =
  | { metric: 'dhcp'; labels: { type: string; mode: string; reply: string } }
  | { metric: 'tftp-started' }
  | { metric: 'tftp-completed'; bytes: number }
  | { metric: 'tftp-failed' }
  | { metric: 'config-delivered' }
  | { metric: 'config-invalid' }
  | { metric: 'power'; labels: { driver: string; action: string; result: string } };

/**
 * Refusal reasons are free text that may carry addresses ("request from 10.0.0.9, but …"); a
 * label must come from a small fixed set or every refusal becomes a new time series.
 */
const REFUSAL_REASONS: Array<[RegExp, string]> = [
  [/malformed MAC/i, 'malformed-mac'],
  [/unknown machine/i, 'unknown-machine'],
  [/^no token/i, 'no-token'],
  [/wrong token/i, 'wrong-token'],
  [/token expired/i, 'token-expired'],
  [/boot script was fetched from/i, 'source-ip-mismatch'],
  [/installed and not being reimaged/i, 'installed'],
  [/no cluster/i, 'no-cluster'],
  // An install script refused because the request is not tied to the machine (config-binding.ts).
  [/UUID only|neighbour table|not tied to the MAC/i, 'not-tied'],
];

export function configRefusalReason(reason: unknown): string {
  const text = typeof reason === 'string' ? reason : '';
  for (const [re, label] of REFUSAL_REASONS) if (re.test(text)) return label;
  return 'other';
}

// Label values from event details are attacker-influenced (a DHCP client picks its message);
// anything outside the expected vocabulary is folded into "other".
const DHCP_TYPES = new Set(['discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform']);
const DHCP_MODES = new Set(['proxy', 'authoritative']);
const DHCP_REPLIES = new Set(['offer', 'ack', 'nak', 'none']);
const known = (set: Set<string>, v: unknown) => {
  const s = typeof v === 'string' ? v.toLowerCase() : '';
  return set.has(s) ? s : 'other';
};

const POWER_DRIVERS = new Set(['ipmi', 'redfish', 'wol']);
const POWER_RESULTS = new Set(['auth', 'unreachable', 'timeout', 'tls', 'command', 'output', 'tool']);
const POWER_EVENT = /^(?:power-(on|off|cycle|reset|soft)|(boot-device))-(requested|set|failed)$/;

/** A power action or boot-device change through a driver, and how it went (the BMC's error kind). */
function powerCount(e: MachineEvent): EventCount | null {
  const m = POWER_EVENT.exec(e.kind);
  if (!m) return null;
  const failed = m[3] === 'failed';
  return {
    metric: 'power',
    labels: {
      driver: known(POWER_DRIVERS, e.detail.driver),
      action: m[1] ?? m[2]!,
      result: failed ? (POWER_RESULTS.has(String(e.detail.reason)) ? String(e.detail.reason) : 'error') : 'ok',
    },
  };
}

export function fromTimelineEvent(e: MachineEvent): EventCount | null {
  const d = e.detail;
  if (e.kind.startsWith('power-') || e.kind.startsWith('boot-device-')) return powerCount(e);
  if (e.kind.startsWith('dhcp-')) {
    return {
      metric: 'dhcp',
      labels: {
        type: known(DHCP_TYPES, d.message ?? e.kind.slice(5)),
        mode: known(DHCP_MODES, d.mode),
        reply: known(DHCP_REPLIES, d.reply ?? 'none'),
      },
    };
  }
  switch (e.kind) {
    case 'tftp-started':
      return { metric: 'tftp-started' };
    case 'tftp-completed':
      return { metric: 'tftp-completed', bytes: typeof d.bytes === 'number' && d.bytes > 0 ? d.bytes : 0 };
    case 'tftp-failed':
      return { metric: 'tftp-failed' };
    case 'config-delivered':
      return { metric: 'config-delivered' };
    // Refusals are counted from the bus's `config-refusal` (each one; the timeline has one per
    // coalesced audit entry). A config that rendered but failed validation (503) is only here.
    case 'config-invalid':
      return { metric: 'config-invalid' };
    default:
      return null;
  }
}
