import { networkInterfaces } from 'node:os';
import { MAX_ANSWER_DELAY_MS, type PoolConfig, type RelaySubnetConfig } from '../dhcp/types.js';

export type DhcpModeSetting = 'off' | 'proxy' | 'authoritative';

export interface DhcpSettings {
  mode: DhcpModeSetting;
  interface?: string;
  range?: string;
  router?: string;
  dns?: string[];
  leaseTimeSec: number;
  relaySubnets: RelaySubnetConfig[];
  /** `--dhcp-answer-delay`: a standby's wait before answering a DISCOVER (absent: 0, answer at once). */
  answerDelayMs?: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function parseDhcpMode(v: string): DhcpModeSetting {
  if (v === 'off' || v === 'proxy' || v === 'authoritative') return v;
  throw new Error(`--dhcp must be off, proxy or authoritative (got "${v}")`);
}

/**
 * `--dhcp-answer-delay <ms>`: 0 (default) to 10000. Bounded: a client retransmits its DISCOVER
 * after about 4 s, and a standby that waits longer answers nobody.
 */
export function parseAnswerDelay(v: string): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > MAX_ANSWER_DELAY_MS)
    throw new Error(
      `--dhcp-answer-delay must be a whole number of milliseconds from 0 to ${MAX_ANSWER_DELAY_MS} (got "${v}")`,
    );
  return n;
}

/** `10.0.0.100-10.0.0.199`. */
export function parseRange(v: string, name = 'dhcp-range'): string {
  const [a, b, extra] = v.split('-');
  if (!a || !b || extra !== undefined || !IPV4.test(a.trim()) || !IPV4.test(b.trim())) {
    throw new Error(`--${name} "${v}" must be <first>-<last>, e.g. 10.0.0.100-10.0.0.199`);
  }
  return `${a.trim()}-${b.trim()}`;
}

export function parseIpv4(v: string, name: string): string {
  if (!IPV4.test(v.trim())) throw new Error(`--${name} "${v}" is not an IPv4 address`);
  return v.trim();
}

export function parseIpv4List(v: string, name: string): string[] {
  return v
    .split(',')
    .filter(Boolean)
    .map((s) => parseIpv4(s, name));
}

/** `--dhcp-relay-subnet 10.1.0.0/24,10.1.0.100-10.1.0.199[,router]` (repeatable). */
export function parseRelaySubnet(v: string, leaseTimeSec: number, dns?: string[]): RelaySubnetConfig {
  const [subnet, range, router, extra] = v.split(',');
  const m = /^(.+)\/(\d{1,2})$/.exec(subnet ?? '');
  if (!m || !IPV4.test(m[1]!) || Number(m[2]) > 32 || !range || extra !== undefined) {
    throw new Error(
      `--dhcp-relay-subnet "${v}" must be <cidr>,<first>-<last>[,<router>], e.g. 10.1.0.0/24,10.1.0.100-10.1.0.199,10.1.0.1`,
    );
  }
  return {
    subnet: subnet!,
    range: parseRange(range, 'dhcp-relay-subnet'),
    router: router ? parseIpv4(router, 'dhcp-relay-subnet') : undefined,
    dns,
    leaseTimeSec,
  };
}

/** The IPv4 address and netmask of a local interface; a clear error when it has none. */
export function interfaceAddress(name: string): { address: string; netmask: string } {
  const ifs = networkInterfaces();
  const addrs = ifs[name];
  if (!addrs)
    throw new Error(`--interface "${name}" does not exist on this host (it has: ${Object.keys(ifs).join(', ')})`);
  const v4 = addrs.find((a) => a.family === 'IPv4');
  if (!v4) throw new Error(`--interface "${name}" has no IPv4 address`);
  return { address: v4.address, netmask: v4.netmask };
}

/** The directly attached pool for authoritative mode, from the interface and the range. */
export function localPool(s: DhcpSettings, netmask: string): PoolConfig | undefined {
  if (!s.range) return undefined;
  return { range: s.range, subnetMask: netmask, router: s.router, dns: s.dns, leaseTimeSec: s.leaseTimeSec };
}
