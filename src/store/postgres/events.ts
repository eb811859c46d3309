import type { MachineEvent } from '../../core/types.js';
import type { EventRepo } from '../../core/ports/types.js';
import { type Db, LOCK_SPACE, LOCKS } from './db.js';
import { retentionPruner } from './retention.js';

/**
 * The channel every instance LISTENs on (`event-feed.ts`). Payloads are `a:<id>` (an event
 * appended) and `r:<id>` (its repeat count grew): ids only, far below NOTIFY's 8000 bytes; the
 * listener reads the rows, so a live stream and a Last-Event-ID replay read the same thing.
 * NOTIFY is sent inside the writing transaction: delivered at its commit, never for a rollback.
 */
export const EVENTS_CHANNEL = 'metalboot_events';

export type Row = {
  id: number;
  mac: string;
  at: string;
  kind: string;
  detail: Record<string, unknown>;
  source_ip: string | null;
  state: string | null;
  repeats: number;
  last_at: string | null;
};

export const toEvent = (r: Row): MachineEvent => ({
  id: r.id,
  mac: r.mac,
  at: r.at,
  kind: r.kind,
  detail: r.detail,
  sourceIp: r.source_ip,
  state: r.state as MachineEvent['state'],
  // Only a coalesced event carries its count: most events happen once.
  ...(r.repeats > 1 ? { repeats: r.repeats, lastAt: r.last_at ?? r.at } : {}),
});

/**
 * The machines' timeline (append-only by trigger); an event with a state moves the machine's.
 *
 * Ids come from one identity sequence, so they are globally ordered; but a sequence hands out ids
 * when rows are inserted, not when they commit, and a reader paging by id (`since`, an SSE client's
 * Last-Event-ID) must never see id 8 before id 7 commits, or it would skip 7 for good. So the
 * insert and its commit run under a transaction-level advisory lock: ids become visible in order,
 * across every instance on the database. The machine's row is updated before the lock is taken, so
 * the lock is held for one insert and the commit only.
 */
export function pgEventRepo(db: Db): EventRepo {
  const prune = retentionPruner(db, 'machine_events');
  const rows = async (text: string, params: unknown[]) => (await db.read<Row>(text, params)).rows.map(toEvent);
  return {
    async append(e) {
      // One statement, so one round trip (it was six: BEGIN, UPDATE, lock, INSERT, NOTIFY,
      // COMMIT; render on PostgreSQL paid them on every /ipxe). An autocommitted statement is its
      // own transaction, so the state move and the event still commit together, the advisory lock
      // is held until that commit, and the NOTIFY goes out at it. The CTEs run in the order their
      // data needs: the machine's row first (u), then the lock (l counts u's rows, so u is done),
      // then the insert (it selects from l) and the notification (from the insert's id) — the lock
      // is still taken after the row update and held for the insert and the commit only.
      const res = await db.query<{ id: number }>(
        `WITH u AS (
           UPDATE machines SET state = $6, doc = doc || jsonb_build_object('state', $6::text, 'stateChangedAt', $2::text)
           WHERE $6::text IS NOT NULL AND mac = $1 AND state IS DISTINCT FROM $6 RETURNING 1),
         l AS (SELECT pg_advisory_xact_lock($7, $8) FROM (SELECT count(*) FROM u) c),
         i AS (
           INSERT INTO machine_events (mac, at, kind, detail, source_ip, state)
           SELECT $1, $2, $3, $4, $5, $6 FROM l RETURNING id)
         SELECT id, pg_notify($9, 'a:' || id) FROM i`,
        [e.mac, e.at, e.kind, JSON.stringify(e.detail), e.sourceIp, e.state, LOCK_SPACE, LOCKS.events, EVENTS_CHANNEL],
      );
      return { id: res.rows[0]!.id, ...e };
    },
    async repeat(id, at) {
      // Only while it is still its machine's newest event: another instance may have appended one
      // since this one's Timeline remembered it, and a repeat must not be counted across that.
      // The notification goes out in the same statement's transaction.
      const res = await db.query(
        `WITH u AS (
           UPDATE machine_events e SET repeats = repeats + 1, last_at = $1
           WHERE e.id = $2 AND NOT EXISTS (SELECT 1 FROM machine_events n WHERE n.mac = e.mac AND n.id > e.id)
           RETURNING e.id)
         SELECT pg_notify($3, 'r:' || id) FROM u`,
        [at, id, EVENTS_CHANNEL],
      );
      return res.rowCount > 0;
    },
    prune,
    async list(mac, opts = {}) {
      return rows('SELECT * FROM machine_events WHERE mac = $1 AND id > $2 ORDER BY id LIMIT $3', [
        mac,
        opts.afterId ?? 0,
        opts.limit ?? 10_000,
      ]);
    },
    async since(afterId, limit) {
      return rows('SELECT * FROM machine_events WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit]);
    },
    async tail(mac, limit) {
      return rows(
        'SELECT * FROM (SELECT * FROM machine_events WHERE mac = $1 ORDER BY id DESC LIMIT $2) t ORDER BY id',
        [mac, limit],
      );
    },
    async latest(macs) {
      if (macs.length === 0) return new Map();
      // One index seek per asked MAC (machine_events_mac), not a GROUP BY over the whole timeline.
      const res = await db.read<{ mac: string; id: number; kind: string; at: string }>(
        `SELECT e.mac, e.id, e.kind, COALESCE(e.last_at, e.at) AS at
         FROM (SELECT DISTINCT unnest($1::text[]) AS mac) j
         JOIN machine_events e ON e.id = (SELECT max(id) FROM machine_events WHERE mac = j.mac)`,
        [[...macs]],
      );
      return new Map(res.rows.map((r) => [r.mac, { id: r.id, kind: r.kind, at: r.at }]));
    },
  };
}
