import type { SqlDb } from './group-commit.js';
import type {
  AllocatedLease,
  AllocateRequest,
  CommitRequest,
  Lease,
  LeaseRange,
  LeaseRepo,
  LeaseState,
} from '../../core/store/leases.js';

// Addresses as unsigned 32-bit integers (the DHCP adapter validates them before they get here).
const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/**
 * Leases in SQLite (table from migration 2). One row per address ever used, keyed by the address
 * as an integer so range scans use the primary key. better-sqlite3 is synchronous and each
 * mutating method runs in one transaction: picking and claiming an address is atomic against
 * concurrent DISCOVERs in this process and, through SQLite's write lock, against other processes
 * on the same file. (Allocation may then give its claim back, see `allocate`.)
 */
interface Row {
  ip_num: number;
  ip: string;
  mac: string;
  state: LeaseState;
  expires_at: number;
  updated_at: number;
  hostname: string | null;
}

const toLease = (r: Row): Lease => ({
  ip: r.ip,
  mac: r.mac,
  state: r.state,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
  hostname: r.hostname,
});

const NONE: ReadonlySet<string> = new Set();

/** Which step of the allocation order chose an address: the client's own reservation, or any other. */
type Stage = 'reserved' | 'other';

interface Pick {
  ipNum: number;
  /** The address's row before the allocation; undefined when it was never used. */
  row: Row | undefined;
  stage: Stage;
}

/** An address picked and held for the client in the database. */
interface Claim {
  lease: AllocatedLease;
  ipNum: number;
  stage: Stage;
  /** What the claim did to the address's row, so it can be undone. */
  wrote: 'created' | 'updated' | 'nothing';
}

/** Holds the address right now: an unexpired offer, lease or quarantine. */
const isActive = (r: Row, now: number) => r.state !== 'released' && r.expires_at > now;

/** May `mac` be given this address now? */
const isFreeFor = (r: Row | undefined, mac: string, now: number) =>
  !r || !isActive(r, now) || (r.mac === mac && r.state !== 'declined');

export function sqliteLeaseRepo(db: SqlDb): LeaseRepo {
  const get = db.prepare<[number], Row>('SELECT * FROM leases WHERE ip_num = ?');
  const byMac = db.prepare<[string], Row>('SELECT * FROM leases WHERE mac = ? ORDER BY updated_at DESC, ip_num');
  const all = db.prepare<[], Row>('SELECT * FROM leases ORDER BY ip_num');
  const mineInRange = db.prepare<[string, number, number], Row>(
    `SELECT * FROM leases WHERE mac = ? AND ip_num BETWEEN ? AND ?
     ORDER BY (state = 'bound') DESC, updated_at DESC`,
  );
  // Lowest address >= :start (and <= :last) that has never had a row.
  const firstGap = db.prepare<{ start: number; last: number }, { n: number }>(
    `SELECT :start AS n WHERE NOT EXISTS (SELECT 1 FROM leases WHERE ip_num = :start)
     UNION ALL
     SELECT l.ip_num + 1 FROM leases l
       WHERE l.ip_num >= :start AND l.ip_num < :last
         AND NOT EXISTS (SELECT 1 FROM leases m WHERE m.ip_num = l.ip_num + 1)
     ORDER BY n LIMIT 1`,
  );
  const oldestFree = db.prepare<[number, number, number, number], Row>(
    `SELECT * FROM leases WHERE ip_num BETWEEN ? AND ? AND (state = 'released' OR expires_at <= ?)
     ORDER BY updated_at, ip_num LIMIT ?`,
  );
  // Unconfirmed offers to other clients, oldest first: taken over only when nothing is free.
  const oldestOffers = db.prepare<
    { first: number; last: number; now: number; madeBefore: number; mac: string; limit: number },
    Row
  >(
    `SELECT * FROM leases WHERE ip_num BETWEEN :first AND :last AND state = 'offered' AND expires_at > :now
       AND updated_at <= :madeBefore AND mac != :mac
     ORDER BY updated_at, ip_num LIMIT :limit`,
  );
  const upsert = db.prepare(
    `INSERT INTO leases (ip_num, ip, mac, state, expires_at, updated_at, hostname)
     VALUES (@ipNum, @ip, @mac, @state, @expiresAt, @now, @hostname)
     ON CONFLICT(ip_num) DO UPDATE SET mac = excluded.mac, state = excluded.state,
       expires_at = excluded.expires_at, updated_at = excluded.updated_at,
       hostname = COALESCE(excluded.hostname, leases.hostname)`,
  );
  const releaseOthers = db.prepare(
    `UPDATE leases SET state = 'released', expires_at = @now, updated_at = @now
     WHERE mac = @mac AND ip_num BETWEEN @first AND @last AND ip_num != @ipNum
       AND state IN ('offered', 'bound') AND expires_at > @now`,
  );
  const cancelOffers = db.prepare(
    `UPDATE leases SET state = 'released', expires_at = @now, updated_at = @now
     WHERE mac = @mac AND state = 'offered' AND expires_at > @now`,
  );
  const release = db.prepare(
    `UPDATE leases SET state = 'released', expires_at = @now, updated_at = @now
     WHERE ip_num = @ipNum AND mac = @mac AND state IN ('offered', 'bound') AND expires_at > @now`,
  );
  const decline = db.prepare(
    `UPDATE leases SET state = 'declined', expires_at = @until, updated_at = @now
     WHERE ip_num = @ipNum AND mac = @mac AND state IN ('offered', 'bound') AND expires_at > @now`,
  );

  // Undo of a claim that turned out to be reserved for another machine (see `allocate` below).
  // Both only ever free the address, so no interleaving of undos can leave a stale hold behind.
  // A row that existed is left released under the claiming MAC rather than restored: whoever had
  // it before may not get it anyway, as it is reserved for another machine.
  const dropClaim = db.prepare(`DELETE FROM leases WHERE ip_num = @ipNum AND mac = @mac AND state = 'offered'`);
  const freeClaim = db.prepare(
    `UPDATE leases SET state = 'released', expires_at = @now, updated_at = @now
     WHERE ip_num = @ipNum AND mac = @mac AND state = 'offered'`,
  );

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
    upsert.run({
      ipNum: pick.ipNum,
      ip: intToIp(pick.ipNum),
      mac: req.mac,
      state: 'offered',
      expiresAt: req.offerExpiresAt,
      now: req.now,
      hostname: null,
    });
    // The row as the upsert left it (hostname: COALESCE keeps the old one), without reading it back.
    const lease: AllocatedLease = {
      ip: intToIp(pick.ipNum),
      mac: req.mac,
      state: 'offered',
      expiresAt: req.offerExpiresAt,
      updatedAt: req.now,
      hostname: row?.hostname ?? null,
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
    });
    if (req.range)
      releaseOthers.run({ mac: req.mac, first: req.range.first, last: req.range.last, ipNum, now: req.now });
    const hostname = req.hostname ?? before?.hostname ?? null; // as the upsert's COALESCE left it
    return { ip: req.ip, mac: req.mac, state: 'bound', expiresAt: req.expiresAt, updatedAt: req.now, hostname };
  });

  return {
    allocate,
    async commit(req) {
      return commit(req);
    },
    async cancelOffers(mac, now) {
      return cancelOffers.run({ mac, now }).changes;
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
