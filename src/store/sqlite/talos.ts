import type { SqlDb } from './group-commit.js';
import type { MachineProgress } from '../../core/types.js';
import type { ProgressRepo, TalosEventRepo, UnattributedEvent } from '../../core/ports/talos.js';

/** The unattributed-event table is a diagnostic, not evidence: keep the newest this many rows. */
const MAX_UNATTRIBUTED = 10_000;

/** Talos event ids and unattributed events (tables from migration 3). */
export function sqliteTalosEventRepo(db: SqlDb): TalosEventRepo {
  const insertSeen = db.prepare('INSERT OR IGNORE INTO talos_seen_events (mac, event_id) VALUES (?, ?)');
  const pruneSeen = db.prepare(
    `DELETE FROM talos_seen_events WHERE mac = @mac AND id <= (
       SELECT id FROM talos_seen_events WHERE mac = @mac ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
  );
  const deleteSeen = db.prepare('DELETE FROM talos_seen_events WHERE mac = ? AND event_id = ?');
  const insertUnattributed = db.prepare(
    'INSERT OR IGNORE INTO talos_unattributed_events (at, peer_ip, event_id, type, payload) VALUES (?, ?, ?, ?, ?)',
  );
  const pruneUnattributed = db.prepare(
    `DELETE FROM talos_unattributed_events WHERE id <= (
       SELECT id FROM talos_unattributed_events ORDER BY id DESC LIMIT 1 OFFSET ${MAX_UNATTRIBUTED})`,
  );
  const claim = db.prepare('UPDATE talos_unattributed_events SET claimed_by = ? WHERE id = ?');
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM talos_unattributed_events');
  const countUnclaimed = db.prepare<[], { n: number }>(
    'SELECT count(*) AS n FROM talos_unattributed_events WHERE claimed_by IS NULL',
  );
  type Row = {
    id: number;
    at: string;
    peer_ip: string;
    event_id: string;
    type: string;
    payload: string;
    claimed_by: string | null;
  };
  const toEvent = (r: Row): UnattributedEvent => ({
    id: r.id,
    at: r.at,
    peerIp: r.peer_ip,
    eventId: r.event_id,
    type: r.type,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    claimedBy: r.claimed_by,
  });
  const markSeen = db.transaction((mac: string, eventId: string, keep: number) => {
    const fresh = insertSeen.run(mac, eventId).changes > 0;
    if (fresh) pruneSeen.run({ mac, keep });
    return fresh;
  });
  return {
    async markSeen(mac, eventId, keep = 5000) {
      return markSeen(mac, eventId, keep);
    },
    async forget(mac, eventId) {
      deleteSeen.run(mac, eventId);
    },
    async recordUnattributed(e) {
      const fresh = insertUnattributed.run(e.at, e.peerIp, e.eventId, e.type, JSON.stringify(e.payload)).changes > 0;
      if (fresh) pruneUnattributed.run();
      return fresh;
    },
    async listUnattributed(opts = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (opts.peerIp !== undefined) {
        where.push('peer_ip = ?');
        args.push(opts.peerIp);
      }
      if (opts.unclaimedOnly) where.push('claimed_by IS NULL');
      if (opts.afterId !== undefined) {
        where.push('id > ?');
        args.push(opts.afterId);
      }
      const sql = `SELECT * FROM talos_unattributed_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
      return (db.prepare(sql).all(...args, opts.limit ?? 1000) as Row[]).map(toEvent);
    },
    async claimUnattributed(ids, mac) {
      db.transaction(() => {
        for (const id of ids) claim.run(mac, id);
      })();
    },
    async countUnattributed(opts = {}) {
      return (opts.unclaimedOnly ? countUnclaimed : countAll).get()?.n ?? 0;
    },
  };
}

export function sqliteProgressRepo(db: SqlDb): ProgressRepo {
  const get = db.prepare<[string], { doc: string }>('SELECT doc FROM machine_progress WHERE mac = ?');
  const put = db.prepare(
    'INSERT INTO machine_progress (mac, doc) VALUES (?, ?) ON CONFLICT(mac) DO UPDATE SET doc = excluded.doc',
  );
  return {
    async get(mac) {
      const row = get.get(mac);
      return row ? (JSON.parse(row.doc) as MachineProgress) : undefined;
    },
    async put(p) {
      put.run(p.mac, JSON.stringify(p));
    },
  };
}
