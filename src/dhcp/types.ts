/** The DHCP adapter's boundary: how it is configured (what it needs from the core: core/network/dhcp-port.ts). */
import type { DhcpCore, DhcpMode } from '../core/network/dhcp-port.js';
import type { LeaseRepo } from '../core/ports/leases.js';

export type { DhcpCore, DhcpMachineInfo, DhcpMode, DhcpObservation } from '../core/network/dhcp-port.js';

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
  /**
   * Authoritative mode, several instances on one lease table: wait this long before answering a
   * DISCOVER, and stay silent if another server has offered to the client meanwhile (a standby).
   * 0 (default) to MAX_ANSWER_DELAY_MS.
   */
  answerDelayMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_PORTS = { server: 67, proxy: 4011, client: 68 } as const;

/** A DHCP client retransmits after about 4 s (RFC 2131 §4.1); a standby waiting longer than 10 s serves nobody. */
export const MAX_ANSWER_DELAY_MS = 10_000;
