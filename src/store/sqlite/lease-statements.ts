/** The prepared SQL statements of the lease repository (leases.ts): reads, allocation searches, writes and undos. */
import type { SqlDb } from './group-commit.js';
import type { Row } from './lease-rows.js';

/** Prepared once per repository; better-sqlite3 statements are reused across calls. */
export function leaseStatements(db: SqlDb) {
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
    `INSERT INTO leases (ip_num, ip, mac, state, expires_at, updated_at, hostname, server_id)
     VALUES (@ipNum, @ip, @mac, @state, @expiresAt, @now, @hostname, @serverId)
     ON CONFLICT(ip_num) DO UPDATE SET mac = excluded.mac, state = excluded.state,
       expires_at = excluded.expires_at, updated_at = excluded.updated_at,
       hostname = COALESCE(excluded.hostname, leases.hostname), server_id = excluded.server_id`,
  );
  const releaseOthers = db.prepare(
    `UPDATE leases SET state = 'released', expires_at = @now, updated_at = @now
     WHERE mac = @mac AND ip_num BETWEEN @first AND @last AND ip_num != @ipNum
       AND state IN ('offered', 'bound') AND expires_at > @now`,
  );
  const cancelOffers = db.prepare(
    `UPDATE leases SET state = 'released', expires_at = @now, updated_at = @now
     WHERE mac = @mac AND state = 'offered' AND expires_at > @now AND server_id IS @serverId AND ip_num != @keep`,
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

  return {
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
  };
}
