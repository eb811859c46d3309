import type { TokenRepo } from '../../core/ports/types.js';
import type { Db } from './db.js';

/** Config tokens, one per machine, in the machine's row (its token_* columns). */
export function pgTokenRepo(db: Db): TokenRepo {
  type Row = {
    token_hash: string | null;
    token_ip: string | null;
    token_created_at: string | null;
    token_expires_at: string | null;
  };
  return {
    async issue(t) {
      await db.query(
        'UPDATE machines SET token_hash = $1, token_ip = $2, token_created_at = $3, token_expires_at = $4 WHERE mac = $5',
        [t.tokenHash, t.sourceIp, t.createdAt, t.expiresAt, t.mac],
      );
    },
    async forMachine(mac) {
      const r = (
        await db.read<Row>(
          'SELECT token_hash, token_ip, token_created_at, token_expires_at FROM machines WHERE mac = $1',
          [mac],
        )
      ).rows[0];
      return r?.token_hash
        ? {
            tokenHash: r.token_hash,
            mac,
            sourceIp: r.token_ip!,
            createdAt: r.token_created_at!,
            expiresAt: r.token_expires_at!,
          }
        : undefined;
    },
    async revokeForMachine(mac) {
      await db.query(
        `UPDATE machines SET token_hash = NULL, token_ip = NULL, token_created_at = NULL, token_expires_at = NULL
         WHERE mac = $1 AND token_hash IS NOT NULL`,
        [mac],
      );
    },
  };
}
