import type { AuditEntry } from '../../core/types.js';
import type { AuditRepo } from '../../core/ports/types.js';
import type { SqlDb } from './group-commit.js';
import { retentionPruner } from './retention.js';

/** The audit log (append-only table from migration 1; a coalesced refusal's detail may grow, migration 6). */
export function sqliteAuditRepo(db: SqlDb): AuditRepo {
  type Row = {
    id: number;
    at: string;
    actor: string;
    action: string;
    target: string | null;
    detail: string;
    source_ip: string | null;
  };
  const insert = db.prepare(
    'INSERT INTO audit_log (at, actor, action, target, detail, source_ip) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const setDetail = db.prepare('UPDATE audit_log SET detail = ? WHERE id = ?');
  const listAll = db.prepare<[number, number], Row>('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?');
  const listTarget = db.prepare<[string, number, number], Row>(
    'SELECT * FROM audit_log WHERE target = ? AND id < ? ORDER BY id DESC LIMIT ?',
  );
  const prune = retentionPruner(db, 'audit_log');
  const toEntry = (r: Row): AuditEntry => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    sourceIp: r.source_ip,
  });
  return {
    async append(a) {
      const info = insert.run(a.at, a.actor, a.action, a.target, JSON.stringify(a.detail), a.sourceIp);
      return { id: Number(info.lastInsertRowid), ...a };
    },
    async setDetail(id, detail) {
      setDetail.run(JSON.stringify(detail), id);
    },
    async list(opts = {}) {
      const limit = opts.limit ?? 1000;
      const before = opts.beforeId ?? Number.MAX_SAFE_INTEGER;
      const rows = opts.target ? listTarget.all(opts.target, before, limit) : listAll.all(before, limit);
      return rows.map(toEntry);
    },
    async prune(opts) {
      return prune(opts);
    },
  };
}
