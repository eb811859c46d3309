import { ConflictError } from '../../core/errors.js';
import type { Cluster } from '../../core/types.js';
import type { ClusterRepo } from '../../core/ports/types.js';
import { type Db, isUniqueViolation } from './db.js';

/**
 * Clusters, each a jsonb document (with both talosctl base configs: tens of kilobytes). Another
 * instance may change a cluster at any time, so every read asks the database; but a cluster read
 * on every /ipxe and config would move and parse the whole document each time, so the parsed one
 * is kept with its row version (`xmin`: the transaction that wrote this version of the row) and
 * the database sends the document only when the version differs. A version repeats only after
 * some four billion transactions wrapped the counter onto exactly the cached one.
 */
/** Parsed clusters kept at most (the cache starts over beyond it). */
const MAX_CACHED = 1000;

export function pgClusterRepo(db: Db): ClusterRepo {
  type Row = { doc: Cluster };
  const parsed = new Map<string, { version: string; doc: Cluster }>();
  return {
    async get(name) {
      const cached = parsed.get(name);
      const res = await db.read<{ version: string; doc: Cluster | null }>(
        'SELECT xmin::text AS version, CASE WHEN xmin::text = $2 THEN NULL ELSE doc END AS doc FROM clusters WHERE name = $1',
        [name, cached?.version ?? ''],
      );
      const row = res.rows[0];
      if (!row) {
        parsed.delete(name);
        return undefined;
      }
      if (row.doc === null && cached) return cached.doc;
      // Few clusters exist; a registry of thousands would only lose the cache's benefit, not memory.
      if (parsed.size >= MAX_CACHED) parsed.clear();
      parsed.set(name, { version: row.version, doc: row.doc! });
      return row.doc!;
    },
    async list() {
      return (await db.read<Row>('SELECT doc FROM clusters ORDER BY name')).rows.map((r) => r.doc);
    },
    async page(p) {
      const res = await db.read<Row>('SELECT doc FROM clusters WHERE name > $1 ORDER BY name LIMIT $2', [
        p.after ?? '',
        p.limit,
      ]);
      return res.rows.map((r) => r.doc);
    },
    async insert(c) {
      try {
        await db.query('INSERT INTO clusters (name, doc) VALUES ($1, $2)', [c.name, JSON.stringify(c)]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`cluster "${c.name}" already exists`);
        throw err;
      }
    },
    async update(c) {
      const res = await db.query('UPDATE clusters SET doc = $1 WHERE name = $2', [JSON.stringify(c), c.name]);
      return res.rowCount > 0;
    },
    async delete(name) {
      return (await db.query('DELETE FROM clusters WHERE name = $1', [name])).rowCount > 0;
    },
    async machineCount(name) {
      const res = await db.read<{ n: number }>('SELECT count(*) AS n FROM machines WHERE cluster = $1', [name]);
      return res.rows[0]?.n ?? 0;
    },
  };
}
