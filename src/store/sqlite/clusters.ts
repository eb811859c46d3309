import { ConflictError } from '../../core/errors.js';
import type { Cluster } from '../../core/types.js';
import type { ClusterRepo } from '../../core/ports/types.js';
import { isUniqueViolation } from './constraint.js';
import type { SqlDb } from './group-commit.js';

/** Clusters (table from migration 1), each a JSON document; parsed ones are kept while unchanged. */
export function sqliteClusterRepo(db: SqlDb, onRollback: (fn: () => void) => void): ClusterRepo {
  const get = db.prepare<[string], { doc: string }>('SELECT doc FROM clusters WHERE name = ?');
  const list = db.prepare<[], { doc: string }>('SELECT doc FROM clusters ORDER BY name');
  const page = db.prepare<[string, number], { doc: string }>(
    'SELECT doc FROM clusters WHERE name > ? ORDER BY name LIMIT ?',
  );
  const insert = db.prepare('INSERT INTO clusters (name, doc) VALUES (?, ?)');
  const update = db.prepare('UPDATE clusters SET doc = ? WHERE name = ?');
  const del = db.prepare('DELETE FROM clusters WHERE name = ?');
  const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM machines WHERE cluster = ?');
  // Every boot request reads its cluster (two ~30 KiB configs): parsed clusters are kept until
  // this connection changes one, or `data_version` says another connection (another instance on
  // a shared file, the CLI) committed anything; a rolled-back batch forgets them too.
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  const parsed = new Map<string, Cluster>();
  let seenVersion = -1;
  onRollback(() => parsed.clear());
  return {
    async get(name) {
      const version = dataVersion.get();
      if (version !== seenVersion) {
        parsed.clear();
        seenVersion = version!;
      }
      const hit = parsed.get(name);
      if (hit) return hit;
      const row = get.get(name);
      if (!row) return undefined;
      const cluster = JSON.parse(row.doc) as Cluster;
      parsed.set(name, cluster);
      return cluster;
    },
    async list() {
      return list.all().map((r) => JSON.parse(r.doc) as Cluster);
    },
    async page(p) {
      return page.all(p.after ?? '', p.limit).map((r) => JSON.parse(r.doc) as Cluster);
    },
    async insert(c) {
      try {
        insert.run(c.name, JSON.stringify(c));
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`cluster "${c.name}" already exists`);
        throw err;
      }
    },
    async update(c) {
      parsed.delete(c.name);
      return update.run(JSON.stringify(c), c.name).changes > 0;
    },
    async delete(name) {
      parsed.delete(name);
      return del.run(name).changes > 0;
    },
    async machineCount(name) {
      return count.get(name)?.n ?? 0;
    },
  };
}
