import { ConflictError } from '../../core/errors.js';
import type { Cluster } from '../../core/types.js';
import type { ClusterRepo } from '../../core/ports/types.js';
import { type Db, isUniqueViolation } from './db.js';

/**
 * Clusters, each a jsonb document. Unlike SQLite's repository nothing is cached: another instance
 * may change a cluster at any time, and a primary-key read is one round trip.
 */
export function pgClusterRepo(db: Db): ClusterRepo {
  type Row = { doc: Cluster };
  return {
    async get(name) {
      return (await db.read<Row>('SELECT doc FROM clusters WHERE name = $1', [name])).rows[0]?.doc;
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
