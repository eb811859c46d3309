/** Address pools of the authoritative server: validated once at startup, chosen per request. */
import type { LeaseRange } from '../core/ports/leases.js';
import { inSubnet, intToIp, ipToInt, isIpv4, parseCidr, parseRange, subnetFromMask, type Subnet } from './ipv4.js';
import type { PoolConfig, RelaySubnetConfig } from './types.js';

export interface Pool {
  name: string; // `local` or the relayed subnet's CIDR, for logs
  subnet: Subnet;
  subnetMask: string;
  range: LeaseRange;
  router?: string;
  dns: string[];
  leaseTimeSec: number;
}

export interface Pools {
  local?: Pool;
  relayed: Pool[];
}

function checkIp(ip: string, what: string): string {
  if (!isIpv4(ip)) throw new Error(`DHCP ${what} "${ip}" is not an IPv4 address`);
  return ip;
}

function buildPool(name: string, subnet: Subnet, cfg: PoolConfig | RelaySubnetConfig): Pool {
  const range = parseRange(cfg.range);
  const broadcast = (subnet.network | (~subnet.mask >>> 0)) >>> 0;
  if (!inSubnet(range.first, subnet) || !inSubnet(range.last, subnet)) {
    throw new Error(`DHCP pool ${name}: range ${cfg.range} is not inside the subnet`);
  }
  if (subnet.prefix < 31 && (range.first === subnet.network || range.last === broadcast)) {
    throw new Error(`DHCP pool ${name}: range ${cfg.range} includes the network or broadcast address`);
  }
  if (!Number.isInteger(cfg.leaseTimeSec) || cfg.leaseTimeSec < 60) {
    throw new Error(`DHCP pool ${name}: leaseTimeSec must be an integer >= 60`);
  }
  return {
    name,
    subnet,
    subnetMask: intToIp(subnet.mask),
    range,
    router: cfg.router === undefined ? undefined : checkIp(cfg.router, 'router'),
    dns: (cfg.dns ?? []).map((d) => checkIp(d, 'DNS server')),
    leaseTimeSec: cfg.leaseTimeSec,
  };
}

/** Throws a message naming the bad setting: a misconfigured pool must stop startup, not packets. */
export function buildPools(
  serverIp: string,
  pool: PoolConfig | undefined,
  relaySubnets: RelaySubnetConfig[] | undefined,
): Pools {
  // The local subnet is the one the server's own address is on.
  const local = pool
    ? buildPool('local', subnetFromMask(serverIp, checkIp(pool.subnetMask, 'subnet mask')), pool)
    : undefined;
  const relayed = (relaySubnets ?? []).map((r) => buildPool(r.subnet, parseCidr(r.subnet), r));
  for (const r of relayed) {
    if (local && subnetsOverlap(local.subnet, r.subnet)) {
      // A relay inside the local subnet is served from the local pool (see choosePool): a second
      // pool for the same addresses would make the answer depend on which one was found first.
      throw new Error(
        `DHCP relay subnet ${r.name} overlaps the local subnet ${intToIp(local.subnet.network)}/${local.subnet.prefix}: ` +
          'relays inside the local subnet are served from the local pool (--dhcp-range); drop this relay subnet',
      );
    }
  }
  const all = local ? [local, ...relayed] : relayed;
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i]!.range;
      const b = all[j]!.range;
      if (a.first <= b.last && b.first <= a.last) {
        throw new Error(`DHCP pools ${all[i]!.name} and ${all[j]!.name} overlap`);
      }
    }
  }
  return { local, relayed };
}

function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  const mask = (a.mask & b.mask) >>> 0; // the shorter prefix decides
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}

/**
 * RFC 2131 §4.3.1: a relayed request is served from the subnet of giaddr; a direct one from
 * the local pool, or (INFORM, renewals from another subnet) from the subnet of ciaddr. A relay
 * agent inside the local subnet (a second switch on the same VLAN, or a test tool such as
 * perfdhcp, which always relays) gets the local pool, as Kea does: giaddr names the subnet.
 */
export function choosePool(pools: Pools, giaddr: string, ciaddr: string): Pool | undefined {
  if (giaddr !== '0.0.0.0') {
    if (pools.local && inSubnet(giaddr, pools.local.subnet)) return pools.local;
    return pools.relayed.find((p) => inSubnet(giaddr, p.subnet));
  }
  if (ciaddr !== '0.0.0.0') {
    const owner = [pools.local, ...pools.relayed].find((p) => p && inSubnet(ciaddr, p.subnet));
    if (owner) return owner;
  }
  return pools.local;
}

export function poolContains(pool: Pool, ip: string): boolean {
  return isIpv4(ip) && inSubnet(ip, pool.subnet);
}

export function inRange(pool: Pool, ip: string): boolean {
  if (!isIpv4(ip)) return false;
  const n = ipToInt(ip);
  return n >= pool.range.first && n <= pool.range.last;
}
