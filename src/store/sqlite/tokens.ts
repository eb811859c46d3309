import type { TokenRepo } from '../../core/ports/types.js';
import type { SqlDb } from './group-commit.js';

/** Config tokens, one per machine, in the machine's row (migration 4). */
export function sqliteTokenRepo(db: SqlDb): TokenRepo {
  type Row = {
    token_hash: string | null;
    token_ip: string | null;
    token_created_at: string | null;
    token_expires_at: string | null;
  };
  const revoke = db.prepare(
    'UPDATE machines SET token_hash = NULL, token_ip = NULL, token_created_at = NULL, token_expires_at = NULL WHERE mac = ? AND token_hash IS NOT NULL',
  );
  const issue = db.prepare(
    'UPDATE machines SET token_hash = ?, token_ip = ?, token_created_at = ?, token_expires_at = ? WHERE mac = ?',
  );
  const get = db.prepare<[string], Row>(
    'SELECT token_hash, token_ip, token_created_at, token_expires_at FROM machines WHERE mac = ?',
  );
  return {
    async issue(t) {
      issue.run(t.tokenHash, t.sourceIp, t.createdAt, t.expiresAt, t.mac);
    },
    async forMachine(mac) {
      const r = get.get(mac);
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
      revoke.run(mac);
    },
  };
}
