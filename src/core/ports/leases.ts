/**
 * DHCP leases of the authoritative server. Every method is one atomic store operation: address
 * allocation in particular must be, so two DISCOVERs handled concurrently (or two metalboot
 * instances on one shared store) can never be offered the same address.
 *
 * Times are milliseconds since the epoch, passed in by the caller (the DHCP server's clock), so
 * tests can move time and the store never reads a clock of its own.
 */

export type LeaseState =
  | 'offered' // OFFER sent, held for the client until expiresAt
  | 'bound' // ACK sent: the client owns the address until expiresAt
  | 'released' // the client gave it back (RELEASE); remembered to prefer it for the same client
  | 'declined'; // a client saw it in use (DECLINE): quarantined until expiresAt

export interface Lease {
  ip: string;
  mac: string;
  state: LeaseState;
  expiresAt: number;
  updatedAt: number;
  hostname: string | null;
  /**
   * The server identifier (the answering instance's address) of the server that made the offer
   * or binding; null when the caller named none. Several instances share one lease table, and a
   * REQUEST naming another server must cancel only the offers this one made.
   */
  serverId: string | null;
}

/** Inclusive address range as unsigned 32-bit integers (see src/dhcp/ipv4.ts). */
export interface LeaseRange {
  first: number;
  last: number;
}

export interface AllocateRequest {
  mac: string;
  range: LeaseRange;
  /** The machine's reserved address: taken when free even if outside `range`. */
  reserved?: string;
  /** Option 50 from the DISCOVER: honoured when inside `range` and free. */
  requested?: string;
  /** Addresses reserved for other machines: never handed out dynamically. */
  exclude?: ReadonlySet<string>;
  /**
   * Is this address reserved for another machine? Asked for each candidate the repo is about to
   * offer (never for `reserved`), so the caller need not load every reservation of the registry
   * per DISCOVER; true keeps the address out like `exclude`. Like `exclude`, the answers are a
   * snapshot taken while the request is handled, not part of the allocation's transaction.
   */
  reservedForOther?: (ip: string) => Promise<boolean>;
  now: number;
  offerExpiresAt: number;
  /**
   * When the range has no free address: an unconfirmed offer to another client, made at or
   * before this time, may be taken over (the oldest first). An offer is not a lease (RFC 2131
   * §4.3.1 lets a server not hold offered addresses at all); the client that loses it is NAKed
   * if it still REQUESTs it, and starts over. Absent: offers are held until they expire.
   */
  reclaimOffersMadeBefore?: number;
  /**
   * Who offers (recorded on the row). The client's active offer made by *another* server is
   * offered again as it stands, not rewritten: both servers then offer the same address, and the
   * one the client selects finds the row intact. Absent: null, as a server with no identifier.
   */
  serverId?: string;
}

/** What `allocate` handed out; `reclaimedFrom` names the client whose unconfirmed offer it took. */
export interface AllocatedLease extends Lease {
  reclaimedFrom?: string;
}

export interface CommitRequest {
  mac: string;
  ip: string;
  now: number;
  expiresAt: number;
  hostname?: string | null;
  /** Other active leases of this MAC inside this range are released (a client holds one address per pool). */
  range?: LeaseRange;
  /** Who binds: the binding is recorded as this server's, whoever made the offer or the previous binding. */
  serverId?: string;
}

export interface LeaseRepo {
  /**
   * Offer an address: the client's reservation, else its current offer/lease in range, else its
   * requested or previous address, else a never-used one (searched from where the last such
   * allocation in the range ended, then from the start of the range), else the longest-free one.
   * An existing bound lease stays bound, and so does another server's pending offer to this client
   * (returned as it stands, see `serverId`). Then, if `reclaimOffersMadeBefore` allows, the oldest
   * such offer to another client. undefined when the pool is exhausted.
   */
  allocate(req: AllocateRequest): Promise<AllocatedLease | undefined>;
  /**
   * Bind `ip` to `mac` (ACK). Fails (undefined) when another client holds the address or it is
   * quarantined; succeeds for a free address, so INIT-REBOOT after an expiry can still be ACKed.
   */
  commit(req: CommitRequest): Promise<Lease | undefined>;
  /**
   * Drop this client's pending offers made by `serverId` (null: those recorded with no server):
   * it chose another server. Another server's offers stay, and so does the address `keep` (the
   * one the client asks the chosen server for): on a shared table that row may be the very offer
   * the chosen server is about to bind. Returns how many were dropped.
   */
  cancelOffers(mac: string, now: number, serverId: string | null, keep?: string): Promise<number>;
  /** RELEASE: the address is free again but remembered for the client. false when not its lease. */
  release(mac: string, ip: string, now: number): Promise<boolean>;
  /**
   * DECLINE: the client found the address in use by something we do not know; quarantine it.
   * Only an address offered or leased to that client can be declined (false otherwise), or any
   * client could take the whole pool out of service.
   */
  decline(mac: string, ip: string, now: number, quarantineUntil: number): Promise<boolean>;
  get(ip: string): Promise<Lease | undefined>;
  /** Every lease row of this client, most recently updated first. */
  listByMac(mac: string): Promise<Lease[]>;
  list(): Promise<Lease[]>;
}
