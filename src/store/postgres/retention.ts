import type { RetentionBatch } from '../../core/ports/types.js';
import type { Db } from './db.js';

/**
 * One retention batch over an append-only table (`machine_events`, `audit_log`: identity ids, `at`
 * ISO time). Rows go from the oldest end only, at most `max` of them, checked in id order (ids grow
 * with time): those recorded before `before`, and those at or below the id of the (keepRows+1)-th
 * newest row. The latter is found by rank (an index scan that skips `keepRows` ids), not computed
 * as `max(id) - keepRows`: a sequence leaves gaps where a transaction that took an id rolled back,
 * so arithmetic on ids would keep fewer rows than asked. When `keepRows` is at least the count,
 * the rank finds no row and nothing goes for the count.
 *
 * The tables' triggers refuse a DELETE unless this transaction opened the gate
 * (`metalboot.retention`, set local: it closes at COMMIT, and no other session ever sees it).
 */
export function retentionPruner(
  db: Db,
  table: 'machine_events' | 'audit_log',
): (opts: RetentionBatch) => Promise<number> {
  const del = `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} ORDER BY id LIMIT $1)
    AND (($2::text IS NOT NULL AND at < $2::text)
      OR ($3::bigint IS NOT NULL AND id <= (SELECT id FROM ${table} ORDER BY id DESC OFFSET $3::bigint LIMIT 1)))`;
  return async (opts) => {
    if (opts.max <= 0 || (opts.before === undefined && opts.keepRows === undefined)) return 0;
    return db.tx(async (sql) => {
      await sql.query("SELECT set_config('metalboot.retention', 'on', true)");
      return (await sql.query(del, [opts.max, opts.before ?? null, opts.keepRows ?? null])).rowCount;
    });
  };
}
