/**
 * Which machine a Talos report comes from: the request names no node, so the sender's address
 * does — learned from an AddressEvent, else the machine's reservation or last boot. Split from
 * tracker.ts, which applies the reports once this has attributed them.
 */
import type { Store } from '../ports/types.js';
import type { Machine } from '../types.js';

export class PeerAttribution {
  private readonly learned = new Map<string, string>(); // peer address → MAC, from AddressEvents

  constructor(private readonly store: Store) {}

  /** From now on, reports from `peerIp` are `mac`'s. */
  remember(peerIp: string, mac: string): void {
    this.learned.set(peerIp, mac);
  }

  /** The machine an address belongs to: learned from AddressEvents, else reservation / last boot. */
  async machineAt(peerIp: string): Promise<Machine | undefined> {
    const mac = this.learned.get(peerIp);
    if (mac) {
      const m = await this.store.machines.get(mac);
      if (m) return m;
      this.learned.delete(peerIp);
    }
    return this.store.machines.findByIp(peerIp);
  }

  /** An AddressEvent names the node's addresses and hostname: one of them may be known. */
  async identifyByAddresses(hostname: string, addresses: string[]): Promise<Machine | undefined> {
    for (const a of addresses) {
      const m = await this.store.machines.findByIp(a.replace(/\/\d+$/, ''));
      if (m) return m;
    }
    if (!hostname) return undefined;
    const short = hostname.split('.')[0];
    const matches = (await this.store.machines.list()).filter(
      (m) => m.state !== 'discovered' && m.hostname !== null && (m.hostname === hostname || m.hostname === short),
    );
    return matches.length === 1 ? matches[0] : undefined; // an ambiguous name attributes nothing
  }
}
