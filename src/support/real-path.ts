/**
 * The one rule for files served from a root directory (HTTP /assets, TFTP): symlinks are followed
 * only while their real path stays under the root's real path. Callers open the returned path with
 * O_NOFOLLOW, so a link swapped in after the check is refused rather than followed.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

/** `file` is `root` itself or below it (both absolute, normalised). */
export function isWithin(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of `file` when it lies within `realRoot` (already a real path), else 'outside'. Errors (ENOENT, ELOOP…) are thrown. */
export async function realPathWithin(realRoot: string, file: string): Promise<string | 'outside'> {
  const real = await realpath(file);
  return isWithin(realRoot, real) ? real : 'outside';
}
