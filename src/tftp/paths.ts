// Maps a TFTP filename onto a file inside the served root, refusing anything
// that could escape it.
//
// Decisions (documented for operators):
// - A leading "/" (or several) is stripped and the rest resolved inside root:
//   iPXE and some firmware request "/undionly.kpxe" meaning "at the TFTP root",
//   and there is no way to name a file outside root anyway.
// - Any ".." segment is refused outright (ERROR 2), even when it would stay
//   inside root: no legitimate boot client needs it and it only shows probing.
// - Backslashes are refused (ERROR 2): on Windows-minded clients they are
//   separators, and guessing would make "..\\" a second traversal syntax.
// - NUL cannot reach here (the codec splits on it) but is refused regardless.
// - Symlinks are followed only if their real path stays inside root's real path.
// - Only regular files are served; directories and devices answer "not found".
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { realPathWithin } from '../support/real-path.js';

const open = promisify(fs.open);
const fstat = promisify(fs.fstat);
const close = promisify(fs.close);

export type PathCheck = { ok: true; relative: string } | { ok: false; message: string };

/** Pure, synchronous checks on the requested name; returns the path relative to root. */
export function normalizeRequestPath(filename: string): PathCheck {
  if (filename.includes('\0')) return { ok: false, message: 'NUL in filename' };
  if (filename.includes('\\')) return { ok: false, message: 'backslash in filename' };
  const segments: string[] = [];
  for (const segment of filename.split('/')) {
    if (segment === '' || segment === '.') continue; // leading, doubled or trailing "/", "./"
    if (segment === '..') return { ok: false, message: 'parent directory reference in filename' };
    segments.push(segment);
  }
  if (segments.length === 0) return { ok: false, message: 'no file name' };
  return { ok: true, relative: segments.join('/') };
}

export type OpenResult =
  | { ok: true; fd: number; size: number; relative: string }
  | { ok: false; kind: 'NOT_FOUND' | 'ACCESS_VIOLATION' | 'IO'; message: string; relative?: string };

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/**
 * Opens `filename` read-only inside `realRoot` (which must already be a real
 * path). The caller owns the returned fd.
 */
export async function openInsideRoot(realRoot: string, filename: string): Promise<OpenResult> {
  const check = normalizeRequestPath(filename);
  if (!check.ok) return { ok: false, kind: 'ACCESS_VIOLATION', message: check.message };
  const { relative } = check;
  let real: string | 'outside';
  try {
    real = await realPathWithin(realRoot, path.join(realRoot, relative));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
      return { ok: false, kind: 'NOT_FOUND', message: 'file not found', relative };
    }
    if (code === 'EACCES') return { ok: false, kind: 'ACCESS_VIOLATION', message: 'permission denied', relative };
    return { ok: false, kind: 'IO', message: `cannot resolve: ${code ?? String(err)}`, relative };
  }
  if (real === 'outside') {
    return { ok: false, kind: 'ACCESS_VIOLATION', message: 'resolves outside the TFTP root', relative };
  }
  let fd: number;
  try {
    // O_NOFOLLOW: if the final component was swapped for a symlink after the
    // realpath check, the open fails instead of following it out of root.
    // O_NONBLOCK: opening a FIFO would otherwise park a libuv thread forever;
    // it has no effect on the regular files we go on to serve.
    fd = await open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EACCES' || code === 'EPERM') {
      return { ok: false, kind: 'ACCESS_VIOLATION', message: 'permission denied', relative };
    }
    if (code === 'ENOENT' || code === 'ELOOP')
      return { ok: false, kind: 'NOT_FOUND', message: 'file not found', relative };
    return { ok: false, kind: 'IO', message: `cannot open: ${code ?? String(err)}`, relative };
  }
  try {
    const stat = await fstat(fd);
    if (!stat.isFile()) {
      await close(fd);
      return { ok: false, kind: 'NOT_FOUND', message: 'not a regular file', relative };
    }
    return { ok: true, fd, size: stat.size, relative };
  } catch (err) {
    await close(fd).catch(() => undefined);
    return { ok: false, kind: 'IO', message: `cannot stat: ${errnoCode(err) ?? String(err)}`, relative };
  }
}
