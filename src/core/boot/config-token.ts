/**
 * Per-boot config tokens: drawn here, stored only as a hash, compared in constant time. Its own file
 * because the install script issues them (talos-script.ts) and the config URL checks them
 * (config-delivery.ts).
 */
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';

export const hashToken = (token: string) => hash('sha256', token, 'hex');

/**
 * 256-bit config tokens from the system CSPRNG, drawn 4 KiB at a time: one `randomBytes(32)` per
 * install script was the largest crypto cost of the boot path (~2 µs against ~0.1). Each byte is
 * handed out once.
 */
const tokenPool = Buffer.alloc(4096);
let tokenPoolUsed = tokenPool.length;
export function newToken(): string {
  if (tokenPoolUsed + 32 > tokenPool.length) {
    randomFillSync(tokenPool);
    tokenPoolUsed = 0;
  }
  const token = tokenPool.toString('base64url', tokenPoolUsed, tokenPoolUsed + 32);
  tokenPoolUsed += 32;
  return token;
}

/** Compares two token hashes without an early exit (hex strings of the same length). */
export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
