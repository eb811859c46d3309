/** A lease row of SQLite as the repository sees it: the row type, address ↔ integer, and whether an address is free. */
import type { AllocatedLease, Lease, LeaseState } from '../../core/ports/leases.js';

// Addresses as unsigned 32-bit integers (the DHCP adapter validates them before they get here).
export const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
export const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** One row of the leases table (migration 2): one per address ever used, keyed by the address as an integer. */
export interface Row {
  ip_num: number;
  ip: string;
  mac: string;
  state: LeaseState;
  expires_at: number;
  updated_at: number;
  hostname: string | null;
  /** Migration 9: the server identifier of whoever made the offer or binding (null before, or none named). */
  server_id: string | null;
}

export const toLease = (r: Row): Lease => ({
  ip: r.ip,
  mac: r.mac,
  state: r.state,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
  hostname: r.hostname,
  serverId: r.server_id ?? null,
});

/**
 * The client's active offer made by another server: offered again as it stands, so both servers
 * offer one address and the one the client selects finds its row intact (see AllocateRequest.serverId).
 */
export const othersOffer = (r: Row | undefined, mac: string, serverId: string | null, now: number) =>
  !!r && r.mac === mac && r.state === 'offered' && r.expires_at > now && (r.server_id ?? null) !== serverId;

export const NONE: ReadonlySet<string> = new Set();

/** Which step of the allocation order chose an address: the client's own reservation, or any other. */
export type Stage = 'reserved' | 'other';

export interface Pick {
  ipNum: number;
  /** The address's row before the allocation; undefined when it was never used. */
  row: Row | undefined;
  stage: Stage;
}

/** An address picked and held for the client in the database. */
export interface Claim {
  lease: AllocatedLease;
  ipNum: number;
  stage: Stage;
  /** What the claim did to the address's row, so it can be undone. */
  wrote: 'created' | 'updated' | 'nothing';
}

/** Holds the address right now: an unexpired offer, lease or quarantine. */
export const isActive = (r: Row, now: number) => r.state !== 'released' && r.expires_at > now;

/** May `mac` be given this address now? */
export const isFreeFor = (r: Row | undefined, mac: string, now: number) =>
  !r || !isActive(r, now) || (r.mac === mac && r.state !== 'declined');
