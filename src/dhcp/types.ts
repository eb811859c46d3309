/** The DHCP adapter's boundary: what it needs from the core and how it is configured. */
import type { Arch } from '../core/types.js';
import type { Firmware } from '../core/boot-file.js';
import type { LeaseRepo } from '../store/leases.js';
import type { MessageTypeName } from './options.js';

export type DhcpMode = 'proxy' | 'authoritative';

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
  messageType: MessageTypeName;
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

/** pino-compatible subset. */
export interface DhcpLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PoolConfig {
  /** `first-last`, inclusive, e.g. `10.253.1.100-10.253.1.199`. */
  range: string;
  subnetMask: string;
  router?: string;
  dns?: string[];
  leaseTimeSec: number;
}

export interface RelaySubnetConfig extends Omit<PoolConfig, 'subnetMask'> {
  /** The relayed network in CIDR form; requests whose giaddr falls inside it use this pool. */
  subnet: string;
}

export interface DhcpServerOptions {
  mode: DhcpMode;
  /** The one network interface to serve, e.g. `eth1`. */
  interface: string;
  /** Our address on that interface: server identifier (54) and next-server (siaddr). */
  serverIp: string;
  ports?: { server?: number; proxy?: number; client?: number };
  /** Authoritative mode: the directly attached subnet. */
  pool?: PoolConfig;
  /** Authoritative mode: subnets behind DHCP relays. */
  relaySubnets?: RelaySubnetConfig[];
  /** Base URL of metalboot's HTTP server as clients reach it, e.g. `http://10.0.0.1:8080`. */
  advertiseUrl: string;
  /** Whether the TFTP server runs (BIOS/UEFI PXE need it). Default true. */
  tftp?: boolean;
  core: DhcpCore;
  leases: LeaseRepo;
  logger: DhcpLogger;
  /** How long an OFFER holds its address for the client. Default 60 s. */
  offerHoldSec?: number;
  /**
   * With the pool exhausted, an unconfirmed offer at least this old may go to an unregistered
   * client (a registered one may take the oldest offer of any age). Default 10 s.
   */
  pressuredOfferHoldSec?: number;
  /** At most one "pool exhausted" (and "offers reclaimed") warning per pool per interval. Default 60 s. */
  exhaustionLogIntervalSec?: number;
  /** How long a DECLINEd address stays out of the pool. Default 1 h. */
  declineQuarantineSec?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_PORTS = { server: 67, proxy: 4011, client: 68 } as const;
