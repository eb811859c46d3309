/**
 * The lease repo of the in-memory store (memory-store.ts): the allocation order of the SQLite repo
 * (src/store/sqlite/leases.ts) over a Map, one row per address ever used. Every method runs
 * without awaiting until it has decided and written, so it is atomic in one process; `allocate`
 * claims first and asks `reservedForOther` after, giving the claim back if it must.
 */
import type {
  AllocatedLease,
  AllocateRequest,
  CommitRequest,
  Lease,
  LeaseRange,
  LeaseRepo,
} from '../../src/core/ports/leases.js';

const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** A lease row keyed by its address as an unsigned 32-bit integer. */
export type LeaseRow = Lease & { ipNum: number };

const NONE: ReadonlySet<string> = new Set();
type Stage = 'reserved' | 'other';
interface Pick {
  ipNum: number;
  row: LeaseRow | undefined;
  stage: Stage;
}
interface Claim {
  lease: AllocatedLease;
  ipNum: number;
  stage: Stage;
  wrote: 'created' | 'updated' | 'nothing';
}

const toLease = ({ ipNum: _, ...lease }: LeaseRow): Lease => ({ ...lease });
const isActive = (r: LeaseRow, now: number) => r.state !== 'released' && r.expiresAt > now;
const isFreeFor = (r: LeaseRow | undefined, mac: string, now: number) =>
  !r || !isActive(r, now) || (r.mac === mac && r.state !== 'declined');
const byAge = (a: LeaseRow, b: LeaseRow) => a.updatedAt - b.updatedAt || a.ipNum - b.ipNum;

