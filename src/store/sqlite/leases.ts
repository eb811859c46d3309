/** The SQLite lease repository: allocation order, next-free cursor, claim-then-ask `reservedForOther`. */
import type {
  AllocatedLease,
  AllocateRequest,
  CommitRequest,
  Lease,
  LeaseRange,
  LeaseRepo,
} from '../../core/ports/leases.js';
import type { SqlDb } from './group-commit.js';
import {
  type Claim,
  intToIp,
  ipToInt,
  isActive,
  isFreeFor,
  NONE,
  othersOffer,
  type Pick,
  type Stage,
  toLease,
} from './lease-rows.js';
import { leaseStatements } from './lease-statements.js';

/**
 * Leases in SQLite (table from migration 2). One row per address ever used, keyed by the address
 * as an integer so range scans use the primary key. better-sqlite3 is synchronous and each
 * mutating method runs in one transaction: picking and claiming an address is atomic against
 * concurrent DISCOVERs in this process and, through SQLite's write lock, against other processes
 * on the same file. (Allocation may then give its claim back, see `allocate`.)
 */
export function sqliteLeaseRepo(db: SqlDb): LeaseRepo {
  const {
    get,
    byMac,
    all,
    mineInRange,
    firstGap,
    oldestFree,
    oldestOffers,
    upsert,
    releaseOthers,
    cancelOffers,
    release,
    decline,
    dropClaim,
    freeClaim,
  } = leaseStatements(db);

  /**
   * Next-free cursor per range: where the never-used search starts, just past the last address
   * it handed out. Without it every DISCOVER scanned the range from its first address through
   * every lease handed out so far (O(leases) per allocation). It is only a hint, private to this
   * process: another instance on the same database keeps its own, and a stale cursor at worst
   * makes the search start in the wrong place. Which address is free is always decided by the
   * queries inside the allocation's transaction. Keyed by the exact range, so a changed pool
   * starts afresh at its first address.
   */
  const cursors = new Map<string, number>();
  const cursorKey = (range: LeaseRange) => `${range.first}-${range.last}`;

  /**
   * The address to offer, or undefined when the range is exhausted. `skip` holds addresses this
   * request already found reserved for other machines: they are treated like `exclude`.
   */
  const pickAddress = (req: AllocateRequest, skip: ReadonlySet<number>): Pick | undefined => {
    const { mac, range, now } = req;
    const exclude = req.exclude ?? NONE;
    const blocked = (ipNum: number, ip: string) => skip.has(ipNum) || exclude.has(ip);
    const usable = (ipNum: number, inRange: boolean, stage: Stage): Pick | undefined => {
      if (inRange && (ipNum < range.first || ipNum > range.last || blocked(ipNum, intToIp(ipNum)))) return undefined;
      const row = get.get(ipNum);
      return isFreeFor(row, mac, now) ? { ipNum, row, stage } : undefined;
    };
    if (req.reserved) {
      const hit = usable(ipToInt(req.reserved), false, 'reserved');
      if (hit) return hit;
    }
    const mine = mineInRange.all(mac, range.first, range.last);
    const current = mine.find((r) => isActive(r, now) && r.state !== 'declined');
    if (current && !blocked(current.ip_num, current.ip)) return { ipNum: current.ip_num, row: current, stage: 'other' };
    if (req.requested) {
      const hit = usable(ipToInt(req.requested), true, 'other');
      if (hit) return hit;
    }
    for (const previous of mine) {
      const hit = usable(previous.ip_num, true, 'other');
      if (hit) return hit;
    }
    // Never-used addresses: from the cursor to the end of the range, then once from the start
    // of the range up to the cursor.
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
    for (const [lo, hi] of segments) {
      for (let start = lo; start <= hi; ) {
        const gap = firstGap.get({ start, last: hi })?.n;
        if (gap === undefined || gap > hi) break;
        if (!blocked(gap, intToIp(gap))) {
          // Moved when the address is handed out, not when the offer is taken: concurrent
          // DISCOVERs then search from different places instead of racing for one address.
          cursors.set(key, gap < range.last ? gap + 1 : range.first);
          return { ipNum: gap, row: undefined, stage: 'other' };
        }
        start = gap + 1; // bounded: at most exclude.size + skip.size + 1 rounds per segment
      }
    }
    const limit = exclude.size + skip.size + 1;
    for (const row of oldestFree.all(range.first, range.last, now, limit)) {
      if (!blocked(row.ip_num, row.ip)) return { ipNum: row.ip_num, row, stage: 'other' };
    }
    if (req.reclaimOffersMadeBefore === undefined) return undefined;
    const offers = oldestOffers.all({
      first: range.first,
      last: range.last,
      now,
      madeBefore: req.reclaimOffersMadeBefore,
      mac,
      limit,
    });
    for (const row of offers) {
      if (!blocked(row.ip_num, row.ip)) return { ipNum: row.ip_num, row, stage: 'other' };
    }
    return undefined;
  };

  /** Picks an address and claims it (the offer row) in one transaction. */
  const claim = db.transaction((req: AllocateRequest, skip: ReadonlySet<number>): Claim | undefined => {
    const pick = pickAddress(req, skip);
    if (!pick) return undefined;
    const { row } = pick;
    // A client that already holds the address keeps its lease as it is: a repeated DISCOVER
    // must not shorten a bound lease to an offer.
    if (row && row.mac === req.mac && row.state === 'bound' && row.expires_at > req.now) {
      return { lease: toLease(row), ipNum: pick.ipNum, stage: pick.stage, wrote: 'nothing' };
    }
    // Another server's pending offer to this client stays that server's (AllocateRequest.serverId).
    if (othersOffer(row, req.mac, req.serverId ?? null, req.now))
      return { lease: toLease(row!), ipNum: pick.ipNum, stage: pick.stage, wrote: 'nothing' };
    upsert.run({
      ipNum: pick.ipNum,
      ip: intToIp(pick.ipNum),
      mac: req.mac,
      state: 'offered',
      expiresAt: req.offerExpiresAt,
      now: req.now,
      hostname: null,
      serverId: req.serverId ?? null,
    });
    // The row as the upsert left it (hostname: COALESCE keeps the old one), without reading it back.
    const lease: AllocatedLease = {
      ip: intToIp(pick.ipNum),
      mac: req.mac,
      state: 'offered',
      expiresAt: req.offerExpiresAt,
      updatedAt: req.now,
      hostname: row?.hostname ?? null,
      serverId: req.serverId ?? null,
    };
    // Taken over from another client's offer that had not expired (the reclaim step above).
    if (row && row.mac !== req.mac && row.state === 'offered' && row.expires_at > req.now)
      lease.reclaimedFrom = row.mac;
    return { lease, ipNum: pick.ipNum, stage: pick.stage, wrote: row ? 'updated' : 'created' };
  });

  /** Gives back a claimed address that may not be offered after all. */
  const unclaim = (req: AllocateRequest, c: Claim) => {
    if (c.wrote === 'created') dropClaim.run({ ipNum: c.ipNum, mac: req.mac });
    else if (c.wrote === 'updated') freeClaim.run({ ipNum: c.ipNum, mac: req.mac, now: req.now });
  };

  /**
   * Claim first, then ask whether the address is reserved for another machine (the question is
   * asynchronous and cannot run inside a better-sqlite3 transaction). Claiming first means
   * concurrent DISCOVERs never wait on the same candidate: each sees the others' claims in the
   * database and picks another address. A claim found reserved is undone before anything is
   * sent, and the search repeats without it. Terminates: every repetition adds an address of
   * the range (or the requested one) to `skip`.
   */
  const allocate = async (req: AllocateRequest): Promise<AllocatedLease | undefined> => {
    const skip = new Set<number>();
    for (;;) {
      const c = claim(req, skip);
      // The client's own reservation is never asked about: it is the one address it may have.
      if (!c || !req.reservedForOther || c.stage === 'reserved') return c?.lease;
      let reservedForOther: boolean;
      try {
        reservedForOther = await req.reservedForOther(c.lease.ip);
      } catch (err) {
        unclaim(req, c); // no offer goes out: do not hold the address for the offer's lifetime
        throw err;
      }
      if (!reservedForOther) return c.lease;
      unclaim(req, c);
      skip.add(c.ipNum);
    }
  };

  const commit = db.transaction((req: CommitRequest): Lease | undefined => {
    const ipNum = ipToInt(req.ip);
    const before = get.get(ipNum);
    if (!isFreeFor(before, req.mac, req.now)) return undefined;
    upsert.run({
      ipNum,
      ip: req.ip,
      mac: req.mac,
      state: 'bound',
      expiresAt: req.expiresAt,
      now: req.now,
      hostname: req.hostname ?? null,
      serverId: req.serverId ?? null,
    });
    if (req.range)
      releaseOthers.run({ mac: req.mac, first: req.range.first, last: req.range.last, ipNum, now: req.now });
    const hostname = req.hostname ?? before?.hostname ?? null; // as the upsert's COALESCE left it
    return {
      ip: req.ip,
      mac: req.mac,
      state: 'bound',
      expiresAt: req.expiresAt,
      updatedAt: req.now,
      hostname,
      serverId: req.serverId ?? null,
    };
  });

  return {
    allocate,
    async commit(req) {
      return commit(req);
    },
    async cancelOffers(mac, now, serverId, keep) {
      return cancelOffers.run({ mac, now, serverId, keep: keep === undefined ? -1 : ipToInt(keep) }).changes;
    },
    async release(mac, ip, now) {
      return release.run({ ipNum: ipToInt(ip), mac, now }).changes > 0;
    },
    async decline(mac, ip, now, until) {
      return decline.run({ ipNum: ipToInt(ip), mac, now, until }).changes > 0;
    },
    async get(ip) {
      const row = get.get(ipToInt(ip));
      return row ? toLease(row) : undefined;
    },
    async listByMac(mac) {
      return byMac.all(mac).map(toLease);
    },
    async list() {
      return all.all().map(toLease);
    },
  };
}
