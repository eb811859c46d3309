import type { AuditEntry } from '../../core/types.js';
import type { AuditRepo } from '../../core/ports/types.js';
import { type Db, LOCKS } from './db.js';
import { retentionPruner } from './retention.js';

type Row = {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  source_ip: string | null;
};

const toEntry = (r: Row): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  target: r.target,
  detail: r.detail,
  sourceIp: r.source_ip,
});

/** The audit log (append-only by trigger; a coalesced refusal's detail may be replaced, migration 2). */
export function pgAuditRepo(db: Db): AuditRepo {
  const prune = retentionPruner(db, 'audit_log');
  return {
    async append(a) {
      // Under the audit lock, as the timeline's appends (events.ts): ids become visible in order.
      const id = await db.tx(
        async (sql) =>
          (
            await sql.query<{ id: number }>(
              'INSERT INTO audit_log (at, actor, action, target, detail, source_ip) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
              [a.at, a.actor, a.action, a.target, JSON.stringify(a.detail), a.sourceIp],
            )
          ).rows[0]!.id,
        { lock: LOCKS.audit },
      );
      return { id, ...a };
    },
    async setDetail(id, detail) {
      await db.query('UPDATE audit_log SET detail = $1 WHERE id = $2', [JSON.stringify(detail), id]);
    },
    async list(opts = {}) {
      const limit = opts.limit ?? 1000;
      const before = opts.beforeId ?? Number.MAX_SAFE_INTEGER;
      const res = opts.target
        ? await db.read<Row>('SELECT * FROM audit_log WHERE target = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [
            opts.target,
            before,
            limit,
          ])
        : await db.read<Row>('SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2', [before, limit]);
      return res.rows.map(toEntry);
    },
    prune,
  };
}
