import type { MachineProgress } from '../../core/types.js';
import type { ProgressRepo, TalosEventRepo, UnattributedEvent } from '../../core/ports/talos.js';
import type { Db } from './db.js';

/** The unattributed-event table is a diagnostic, not evidence: keep the newest this many rows. */
const MAX_UNATTRIBUTED = 10_000;

type Row = {
  id: number;
  at: string;
  peer_ip: string;
  event_id: string;
  type: string;
  payload: Record<string, unknown>;
  claimed_by: string | null;
};

const toEvent = (r: Row): UnattributedEvent => ({
  id: r.id,
  at: r.at,
  peerIp: r.peer_ip,
  eventId: r.event_id,
  type: r.type,
  payload: r.payload,
  claimedBy: r.claimed_by,
});

/** Talos event ids (idempotent ingestion) and unattributed events. */
export function pgTalosEventRepo(db: Db): TalosEventRepo {
  return {
    async markSeen(mac, eventId, keep = 5000) {
      return db.tx(async (sql) => {
        const ins = await sql.query(
          'INSERT INTO talos_seen_events (mac, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [mac, eventId],
        );
        if (ins.rowCount === 0) return false;
        // The newest `keep` ids of this machine stay (by rank: ids may have gaps).
        await sql.query(
          `DELETE FROM talos_seen_events WHERE mac = $1 AND id <= (
             SELECT id FROM talos_seen_events WHERE mac = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)`,
          [mac, keep],
        );
        return true;
      });
    },
    async forget(mac, eventId) {
      await db.query('DELETE FROM talos_seen_events WHERE mac = $1 AND event_id = $2', [mac, eventId]);
    },
    async recordUnattributed(e) {
      return db.tx(async (sql) => {
        const ins = await sql.query(
          `INSERT INTO talos_unattributed_events (at, peer_ip, event_id, type, payload) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING`,
          [e.at, e.peerIp, e.eventId, e.type, JSON.stringify(e.payload)],
        );
        if (ins.rowCount === 0) return false;
        await sql.query(
          `DELETE FROM talos_unattributed_events WHERE id <= (
             SELECT id FROM talos_unattributed_events ORDER BY id DESC OFFSET $1 LIMIT 1)`,
          [MAX_UNATTRIBUTED],
        );
        return true;
      });
    },
    async listUnattributed(opts = {}) {
      const res = await db.read<Row>(
        `SELECT * FROM talos_unattributed_events
         WHERE ($1::text IS NULL OR peer_ip = $1::text) AND (NOT $2::boolean OR claimed_by IS NULL)
           AND ($3::bigint IS NULL OR id > $3::bigint)
         ORDER BY id LIMIT $4`,
        [opts.peerIp ?? null, opts.unclaimedOnly ?? false, opts.afterId ?? null, opts.limit ?? 1000],
      );
      return res.rows.map(toEvent);
    },
    async claimUnattributed(ids, mac) {
      if (ids.length === 0) return;
      await db.query('UPDATE talos_unattributed_events SET claimed_by = $1 WHERE id = ANY($2::bigint[])', [mac, ids]);
    },
    async countUnattributed(opts = {}) {
      const res = await db.read<{ n: number }>(
        'SELECT count(*) AS n FROM talos_unattributed_events WHERE NOT $1::boolean OR claimed_by IS NULL',
        [opts.unclaimedOnly ?? false],
      );
      return res.rows[0]?.n ?? 0;
    },
  };
}

/** Each machine's Talos progress: one jsonb document per machine, replaced whole. */
export function pgProgressRepo(db: Db): ProgressRepo {
  return {
    async get(mac) {
      return (await db.read<{ doc: MachineProgress }>('SELECT doc FROM machine_progress WHERE mac = $1', [mac])).rows[0]
        ?.doc;
    },
    async put(p) {
      await db.query(
        'INSERT INTO machine_progress (mac, doc) VALUES ($1, $2) ON CONFLICT (mac) DO UPDATE SET doc = excluded.doc',
        [p.mac, JSON.stringify(p)],
      );
    },
  };
}
