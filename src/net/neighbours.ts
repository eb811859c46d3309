import { readFile } from 'node:fs/promises';
import type { NeighbourTable } from '../core/config-binding.js';

/** ATF_COM: the entry is complete (a MAC was resolved); an incomplete one names 00:00:00:00:00:00. */
const ATF_COM = 0x2;

/**
 * The kernel's IPv4 neighbour (ARP) table, read from /proc/net/arp of this process's network
 * namespace, fresh per call: the config binding asks once per install-script request, and a
 * cached table could tie an address to a MAC that no longer holds it.
 *
 * An entry exists for a peer on a directly attached segment once either side resolved the other;
 * a client that opens a TCP connection to us has ARPed for our address first, which leaves its
 * MAC in our table. IPv6 sources and peers behind a router have no entry here.
 */
export class ProcNeighbourTable implements NeighbourTable {
  constructor(private readonly file = '/proc/net/arp') {}

  async macsFor(ip: string): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return []; // no /proc (not Linux, or a sandbox): the neighbour signal ties nothing
    }
    return parseArpTable(text, ip);
  }
}

/**
 * The complete entries for `ip` in /proc/net/arp's format:
 * `IP address  HW type  Flags  HW address  Mask  Device`, one header line.
 */
export function parseArpTable(text: string, ip: string): string[] {
  const macs: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [addr, , flags, mac] = line.trim().split(/\s+/);
    if (addr !== ip || !mac || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) continue;
    if ((Number.parseInt(flags ?? '0', 16) & ATF_COM) === 0) continue;
    const lower = mac.toLowerCase();
    if (lower !== '00:00:00:00:00:00' && !macs.includes(lower)) macs.push(lower);
  }
  return macs;
}
