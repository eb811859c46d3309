/**
 * Which requests for a machine's install script may carry a config token: the ones tied to that
 * machine's MAC on the wire. A MAC in a query string is not proof — MACs are on every DHCP
 * broadcast — so the script that leads to the cluster's keys is issued only when something the
 * requester cannot choose by typing a URL says the request comes from that MAC.
 */

/** The signals that tie a request's source address to a MAC. */
export const BINDING_SIGNALS = ['neighbour', 'dhcp', 'reservation'] as const;
export type BindingSignal = (typeof BINDING_SIGNALS)[number];

/** `first-request`: no tie at all (the behaviour before binding); else any of the signals suffices. */
export type ConfigBinding = 'first-request' | readonly BindingSignal[];

/** Works out of the box on a flat L2 segment (neighbour) and behind a relay metalboot leases to (dhcp). */
export const DEFAULT_CONFIG_BINDING: ConfigBinding = ['neighbour', 'dhcp'];

/** `--config-binding`: `first-request`, or a comma list of neighbour, dhcp, reservation. */
export function parseConfigBinding(value: string): ConfigBinding {
  const v = value.trim().toLowerCase();
  if (v === 'first-request') return 'first-request';
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = parts.find((p) => !(BINDING_SIGNALS as readonly string[]).includes(p));
  if (parts.length === 0 || bad !== undefined) {
    throw new Error(
      `--config-binding "${value}" must be first-request or a comma list of ${BINDING_SIGNALS.join(', ')} (e.g. neighbour,dhcp)`,
    );
  }
  return [...new Set(parts)] as BindingSignal[];
}

export function formatConfigBinding(b: ConfigBinding): string {
  return b === 'first-request' ? b : b.join(',');
}

/** The warning `first-request` earns at every start and on the dashboard. */
export function bindingWarnings(b: ConfigBinding): string[] {
  if (b !== 'first-request') return [];
  return [
    "--config-binding first-request: any host that knows a registered MAC can fetch that machine's config (with the cluster's keys) until the machine itself boots; use neighbour, dhcp or reservation where the network allows",
  ];
}

/**
 * The kernel's neighbour (ARP) table, as an adapter reads it (src/net/neighbours.ts). Resolves
 * to the MACs the table holds for the address (usually one; none when the address is not on a
 * directly attached segment or was never resolved).
 */
export interface NeighbourTable {
  macsFor(ip: string): Promise<string[]>;
}

export const NO_NEIGHBOURS: NeighbourTable = { macsFor: async () => [] };

/**
 * Who used which address in DHCP, as metalboot saw it: the address it ACKed (authoritative, also
 * through a relay), or in proxy mode the address a client REQUESTed from the real server or named
 * as ciaddr on port 4011. Keyed by address: a newer sighting of an address replaces the older one
 * (the address changed hands). Bounded in entries and age, so a flood of forged packets can evict
 * sightings but never grow memory.
 */
export class DhcpSightings {
  private readonly byIp = new Map<string, { mac: string; atMs: number }>();

  constructor(
    private readonly maxAgeMs = 3600_000,
    private readonly maxEntries = 65_536,
  ) {}

  note(mac: string, ip: string, atMs: number): void {
    this.byIp.delete(ip); // re-inserted last: the Map's order is the eviction order
    this.byIp.set(ip, { mac, atMs });
    if (this.byIp.size > this.maxEntries) this.byIp.delete(this.byIp.keys().next().value!);
  }

  /** The MAC seen using this address within maxAgeMs, if any. */
  macAt(ip: string, nowMs: number): string | undefined {
    const s = this.byIp.get(ip);
    return s && nowMs - s.atMs <= this.maxAgeMs ? s.mac : undefined;
  }

  get size(): number {
    return this.byIp.size;
  }
}

export interface BindingRequest {
  /** The MAC the request claims (the NIC iPXE booted from). */
  nicMac: string;
  /** The registered machine it resolved to (by MAC, or by UUID from another NIC). */
  machine: { mac: string; ip: string | null };
  sourceIp: string;
  nowMs: number;
}

/** `reason` is a fixed phrase (refusals are coalesced by it); what varies goes in `detail`. */
export type BindingVerdict =
  | { tied: true; by: BindingSignal | 'first-request' }
  | { tied: false; reason: string; detail: Record<string, unknown> };

/** The decision, pure but for reading the neighbour table. */
export class ConfigBinder {
  constructor(
    readonly binding: ConfigBinding,
    private readonly neighbours: NeighbourTable,
    private readonly sightings: DhcpSightings,
  ) {}

  async check(r: BindingRequest): Promise<BindingVerdict> {
    if (this.binding === 'first-request') return { tied: true, by: 'first-request' };
    // A UUID comes from the client (DHCP option 97, iPXE's ${uuid}): anyone can send another
    // machine's. Only the registered MAC itself can be tied to the machine.
    if (r.nicMac !== r.machine.mac) {
      return { tied: false, reason: 'matched by UUID only, which any client can claim', detail: { nic: r.nicMac } };
    }
    const neighbourMacs = await this.neighbours.macsFor(r.sourceIp);
    if (neighbourMacs.length > 0 && !neighbourMacs.includes(r.nicMac)) {
      // The wire says who holds this address; a DHCP sighting (forgeable in proxy mode) or a
      // reservation must not overrule it.
      return {
        tied: false,
        reason: 'the neighbour table holds another MAC for the source address',
        detail: { neighbour: neighbourMacs },
      };
    }
    for (const signal of this.binding) {
      if (signal === 'neighbour' && neighbourMacs.includes(r.nicMac)) return { tied: true, by: signal };
      if (signal === 'dhcp' && this.sightings.macAt(r.sourceIp, r.nowMs) === r.nicMac)
        return { tied: true, by: signal };
      if (signal === 'reservation' && r.machine.ip === r.sourceIp) return { tied: true, by: signal };
    }
    return { tied: false, reason: `not tied to the MAC by ${this.binding.join(' or ')}`, detail: {} };
  }
}
