import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { AssetError } from './errors.js';

/**
 * `sha512sum.txt` as GNU coreutils writes it (and Talos releases publish it): `<hex>  <name>`,
 * or `<hex> *<name>` in binary mode. Names may carry a `./` or directory prefix; we key by the
 * base name because the release is flat.
 */
export function parseChecksums(text: string, source: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([0-9a-fA-F]{128})\s+\*?(.+)$/.exec(line);
    if (!m)
      throw new AssetError('integrity', `${source} line ${i + 1} is not "<sha512>  <file>": ${line.slice(0, 80)}`);
    sums.set(m[2]!.trim().replace(/^.*\//, ''), m[1]!.toLowerCase());
  }
  if (sums.size === 0) throw new AssetError('integrity', `${source} lists no checksums`);
  return sums;
}

/** Streamed, so a 100 MB initramfs costs no memory. */
export async function sha512File(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const sha512 = (data: Buffer | string) => createHash('sha512').update(data).digest('hex');
