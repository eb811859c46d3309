import type { BmcRepo, StoredBmc } from '../../core/ports/types.js';
import type { Db } from './db.js';

/** Machines' BMCs: one row per machine, removed with it (ON DELETE CASCADE). */
export function pgBmcRepo(db: Db): BmcRepo {
  return {
    async get(mac) {
      return (await db.read<{ doc: StoredBmc }>('SELECT doc FROM machine_bmc WHERE mac = $1', [mac])).rows[0]?.doc;
    },
    async put(mac, bmc) {
      const res = await db.query(
        `INSERT INTO machine_bmc (mac, doc) SELECT $1::text, $2::jsonb WHERE EXISTS (SELECT 1 FROM machines WHERE mac = $1)
         ON CONFLICT (mac) DO UPDATE SET doc = excluded.doc`,
        [mac, JSON.stringify(bmc)],
      );
      return res.rowCount > 0;
    },
    async delete(mac) {
      return (await db.query('DELETE FROM machine_bmc WHERE mac = $1', [mac])).rowCount > 0;
    },
  };
}
