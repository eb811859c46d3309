import type { BmcRepo, StoredBmc } from '../../core/ports/types.js';
import type { SqlDb } from './group-commit.js';

/** Machines' BMCs (migration 8): one row per machine, removed with it (ON DELETE CASCADE). */
export function sqliteBmcRepo(db: SqlDb): BmcRepo {
  const get = db.prepare<[string], { doc: string }>('SELECT doc FROM machine_bmc WHERE mac = ?');
  const put = db.prepare<[string, string, string]>(
    `INSERT INTO machine_bmc (mac, doc) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM machines WHERE mac = ?)
     ON CONFLICT (mac) DO UPDATE SET doc = excluded.doc`,
  );
  const del = db.prepare<[string]>('DELETE FROM machine_bmc WHERE mac = ?');
  return {
    async get(mac) {
      const row = get.get(mac);
      return row ? (JSON.parse(row.doc) as StoredBmc) : undefined;
    },
    async put(mac, bmc) {
      return put.run(mac, JSON.stringify(bmc), mac).changes > 0;
    },
    async delete(mac) {
      return del.run(mac).changes > 0;
    },
  };
}