/** `rows` is shared by every store instance over the same data; the next-free cursors are per instance, as in SQLite. */
export function memoryLeaseRepo(rows: Map<number, LeaseRow>): LeaseRepo {
  const cursors = new Map<string, number>();
  const inRange = (first: number, last: number) =>
    [...rows.values()].filter((r) => r.ipNum >= first && r.ipNum <= last);
  const upsert = (
    ipNum: number,
    mac: string,
    state: Lease['state'],
    expiresAt: number,
    now: number,
    hostname: string | null,
    serverId: string | null,
  ) => {
    const before = rows.get(ipNum);
    rows.set(ipNum, {
      ip: intToIp(ipNum),
      ipNum,
      mac,
      state,
      expiresAt,
      updatedAt: now,
      hostname: hostname ?? before?.hostname ?? null,
      serverId,
    });
  };
  const setReleased = (r: LeaseRow, now: number) =>
    rows.set(r.ipNum, { ...r, state: 'released', expiresAt: now, updatedAt: now });

  const pickAddress = (req: AllocateRequest, skip: ReadonlySet<number>): Pick | undefined => {
    const { mac, range, now } = req;
    const exclude = req.exclude ?? NONE;
    const blocked = (ipNum: number) => skip.has(ipNum) || exclude.has(intToIp(ipNum));
    const usable = (ipNum: number, checkRange: boolean, stage: Stage): Pick | undefined => {
      if (checkRange && (ipNum < range.first || ipNum > range.last || blocked(ipNum))) return undefined;
      const row = rows.get(ipNum);
      return isFreeFor(row, mac, now) ? { ipNum, row, stage } : undefined;
    };
    if (req.reserved) {
      const hit = usable(ipToInt(req.reserved), false, 'reserved');
      if (hit) return hit;
    }
    const mine = inRange(range.first, range.last)
      .filter((r) => r.mac === mac)
      .sort(
        (a, b) =>
          Number(b.state === 'bound') - Number(a.state === 'bound') || b.updatedAt - a.updatedAt || a.ipNum - b.ipNum,
      );
    const current = mine.find((r) => isActive(r, now) && r.state !== 'declined');
    if (current && !blocked(current.ipNum)) return { ipNum: current.ipNum, row: current, stage: 'other' };
    if (req.requested) {
      const hit = usable(ipToInt(req.requested), true, 'other');
      if (hit) return hit;
    }
    for (const previous of mine) {
      const hit = usable(previous.ipNum, true, 'other');
      if (hit) return hit;
    }
    // Never-used addresses: from the cursor to the end of the range, then from its start to the cursor.
    const key = `${range.first}-${range.last}`;
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
      for (let n = lo; n <= hi; n++) {
        if (rows.has(n) || blocked(n)) continue;
        cursors.set(key, n < range.last ? n + 1 : range.first);
        return { ipNum: n, row: undefined, stage: 'other' };
      }
    }
    const free = inRange(range.first, range.last)
      .filter((r) => r.state === 'released' || r.expiresAt <= now)
      .sort(byAge);
    const oldestFree = free.find((r) => !blocked(r.ipNum));
    if (oldestFree) return { ipNum: oldestFree.ipNum, row: oldestFree, stage: 'other' };
    const madeBefore = req.reclaimOffersMadeBefore;
    if (madeBefore === undefined) return undefined;
    const offers = inRange(range.first, range.last)
      .filter((r) => r.state === 'offered' && r.expiresAt > now && r.updatedAt <= madeBefore && r.mac !== mac)
      .sort(byAge);
    const offer = offers.find((r) => !blocked(r.ipNum));
    return offer ? { ipNum: offer.ipNum, row: offer, stage: 'other' } : undefined;
  };

  const claim = (req: AllocateRequest, skip: ReadonlySet<number>): Claim | undefined => {
    const pick = pickAddress(req, skip);
    if (!pick) return undefined;
    const { row } = pick;
    if (row && row.mac === req.mac && row.state === 'bound' && row.expiresAt > req.now) {
      return { lease: toLease(row), ipNum: pick.ipNum, stage: pick.stage, wrote: 'nothing' };
    }
    // Another server's pending offer to this client stays that server's (AllocateRequest.serverId).
    const serverId = req.serverId ?? null;
    if (row && row.mac === req.mac && row.state === 'offered' && row.expiresAt > req.now && row.serverId !== serverId)
      return { lease: toLease(row), ipNum: pick.ipNum, stage: pick.stage, wrote: 'nothing' };
    upsert(pick.ipNum, req.mac, 'offered', req.offerExpiresAt, req.now, null, serverId);
    const lease: AllocatedLease = toLease(rows.get(pick.ipNum)!);
    if (row && row.mac !== req.mac && row.state === 'offered' && row.expiresAt > req.now) lease.reclaimedFrom = row.mac;
    return { lease, ipNum: pick.ipNum, stage: pick.stage, wrote: row ? 'updated' : 'created' };
  };

  const unclaim = (req: AllocateRequest, c: Claim) => {
    const row = rows.get(c.ipNum);
    if (!row || row.mac !== req.mac || row.state !== 'offered') return;
    if (c.wrote === 'created') rows.delete(c.ipNum);
    else if (c.wrote === 'updated') setReleased(row, req.now);
  };

  const releaseWhere = (match: (r: LeaseRow) => boolean, now: number) => {
    let n = 0;
    for (const r of [...rows.values()]) {
      if (!match(r)) continue;
      setReleased(r, now);
      n++;
    }
    return n;
  };
  const heldBy = (r: LeaseRow | undefined, mac: string, now: number): r is LeaseRow =>
    !!r && r.mac === mac && (r.state === 'offered' || r.state === 'bound') && r.expiresAt > now;

  return {
    async allocate(req) {
      const skip = new Set<number>();
      for (;;) {
        const c = claim(req, skip);
        if (!c || !req.reservedForOther || c.stage === 'reserved') return c?.lease;
        let reservedForOther: boolean;
        try {
          reservedForOther = await req.reservedForOther(c.lease.ip);
        } catch (err) {
          unclaim(req, c);
          throw err;
        }
        if (!reservedForOther) return c.lease;
        unclaim(req, c);
        skip.add(c.ipNum);
      }
    },
    async commit(req: CommitRequest) {
      const ipNum = ipToInt(req.ip);
      if (!isFreeFor(rows.get(ipNum), req.mac, req.now)) return undefined;
      upsert(ipNum, req.mac, 'bound', req.expiresAt, req.now, req.hostname ?? null, req.serverId ?? null);
      const range: LeaseRange | undefined = req.range;
      if (range)
        releaseWhere(
          (r) => r.ipNum !== ipNum && r.ipNum >= range.first && r.ipNum <= range.last && heldBy(r, req.mac, req.now),
          req.now,
        );
      return toLease(rows.get(ipNum)!);
    },
    async cancelOffers(mac, now, serverId, keep) {
      const kept = keep === undefined ? -1 : ipToInt(keep);
      return releaseWhere(
        (r) =>
          r.mac === mac && r.state === 'offered' && r.expiresAt > now && r.serverId === serverId && r.ipNum !== kept,
        now,
      );
    },
    async release(mac, ip, now) {
      const r = rows.get(ipToInt(ip));
      if (!heldBy(r, mac, now)) return false;
      setReleased(r, now);
      return true;
    },
    async decline(mac, ip, now, until) {
      const r = rows.get(ipToInt(ip));
      if (!heldBy(r, mac, now)) return false;
      rows.set(r.ipNum, { ...r, state: 'declined', expiresAt: until, updatedAt: now });
      return true;
    },
    async get(ip) {
      const r = rows.get(ipToInt(ip));
      return r ? toLease(r) : undefined;
    },
    async listByMac(mac) {
      return [...rows.values()]
        .filter((r) => r.mac === mac)
        .sort((a, b) => b.updatedAt - a.updatedAt || a.ipNum - b.ipNum)
        .map(toLease);
    },
    async list() {
      return [...rows.values()].sort((a, b) => a.ipNum - b.ipNum).map(toLease);
    },
  };
}
