/** The PostgreSQL lease repository: allocation order, next-free cursor, claim-then-ask `reservedForOther`. */
import type {
  AllocatedLease,
  AllocateRequest,
  CommitRequest,
  Lease,
  LeaseRange,
  LeaseRepo,
} from '../../core/ports/leases.js';
import {
  type Claim,
  intToIp,
  ipToInt,
  isActive,
  isFreeFor,
  NONE,
  othersOffer,
  type Pick,
  toLease,
} from '../sqlite/lease-rows.js';
import { type Db, LOCKS, type Sql } from './db.js';
import { LEASE_SQL as Q, leaseRows } from './lease-sql.js';

/**
 * Leases in PostgreSQL: one row per address ever used, keyed by the address as an integer.
 *
 * Every transaction that writes leases holds one transaction-level advisory lock (LOCKS.leases)
 * from its first statement to its COMMIT, on every instance on the database: lease writes are
 * serialised as SQLite's single writer serialises them. Row locks (SELECT … FOR UPDATE) could not
 * do it: the allocation's main answer is an address that has *no* row yet, and absence cannot be
 * locked; SERIALIZABLE could, but two DISCOVERs racing for the lowest free address would abort and
 * retry each other endlessly under load. Taken first, the lock also gives each statement after it
 * a snapshot that holds every earlier lease commit (READ COMMITTED takes one per statement).
 * Reads (`get`, `list`, `listByMac`) take no lock.
 */
