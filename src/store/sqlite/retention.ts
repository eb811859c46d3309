import type { RetentionBatch } from '../../core/ports/types.js';
import type { SqlDb } from './group-commit.js';

/**
 * One retention batch over an append-only table (`machine_events`, `audit_log`: id INTEGER
 * PRIMARY KEY AUTOINCREMENT, `at` ISO time). Rows only ever leave from the oldest end, so the ids
 * kept are contiguous and "beyond the newest N rows" is `id <= max(id) - N`: one index seek, no
 * count(*) over the table. Age is checked on the oldest `max` rows only, in id order (ids grow with
 * time); fewer deleted than `max` means the rest is young enough. Each call is one bounded write,
 * so the caller yields between batches and the boot path's writes go in between.
 *
 * The tables' DELETE triggers refuse unless `retention_gate` is open (migration 5): it is opened and
 * closed inside this transaction, so no other statement ever runs with it open.
 */
export function retentionPruner(db: SqlDb, table: 'machine_events' | 'audit_log'): (opts: RetentionBatch) => number {
  const maxId = db.prepare<[], number | null>(`SELECT max(id) FROM ${table}`).pluck();
  const gate = db.prepare('UPDATE retention_gate SET open = ?');
  const del = db.prepare<[{ max: number; before: string | null; keepBelow: number | null }]>(
    `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} ORDER BY id LIMIT @max)
       AND ((@before IS NOT NULL AND at < @before) OR (@keepBelow IS NOT NULL AND id <= @keepBelow))`,
  );
  const prune = db.transaction((opts: RetentionBatch): number => {
    const top = maxId.get() ?? 0;
    const keepBelow = opts.keepRows === undefined ? null : top - opts.keepRows;
    if (opts.before === undefined && (keepBelow === null || keepBelow <= 0)) return 0;
    gate.run(1);
    try {
      return del.run({ max: opts.max, before: opts.before ?? null, keepBelow }).changes;
    } finally {
      gate.run(0);
    }
  });
  return (opts) => (opts.max > 0 ? prune(opts) : 0);
}
