import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretSealer } from '../core/power/bmc.js';

/** The key file in the data dir: 32 random bytes, mode 0600, made on first start. */
export const SECRETS_KEY_FILE = 'secrets.key';
const VERSION = 'v1';

/**
 * AES-256-GCM with a random 96-bit nonce per seal; the machine's MAC is the additional data, so a
 * sealed password copied to another machine's row fails to open. Format: `v1.<nonce>.<tag>.<ct>`
 * (base64url). The key never leaves this object.
 */
export class SecretBox implements SecretSealer {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secrets key must be 32 bytes');
  }

  seal(plain: string, context: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, nonce, cipher.getAuthTag(), ct]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(sealed: string, context: string): string {
    const [version, nonce, tag, ct, ...rest] = sealed.split('.');
    if (version !== VERSION || !nonce || !tag || ct === undefined || rest.length > 0)
      throw new Error('not a sealed secret of this metalboot');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error("a sealed secret did not open: another key, or another machine's row");
    }
  }
}

/**
 * The data dir's secrets key, made on first use (exclusive create, 0600). A key others can read,
 * or of the wrong size, is refused with what to do: a copy of the database plus a readable key is
 * every BMC password.
 */
export function loadSecretBox(dataDir: string): SecretBox {
  const file = join(dataDir, SECRETS_KEY_FILE);
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const fd = openSync(file, 'r');
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if (mode & 0o077) throw new Error(`${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
    const key = readFileSync(fd);
    if (key.length !== 32)
      throw new Error(`${file} is not a metalboot secrets key (32 bytes); restore it from a backup`);
    return new SecretBox(key);
  } finally {
    closeSync(fd);
  }
}
