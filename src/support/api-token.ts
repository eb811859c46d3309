import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin API token: METALBOOT_API_TOKEN if set, else `<data-dir>/api-token`, created on first
 * start with mode 0600 (it guards cluster secrets). `created` tells the caller to print it once.
 */
export function ensureApiToken(dataDir: string, fromEnv?: string): { token: string; created: boolean; file?: string } {
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('METALBOOT_API_TOKEN must be at least 16 characters');
    return { token: fromEnv, created: false };
  }
  const file = join(dataDir, 'api-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length < 16)
      throw new Error(`${file} holds a token shorter than 16 characters; delete it to generate a new one`);
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // repair a loosened mode
    return { token, created: false, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, created: true, file };
}
