import type Database from 'better-sqlite3';
import type { AllocateRequest, CommitRequest, Lease, LeaseRepo, LeaseState } from '../leases.js';

// Addresses as unsigned 32-bit integers (the DHCP adapter validates them before they get here).
const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/**
 * Leases in SQLite (table from migration 2). One row per address ever used, keyed by the address
 * as an integer so range scans use the primary key. better-sqlite3 is synchronous and each
 * mutating method runs in one transaction: allocation is atomic against concurrent DISCOVERs
 * in this process and, through SQLite's write lock, against other processes on the same file.
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

/** Holds the address right now: an unexpired offer, lease or quarantine. */
const isActive = (r: Row, now: number) => r.state !== 'released' && r.expires_at > now;

/** May `mac` be given this address now? */
const isFreeFor = (r: Row | undefined, mac: string, now: number) =>
  !r || !isActive(r, now) || (r.mac === mac && r.state !== 'declined');

export function sqliteLeaseRepo(db: Database.Database): LeaseRepo {
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

  const pickAddress = (req: AllocateRequest): { ipNum: number; row: Row | undefined } | undefined => {
    const { mac, range, now } = req;
    const exclude = req.exclude ?? new Set<string>();
    const usable = (ipNum: number, inRange: boolean) => {
      if (inRange && (ipNum < range.first || ipNum > range.last || exclude.has(intToIp(ipNum)))) return undefined;
      const row = get.get(ipNum);
      return isFreeFor(row, mac, now) ? { ipNum, row } : undefined;
    };
    if (req.reserved) {
      const hit = usable(ipToInt(req.reserved), false);
      if (hit) return hit;
    }
    const mine = mineInRange.all(mac, range.first, range.last);
    const current = mine.find((r) => isActive(r, now) && r.state !== 'declined');
    if (current && !exclude.has(current.ip)) return { ipNum: current.ip_num, row: current };
    if (req.requested) {
      const hit = usable(ipToInt(req.requested), true);
      if (hit) return hit;
    }
    for (const previous of mine) {
      const hit = usable(previous.ip_num, true);
      if (hit) return hit;
    }
    for (let start = range.first; start <= range.last; ) {
      const gap = firstGap.get({ start, last: range.last })?.n;
      if (gap === undefined || gap > range.last) break;
      if (!exclude.has(intToIp(gap))) return { ipNum: gap, row: undefined };
      start = gap + 1; // bounded: at most exclude.size + 1 rounds
    }
    for (const row of oldestFree.all(range.first, range.last, now, exclude.size + 1)) {
      if (!exclude.has(row.ip)) return { ipNum: row.ip_num, row };
    }
    return undefined;
  };

  const allocate = db.transaction((req: AllocateRequest): Lease | undefined => {
    const pick = pickAddress(req);
    if (!pick) return undefined;
    const { row } = pick;
    // A client that already holds the address keeps its lease as it is: a repeated DISCOVER
    // must not shorten a bound lease to an offer.
    if (row && row.mac === req.mac && row.state === 'bound' && row.expires_at > req.now) return toLease(row);
    upsert.run({
      ipNum: pick.ipNum,
      ip: intToIp(pick.ipNum),
      mac: req.mac,
      state: 'offered',
      expiresAt: req.offerExpiresAt,
      now: req.now,
      hostname: null,
    });
    return toLease(get.get(pick.ipNum)!);
  });

  const commit = db.transaction((req: CommitRequest): Lease | undefined => {
    const ipNum = ipToInt(req.ip);
    if (!isFreeFor(get.get(ipNum), req.mac, req.now)) return undefined;
    upsert.run({
      ipNum,
      ip: req.ip,
      mac: req.mac,
      state: 'bound',
      expiresAt: req.expiresAt,
      now: req.now,
      hostname: req.hostname ?? null,
    });
    if (req.range) releaseOthers.run({ mac: req.mac, first: req.range.first, last: req.range.last, ipNum, now: req.now });
    return toLease(get.get(ipNum)!);
  });

  return {
    async allocate(req) {
      return allocate(req);
    },
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
