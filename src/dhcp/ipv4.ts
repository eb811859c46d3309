/** IPv4 arithmetic for pools and subnets: addresses as unsigned 32-bit integers. */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpv4(s: string): boolean {
  const m = IPV4.exec(s);
  return !!m && m.slice(1).every((p) => Number(p) <= 255);
}

export function ipToInt(ip: string): number {
  if (!isIpv4(ip)) throw new Error(`not an IPv4 address: "${ip}"`);
  return ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export interface Subnet {
  network: number;
  mask: number;
  prefix: number;
}

/** `10.253.1.0/24` → network and mask. Host bits in the address are cleared, not rejected. */
export function parseCidr(cidr: string): Subnet {
  const [addr, len, extra] = cidr.split('/');
  const prefix = Number(len);
  if (addr === undefined || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new Error(`not an IPv4 CIDR: "${cidr}" (expected e.g. 10.0.0.0/24)`);
  }
  const mask = prefixToMask(prefix);
  return { network: (ipToInt(addr) & mask) >>> 0, mask, prefix };
}

export function subnetFromMask(ip: string, mask: string): Subnet {
  const m = ipToInt(mask);
  const prefix = Math.clz32(~m); // leading one bits of a contiguous mask
  return { network: (ipToInt(ip) & m) >>> 0, mask: m, prefix };
}

export function inSubnet(ip: string | number, subnet: Subnet): boolean {
  const n = typeof ip === 'number' ? ip : ipToInt(ip);
  return (n & subnet.mask) >>> 0 === subnet.network;
}

export interface IpRange {
  first: number;
  last: number;
}

/** `10.253.1.100-10.253.1.199` (inclusive). */
export function parseRange(range: string): IpRange {
  const [a, b, extra] = range.split('-').map((s) => s.trim());
  if (!a || !b || extra !== undefined) {
    throw new Error(`not an address range: "${range}" (expected first-last, e.g. 10.0.0.100-10.0.0.199)`);
  }
  const first = ipToInt(a);
  const last = ipToInt(b);
  if (first > last) throw new Error(`address range "${range}" ends before it starts`);
  return { first, last };
}
