import { ConflictError } from '../../core/errors.js';
import type { Machine } from '../../core/types.js';
import type { MachineFilter, MachineRepo } from '../../core/ports/types.js';
import { isUniqueViolation } from './constraint.js';
import type { SqlDb } from './group-commit.js';

/** Machines (table from migration 1): the document, plus the columns the queries filter on. */
export function sqliteMachineRepo(db: SqlDb): MachineRepo {
  type Row = { doc: string };
  const parse = (row: Row | undefined) => (row ? (JSON.parse(row.doc) as Machine) : undefined);
  const get = db.prepare<[string], Row>('SELECT doc FROM machines WHERE mac = ?');
  // Registered machines only: a discovered NIC of the same machine carries its UUID too. Two rows
  // are enough to know the UUID is not unique.
  const byUuid = db.prepare<[string], Row>("SELECT doc FROM machines WHERE uuid = ? AND state != 'discovered' LIMIT 2");
  // A reservation wins over an address the machine merely booted from.
  const byIp = db.prepare<[{ ip: string }], Row>(
    `SELECT doc FROM machines WHERE ip = @ip OR seen_ip = @ip
     ORDER BY (ip IS NOT NULL AND ip = @ip) DESC, json_extract(doc, '$.lastSeen.at') DESC LIMIT 1`,
  );
  const all = db.prepare<[], Row>('SELECT doc FROM machines ORDER BY mac');
  const inStates = db.prepare<[string], Row>(
    'SELECT doc FROM machines WHERE state IN (SELECT value FROM json_each(?)) ORDER BY mac',
  );
  // Filters in SQL, so a page is `limit` matching rows whatever the registry holds. A label key may
  // hold dots and slashes (topology.kubernetes.io/zone): matched as a key of json_each, not a path.
  const page = db.prepare<
    [
      {
        after: string;
        states: string | null;
        registered: number | null;
        cluster: string | null;
        lk: string | null;
        lv: string | null;
        limit: number;
      },
    ],
    Row
  >(
    `SELECT doc FROM machines WHERE mac > @after
       AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
       AND (@registered IS NULL OR (state != 'discovered') = @registered)
       AND (@cluster IS NULL OR cluster = @cluster)
       AND (@lk IS NULL OR EXISTS (SELECT 1 FROM json_each(doc, '$.labels') WHERE key = @lk AND value = @lv))
     ORDER BY mac LIMIT @limit`,
  );
  const byState = db.prepare<[], { state: Machine['state']; n: number }>(
    'SELECT state, count(*) AS n FROM machines GROUP BY state',
  );
  const countDiscovered = db.prepare<[], number>('SELECT n FROM discovered_count').pluck(); // kept by triggers
  // machines_discovered_seen (a partial index) orders them; the mac breaks ties the same way every time.
  const trimDiscovered = db.prepare<[number]>(
    `DELETE FROM machines WHERE mac IN (
       SELECT mac FROM machines WHERE state = 'discovered' ORDER BY seen_at, mac LIMIT ?) AND state = 'discovered'`,
  );
  const expireDiscovered = db.prepare<[string, number]>(
    `DELETE FROM machines WHERE mac IN (
       SELECT mac FROM machines WHERE state = 'discovered' AND seen_at < ? ORDER BY seen_at, mac LIMIT ?)`,
  );
  const owner = db.prepare<[string], { mac: string }>('SELECT mac FROM machines WHERE ip = ? LIMIT 1');
  // The cluster column (indexed) narrows it to one cluster's machines; the name is in the document.
  const hostnameOwner = db.prepare<[string, string, string], { mac: string }>(
    "SELECT mac FROM machines WHERE cluster = ? AND json_extract(doc, '$.hostname') = ? AND mac != ? ORDER BY mac LIMIT 1",
  );
  const insert = db.prepare(
    'INSERT INTO machines (mac, uuid, cluster, state, ip, seen_ip, seen_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // State only moves through the timeline (events.append): an update written from a copy read
  // earlier must not roll back a state change that happened in between.
  const update = db.prepare(
    `UPDATE machines SET uuid = ?, cluster = ?, ip = ?, seen_ip = ?, seen_at = ?,
       doc = json_set(?, '$.state', state, '$.stateChangedAt', json_extract(doc, '$.stateChangedAt'))
     WHERE mac = ?`,
  );
  // What a boot request saw, written into the document by SQLite: the rest of the document (an
  // operator's edit in between included) stays as it is, and nothing is re-serialised in JS.
  // An SMBIOS UUID or serial is only filled in, never replaced.
  const noteSeen = db.prepare(
    `UPDATE machines SET seen_at = @at,
       doc = json_set(doc, '$.lastSeen', json(@lastSeen),
         '$.uuid', COALESCE(json_extract(doc, '$.uuid'), @uuid),
         '$.serial', COALESCE(json_extract(doc, '$.serial'), @serial))
     WHERE mac = @mac`,
  );
  // The indexed columns apart, and only when they change: SQLite rewrites the index entries of
  // every column an UPDATE sets, changed or not — two index pages more in the WAL per /ipxe.
  const noteSeenColumns = db.prepare(
    `UPDATE machines SET seen_ip = @ip, uuid = COALESCE(uuid, @uuid)
     WHERE mac = @mac AND (seen_ip IS NOT @ip OR (uuid IS NULL AND @uuid IS NOT NULL))`,
  );
  const del = db.prepare('DELETE FROM machines WHERE mac = ?');
  const seenIp = (m: Machine) => m.lastSeen.ip ?? null;
  const seenAt = (m: Machine) => m.lastSeen.at ?? m.createdAt;
  return {
    async get(mac) {
      return parse(get.get(mac));
    },
    async findByUuid(uuid) {
      const rows = byUuid.all(uuid);
      return rows.length === 1 ? parse(rows[0]) : undefined;
    },
    async findByIp(ip) {
      return parse(byIp.get({ ip }));
    },
    async list(filter: MachineFilter = {}) {
      const states = filter.states ?? (filter.state ? [filter.state] : undefined);
      return (states ? inStates.all(JSON.stringify(states)) : all.all())
        .map((r) => JSON.parse(r.doc) as Machine)
        .filter(
          (m) =>
            // the state is filtered by the query (its own column, indexed)
            (!filter.cluster || m.cluster === filter.cluster) &&
            (!filter.label || m.labels[filter.label.key] === filter.label.value) &&
            (filter.registered === undefined || (m.state !== 'discovered') === filter.registered),
        );
    },
    async page(filter, p) {
      const states = filter.states ?? (filter.state ? [filter.state] : undefined);
      return page
        .all({
          after: p.after ?? '',
          states: states ? JSON.stringify(states) : null,
          registered: filter.registered === undefined ? null : Number(filter.registered),
          cluster: filter.cluster ?? null,
          lk: filter.label?.key ?? null,
          lv: filter.label?.value ?? null,
          limit: p.limit,
        })
        .map((r) => JSON.parse(r.doc) as Machine);
    },
    async countByState() {
      return new Map(byState.all().map((r) => [r.state, r.n]));
    },
    async countDiscovered() {
      return countDiscovered.get() ?? 0;
    },
    async trimDiscovered(keep, max) {
      const excess = Math.min(max, (countDiscovered.get() ?? 0) - keep);
      return excess > 0 ? trimDiscovered.run(excess).changes : 0;
    },
    async expireDiscovered(seenBefore, max) {
      return expireDiscovered.run(seenBefore, max).changes;
    },
    async reservationOwner(ip) {
      return owner.get(ip)?.mac;
    },
    async hostnameOwner(cluster, hostname, except) {
      return hostnameOwner.get(cluster, hostname, except)?.mac;
    },
    async insert(m) {
      try {
        insert.run(m.mac, m.uuid, m.cluster, m.state, m.ip, seenIp(m), seenAt(m), JSON.stringify(m));
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`machine ${m.mac} is already registered`);
        throw err;
      }
    },
    async update(m) {
      return update.run(m.uuid, m.cluster, m.ip, seenIp(m), seenAt(m), JSON.stringify(m), m.mac).changes > 0;
    },
    async noteSeen(m) {
      const args = {
        mac: m.mac,
        ip: seenIp(m),
        at: seenAt(m),
        uuid: m.uuid,
        serial: m.serial,
        lastSeen: JSON.stringify(m.lastSeen),
      };
      if (noteSeen.run(args).changes === 0) return false;
      noteSeenColumns.run({ mac: args.mac, ip: args.ip, uuid: args.uuid });
      return true;
    },
    async delete(mac) {
      return del.run(mac).changes > 0;
    },
  };
}
