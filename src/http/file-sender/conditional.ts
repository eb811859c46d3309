/** The HTTP semantics of serving a file: content types, validators, preconditions and byte ranges. */
import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  // What @fastify/send (the mime package) answered for the files an assets directory holds;
  // everything else, kernels and iPXE binaries included, is application/octet-stream.
  '.xz': 'application/x-xz',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.yaml': 'text/yaml; charset=utf-8',
  '.yml': 'text/yaml; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

const tokens = (header: string) => header.split(',').map((t) => t.trim());
/** Weak comparison, as send does: `"x"` and `W/"x"` both match our weak ETag. */
export const etagMatches = (header: string, etag: string) =>
  header.trim() === '*' || tokens(header).some((t) => t === etag || `W/${t}` === etag);
export const dateOf = (header: string | undefined) => (header === undefined ? NaN : Date.parse(header));

/**
 * One `bytes=` range against `size`: the range, 'unsatisfiable' (416), or undefined to ignore the
 * header and send everything, which RFC 9110 allows for anything we do not want to serve as a
 * range: other units, malformed specs, and several ranges (multipart/byteranges).
 */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^\s*bytes\s*=(.*)$/i.exec(header);
  const specs = m
    ? m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [];
  if (specs.length !== 1) return undefined;
  const r = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === '' && r[2] === '')) return undefined;
  if (r[1] === '') {
    const suffix = Number(r[2]); // the last n bytes, or all of a shorter file
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(r[1]);
  const last = r[2] === '' ? Infinity : Number(r[2]);
  if (last < start) return undefined;
  return start >= size ? 'unsatisfiable' : { start, end: Math.min(last, size - 1) };
}

/** If-Range: serve the range only if the client's copy is the current one (ETag or date, as send). */
export function rangeFresh(ifRange: string | string[] | undefined, etag: string, mtime: number): boolean {
  if (ifRange === undefined) return true;
  if (typeof ifRange !== 'string') return false; // sent twice: not a copy we can vouch for
  if (ifRange.includes('"')) return ifRange.trim() === etag;
  return mtime <= dateOf(ifRange);
}
