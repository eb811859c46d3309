// What the DHCP adapter needs from the core and tells it: the core defines this port (it imports
// nothing outside src/core); src/dhcp implements the protocol around it.
import type { Firmware } from '../boot/boot-file.js';
import type { Arch } from '../types.js';

export type DhcpMode = 'proxy' | 'authoritative';

/** The DHCP message types (RFC 2132 option 53), by name. */
export type DhcpMessageName = 'DISCOVER' | 'OFFER' | 'REQUEST' | 'DECLINE' | 'ACK' | 'NAK' | 'RELEASE' | 'INFORM';

/** What the registry knows about a client, for DHCP. */
export interface DhcpMachineInfo {
  known: boolean;
  /** Authoritative mode hands this address out instead of one from the pool. */
  reservedIp?: string;
  /** Firmware-specific iPXE binary, e.g. `snponly.efi`, instead of the arch default. */
  bootFileOverride?: string;
}

/** One DHCP exchange as seen by the server: the core turns it into a timeline event (state `dhcp`). */
export interface DhcpObservation {
  mac: string;
  uuid?: string;
  messageType: DhcpMessageName;
  /** What we answered; absent when we stayed silent (e.g. REQUEST for another server). */
  reply?: 'OFFER' | 'ACK' | 'NAK';
  mode: DhcpMode;
  arch?: Arch;
  firmware?: Firmware;
  /** ciaddr, or option 50 when the client has no address yet. */
  clientIp?: string;
  /** yiaddr of our OFFER/ACK. */
  offeredIp?: string;
  /** giaddr when the request came through a relay agent. */
  relay?: string;
  vendorClass?: string;
  hostname?: string;
  bootFile?: string;
  /** Why we NAKed or stayed silent, for the timeline. */
  note?: string;
}

/** The port the core implements for the DHCP adapter. */
export interface DhcpCore {
  lookup(mac: string, uuid?: string): Promise<DhcpMachineInfo | undefined>;
  /**
   * Whether some machine holds a reservation for this address (the dynamic pool must not hand it
   * to others). Asked per candidate address, so it must be a point lookup: DISCOVER and REQUEST
   * must not cost in proportion to the registry.
   */
  isReserved(ip: string): Promise<boolean>;
  record(observation: DhcpObservation): Promise<void>;
  /** Resolves once the lease written for this exchange is durable (the store may batch commits). */
  flushed(): Promise<void>;
}
