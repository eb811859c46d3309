/** The SQL of the PostgreSQL lease repository (leases.ts): reads, allocation searches, writes and undos. */
import type { Row } from '../sqlite/lease-rows.js';
import type { Sql } from './db.js';

export const LEASE_SQL = {
  get: 'SELECT * FROM leases WHERE ip_num = $1',
  byMac: 'SELECT * FROM leases WHERE mac = $1 ORDER BY updated_at DESC, ip_num',
  all: 'SELECT * FROM leases ORDER BY ip_num',
  mineInRange: `SELECT * FROM leases WHERE mac = $1 AND ip_num BETWEEN $2 AND $3
    ORDER BY (state = 'bound') DESC, updated_at DESC`,
  // Lowest address >= $1 (and <= $2) that has never had a row.
  firstGap: `SELECT $1::bigint AS n WHERE NOT EXISTS (SELECT 1 FROM leases WHERE ip_num = $1::bigint)
    UNION ALL
    SELECT l.ip_num + 1 FROM leases l
      WHERE l.ip_num >= $1::bigint AND l.ip_num < $2::bigint
        AND NOT EXISTS (SELECT 1 FROM leases m WHERE m.ip_num = l.ip_num + 1)
    ORDER BY n LIMIT 1`,
  oldestFree: `SELECT * FROM leases WHERE ip_num BETWEEN $1 AND $2 AND (state = 'released' OR expires_at <= $3)
    ORDER BY updated_at, ip_num LIMIT $4`,
  // Unconfirmed offers to other clients, oldest first: taken over only when nothing is free.
  oldestOffers: `SELECT * FROM leases WHERE ip_num BETWEEN $1 AND $2 AND state = 'offered' AND expires_at > $3
      AND updated_at <= $4 AND mac <> $5
    ORDER BY updated_at, ip_num LIMIT $6`,
  // $1 ip_num, $2 ip, $3 mac, $4 state, $5 expires_at, $6 now, $7 hostname (NULL keeps the old one), $8 server_id
  upsert: `INSERT INTO leases (ip_num, ip, mac, state, expires_at, updated_at, hostname, server_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (ip_num) DO UPDATE SET mac = excluded.mac, state = excluded.state,
      expires_at = excluded.expires_at, updated_at = excluded.updated_at,
      hostname = COALESCE(excluded.hostname, leases.hostname), server_id = excluded.server_id`,
  // $1 mac, $2 first, $3 last, $4 the address kept, $5 now
  releaseOthers: `UPDATE leases SET state = 'released', expires_at = $5, updated_at = $5
    WHERE mac = $1 AND ip_num BETWEEN $2 AND $3 AND ip_num <> $4
      AND state IN ('offered', 'bound') AND expires_at > $5`,
  // $1 mac, $2 now, $3 server_id (only this server's offers), $4 the address kept (-1: none)
  cancelOffers: `UPDATE leases SET state = 'released', expires_at = $2, updated_at = $2
    WHERE mac = $1 AND state = 'offered' AND expires_at > $2 AND server_id IS NOT DISTINCT FROM $3::text
      AND ip_num <> $4`,
  release: `UPDATE leases SET state = 'released', expires_at = $3, updated_at = $3
    WHERE ip_num = $1 AND mac = $2 AND state IN ('offered', 'bound') AND expires_at > $3`,
  decline: `UPDATE leases SET state = 'declined', expires_at = $4, updated_at = $3
    WHERE ip_num = $1 AND mac = $2 AND state IN ('offered', 'bound') AND expires_at > $3`,
  // Undo of a claim found reserved for another machine: both only ever free the address.
  dropClaim: `DELETE FROM leases WHERE ip_num = $1 AND mac = $2 AND state = 'offered'`,
  freeClaim: `UPDATE leases SET state = 'released', expires_at = $3, updated_at = $3
    WHERE ip_num = $1 AND mac = $2 AND state = 'offered'`,
} as const;

/** The rows of one lease query. */
export async function leaseRows(sql: Sql, text: string, params: unknown[]): Promise<Row[]> {
  return (await sql.query<Row>(text, params)).rows;
}