export function pgLeaseRepo(db: Db): LeaseRepo {
  const leaseTx = <T>(fn: (sql: Sql) => Promise<T>) => db.tx(fn, { lock: LOCKS.leases });

  /**
   * Next-free cursor per range, private to this instance: only a hint where the never-used search
   * starts (another instance keeps its own; a stale one at worst starts the search in the wrong
   * place). Which address is free is always decided inside the allocation's transaction.
   */
  const cursors = new Map<string, number>();
  const cursorKey = (range: LeaseRange) => `${range.first}-${range.last}`;

  /** The address to offer, or undefined when the range is exhausted (inside the lease lock). */
  const pickAddress = async (sql: Sql, req: AllocateRequest, skip: ReadonlySet<number>): Promise<Pick | undefined> => {
    const { mac, range, now } = req;
    const exclude = req.exclude ?? NONE;
    const blocked = (ipNum: number, ip: string) => skip.has(ipNum) || exclude.has(ip);
    const usable = async (ipNum: number, inRange: boolean): Promise<Pick | undefined> => {
      if (inRange && (ipNum < range.first || ipNum > range.last || blocked(ipNum, intToIp(ipNum)))) return undefined;
      const [row] = await leaseRows(sql, Q.get, [ipNum]);
      return isFreeFor(row, mac, now) ? { ipNum, row, stage: inRange ? 'other' : 'reserved' } : undefined;
    };
    if (req.reserved) {
      const hit = await usable(ipToInt(req.reserved), false);
      if (hit) return hit;
    }
    const mine = await leaseRows(sql, Q.mineInRange, [mac, range.first, range.last]);
    const current = mine.find((r) => isActive(r, now) && r.state !== 'declined');
    if (current && !blocked(current.ip_num, current.ip)) return { ipNum: current.ip_num, row: current, stage: 'other' };
    if (req.requested) {
      const hit = await usable(ipToInt(req.requested), true);
      if (hit) return hit;
    }
    for (const previous of mine) {
      const hit = await usable(previous.ip_num, true);
      if (hit) return hit;
    }
    // Never-used addresses: from the cursor to the end of the range, then from its start up to the cursor.
    const key = cursorKey(range);
    const hint = cursors.get(key);
    const from = hint !== undefined && hint > range.first && hint <= range.last ? hint : range.first;
    const segments: Array<[number, number]> =
      from > range.first
        ? [
            [from, range.last],
            [range.first, from - 1],
          ]
        : [[range.first, range.last]];
    const rounds = exclude.size + skip.size + 1; // each blocked gap costs one round
    for (const [lo, hi] of segments) {
      let start = lo;
      for (let round = 0; round < rounds && start <= hi; round++) {
        const gap = (await sql.query<{ n: number }>(Q.firstGap, [start, hi])).rows[0]?.n;
        if (gap === undefined || gap > hi) break;
        if (!blocked(gap, intToIp(gap))) {
          // Moved when the address is handed out, so concurrent DISCOVERs search from different places.
          cursors.set(key, gap < range.last ? gap + 1 : range.first);
          return { ipNum: gap, row: undefined, stage: 'other' };
        }
        start = gap + 1;
      }
    }
    for (const row of await leaseRows(sql, Q.oldestFree, [range.first, range.last, now, rounds])) {
      if (!blocked(row.ip_num, row.ip)) return { ipNum: row.ip_num, row, stage: 'other' };
    }
    if (req.reclaimOffersMadeBefore === undefined) return undefined;
    const offers = await leaseRows(sql, Q.oldestOffers, [
      range.first,
      range.last,
      now,
      req.reclaimOffersMadeBefore,
      mac,
      rounds,
    ]);
    for (const row of offers) {
      if (!blocked(row.ip_num, row.ip)) return { ipNum: row.ip_num, row, stage: 'other' };
    }
    return undefined;
  };

  /** Picks an address and claims it (the offer row) in one transaction. */
  const claim = (req: AllocateRequest, skip: ReadonlySet<number>): Promise<Claim | undefined> =>
    leaseTx(async (sql) => {
      const pick = await pickAddress(sql, req, skip);
      if (!pick) return undefined;
      const { row } = pick;
      // A client that already holds the address keeps its lease: a repeated DISCOVER must not shorten it.
      if (row && row.mac === req.mac && row.state === 'bound' && row.expires_at > req.now)
        return { lease: toLease(row), ipNum: pick.ipNum, stage: pick.stage, wrote: 'nothing' };
      // Another instance's pending offer to this client stays its own (AllocateRequest.serverId).
      const serverId = req.serverId ?? null;
      if (othersOffer(row, req.mac, serverId, req.now))
        return { lease: toLease(row!), ipNum: pick.ipNum, stage: pick.stage, wrote: 'nothing' };
      const ip = intToIp(pick.ipNum);
      await sql.query(Q.upsert, [pick.ipNum, ip, req.mac, 'offered', req.offerExpiresAt, req.now, null, serverId]);
      const lease: AllocatedLease = {
        ip,
        mac: req.mac,
        state: 'offered',
        expiresAt: req.offerExpiresAt,
        updatedAt: req.now,
        hostname: row?.hostname ?? null, // as the upsert's COALESCE left it
        serverId,
      };
      if (row && row.mac !== req.mac && row.state === 'offered' && row.expires_at > req.now)
        lease.reclaimedFrom = row.mac;
      return { lease, ipNum: pick.ipNum, stage: pick.stage, wrote: row ? 'updated' : 'created' };
    });

  /** Gives back a claimed address that may not be offered after all. */
  const unclaim = (req: AllocateRequest, c: Claim) =>
    leaseTx(async (sql) => {
      if (c.wrote === 'created') await sql.query(Q.dropClaim, [c.ipNum, req.mac]);
      else if (c.wrote === 'updated') await sql.query(Q.freeClaim, [c.ipNum, req.mac, req.now]);
    });

  /**
   * Claim first (committed), then ask whether the address is reserved for another machine: the
   * question runs outside the transaction, and concurrent DISCOVERs see the claim and pick another
   * address. A claim found reserved is undone before anything is sent, and the search repeats
   * without it; bounded: every round adds an address to `skip`.
   */
  const allocate = async (req: AllocateRequest): Promise<AllocatedLease | undefined> => {
    const skip = new Set<number>();
    const bound = req.range.last - req.range.first + 3; // every address of the range, the requested and reserved ones
    for (let round = 0; round < bound; round++) {
      const c = await claim(req, skip);
      if (!c || !req.reservedForOther || c.stage === 'reserved') return c?.lease;
      let reservedForOther: boolean;
      try {
        reservedForOther = await req.reservedForOther(c.lease.ip);
      } catch (err) {
        await unclaim(req, c); // no offer goes out: do not hold the address for the offer's lifetime
        throw err;
      }
      if (!reservedForOther) return c.lease;
      await unclaim(req, c);
      skip.add(c.ipNum);
    }
    return undefined;
  };

  const commit = (req: CommitRequest): Promise<Lease | undefined> =>
    leaseTx(async (sql) => {
      const ipNum = ipToInt(req.ip);
      const [before] = await leaseRows(sql, Q.get, [ipNum]);
      if (!isFreeFor(before, req.mac, req.now)) return undefined;
      const serverId = req.serverId ?? null;
      await sql.query(Q.upsert, [
        ipNum,
        req.ip,
        req.mac,
        'bound',
        req.expiresAt,
        req.now,
        req.hostname ?? null,
        serverId,
      ]);
      // A client holds one address per pool: its other offers and leases in the range are released.
      if (req.range) await sql.query(Q.releaseOthers, [req.mac, req.range.first, req.range.last, ipNum, req.now]);
      const hostname = req.hostname ?? before?.hostname ?? null;
      return {
        ip: req.ip,
        mac: req.mac,
        state: 'bound',
        expiresAt: req.expiresAt,
        updatedAt: req.now,
        hostname,
        serverId,
      };
    });

  const write = (text: string, params: unknown[]) => leaseTx(async (sql) => (await sql.query(text, params)).rowCount);
  return {
    allocate,
    commit,
    async cancelOffers(mac, now, serverId, keep) {
      return write(Q.cancelOffers, [mac, now, serverId, keep === undefined ? -1 : ipToInt(keep)]);
    },
    async release(mac, ip, now) {
      return (await write(Q.release, [ipToInt(ip), mac, now])) > 0;
    },
    async decline(mac, ip, now, until) {
      return (await write(Q.decline, [ipToInt(ip), mac, now, until])) > 0;
    },
    async get(ip) {
      const [row] = await leaseRows(db.reader, Q.get, [ipToInt(ip)]);
      return row ? toLease(row) : undefined;
    },
    async listByMac(mac) {
      return (await leaseRows(db.reader, Q.byMac, [mac])).map(toLease);
    },
    async list() {
      return (await leaseRows(db.reader, Q.all, [])).map(toLease);
    },
  };
}
