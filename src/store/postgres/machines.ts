import { ConflictError } from '../../core/errors.js';
import type { Machine } from '../../core/types.js';
import type { MachineFilter, MachineRepo } from '../../core/ports/types.js';
import { type Db, isUniqueViolation } from './db.js';

type Row = { doc: Machine };

/**
 * The filters of `list` and `page` in SQL ($1 after, $2 states, $3 registered, $4 cluster, $5/$6 a
 * label's key and value). A label key may hold dots and slashes (topology.kubernetes.io/zone):
 * `->>` takes it as one key, never as a path.
 */
const FILTERED = `SELECT doc FROM machines WHERE mac > $1
   AND ($2::text[] IS NULL OR state = ANY($2::text[]))
   AND ($3::boolean IS NULL OR (state <> 'discovered') = $3::boolean)
   AND ($4::text IS NULL OR cluster = $4::text)
   AND ($5::text IS NULL OR doc->'labels'->>$5::text = $6::text)
 ORDER BY mac`;

function filterParams(filter: MachineFilter, after?: string): unknown[] {
  const states = filter.states ?? (filter.state ? [filter.state] : undefined);
  return [
    after ?? '',
    states ? [...states] : null,
    filter.registered ?? null,
    filter.cluster ?? null,
    filter.label?.key ?? null,
    filter.label?.value ?? null,
  ];
}

/** Machines: the jsonb document, plus the columns the queries filter on. */
export function pgMachineRepo(db: Db): MachineRepo {
  const seenIp = (m: Machine) => m.lastSeen.ip ?? null;
  const seenAt = (m: Machine) => m.lastSeen.at ?? m.createdAt;
  const one = async (text: string, params: unknown[]) => (await db.read<Row>(text, params)).rows[0]?.doc;
  return {
    async get(mac) {
      return one('SELECT doc FROM machines WHERE mac = $1', [mac]);
    },
    async findByUuid(uuid) {
      // Registered machines only (a discovered NIC of the same machine carries its UUID too); two
      // rows are enough to know the UUID is not unique.
      const res = await db.read<Row>("SELECT doc FROM machines WHERE uuid = $1 AND state <> 'discovered' LIMIT 2", [
        uuid,
      ]);
      return res.rows.length === 1 ? res.rows[0]!.doc : undefined;
    },
    async findByIp(ip) {
      // A reservation wins over an address the machine merely booted from; then the latest boot.
      return one(
        `SELECT doc FROM machines WHERE ip = $1 OR seen_ip = $1
         ORDER BY (ip IS NOT NULL AND ip = $1) DESC, doc->'lastSeen'->>'at' COLLATE "C" DESC NULLS LAST LIMIT 1`,
        [ip],
      );
    },
    async list(filter = {}) {
      return (await db.read<Row>(FILTERED, filterParams(filter))).rows.map((r) => r.doc);
    },
    async page(filter, p) {
      const res = await db.read<Row>(`${FILTERED} LIMIT $7`, [...filterParams(filter, p.after), p.limit]);
      return res.rows.map((r) => r.doc);
    },
    async countByState() {
      const res = await db.read<{ state: Machine['state']; n: number }>(
        'SELECT state, count(*) AS n FROM machines GROUP BY state',
      );
      return new Map(res.rows.map((r) => [r.state, r.n]));
    },
    async countDiscovered() {
      const res = await db.read<{ n: number }>("SELECT count(*) AS n FROM machines WHERE state = 'discovered'");
      return res.rows[0]?.n ?? 0;
    },
    async trimDiscovered(keep, max) {
      if (max <= 0) return 0;
      // One statement: the excess is counted and the oldest of it deleted in the same snapshot.
      const res = await db.query(
        `DELETE FROM machines WHERE state = 'discovered' AND mac IN (
           SELECT mac FROM machines WHERE state = 'discovered' ORDER BY seen_at, mac
           LIMIT GREATEST(0, LEAST($2::bigint, (SELECT count(*) FROM machines WHERE state = 'discovered') - $1::bigint)))`,
        [keep, max],
      );
      return res.rowCount;
    },
    async expireDiscovered(seenBefore, max) {
      if (max <= 0) return 0;
      const res = await db.query(
        `DELETE FROM machines WHERE state = 'discovered' AND mac IN (
           SELECT mac FROM machines WHERE state = 'discovered' AND seen_at < $1 ORDER BY seen_at, mac LIMIT $2)`,
        [seenBefore, max],
      );
      return res.rowCount;
    },
    async reservationOwner(ip) {
      return (await db.read<{ mac: string }>('SELECT mac FROM machines WHERE ip = $1 LIMIT 1', [ip])).rows[0]?.mac;
    },
    async hostnameOwner(cluster, hostname, except) {
      // The cluster column (indexed) narrows it to one cluster's machines; the name is in the document.
      const res = await db.read<{ mac: string }>(
        "SELECT mac FROM machines WHERE cluster = $1 AND doc->>'hostname' = $2 AND mac <> $3 ORDER BY mac LIMIT 1",
        [cluster, hostname, except],
      );
      return res.rows[0]?.mac;
    },
    async insert(m) {
      try {
        await db.query(
          'INSERT INTO machines (mac, uuid, cluster, state, ip, seen_ip, seen_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [m.mac, m.uuid, m.cluster, m.state, m.ip, seenIp(m), seenAt(m), JSON.stringify(m)],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`machine ${m.mac} is already registered`);
        throw err;
      }
    },
    async update(m) {
      // State only moves through the timeline (events.append): the stored state and the time it
      // was entered win over the copy's, so an update from a copy read earlier cannot roll back a
      // state change made in between (the row is locked by the UPDATE, its current values used).
      const res = await db.query(
        `UPDATE machines SET uuid = $1, cluster = $2, ip = $3, seen_ip = $4, seen_at = $5,
           doc = $6::jsonb || jsonb_build_object('state', state, 'stateChangedAt', doc->'stateChangedAt')
         WHERE mac = $7`,
        [m.uuid, m.cluster, m.ip, seenIp(m), seenAt(m), JSON.stringify(m), m.mac],
      );
      return res.rowCount > 0;
    },
    async noteSeen(m) {
      // What a boot request saw, merged into the stored document: the rest of it (an operator's
      // edit in between included) stays. An SMBIOS UUID or serial is only filled in, never replaced.
      const res = await db.query(
        `UPDATE machines SET seen_at = $2, seen_ip = $3, uuid = COALESCE(uuid, $4::text),
           doc = doc || jsonb_build_object(
             'lastSeen', $5::jsonb,
             'uuid', COALESCE(NULLIF(doc->'uuid', 'null'::jsonb), to_jsonb($4::text)),
             'serial', COALESCE(NULLIF(doc->'serial', 'null'::jsonb), to_jsonb($6::text)))
         WHERE mac = $1`,
        [m.mac, seenAt(m), seenIp(m), m.uuid, JSON.stringify(m.lastSeen), m.serial],
      );
      return res.rowCount > 0;
    },
    async delete(mac) {
      return (await db.query('DELETE FROM machines WHERE mac = $1', [mac])).rowCount > 0;
    },
  };
}
