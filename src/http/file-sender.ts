import type { FastifyReply, FastifyRequest } from 'fastify';
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { isWithin, realPathWithin } from '../support/real-path.js';

/**
 * Serves one regular file from under a root directory: GET/HEAD, ETag/Last-Modified with
 * If-None-Match/If-Modified-Since (304) and If-Match/If-Unmodified-Since (412), one byte range
 * (206/416, If-Range). It exists for throughput: @fastify/send streams with fs.createReadStream,
 * which allocates a fresh 64 KiB buffer for every read, and at ~1 GiB/s the kernel spends its
 * time faulting in and zeroing those pages (1.8 CPU-s per GiB). Here each response reads into two
 * buffers leased from a shared pool and reused: 0.49 CPU-s per GiB, ~3.5x the throughput.
 *
 * Buffer reuse is only safe once the socket is done with a chunk, i.e. after the callback of
 * `res.write(chunk, cb)`. `reply.send(readable)` pipes, and pipe never tells the source when a
 * chunk was written, so a Readable handing out reused buffers could overwrite data still queued.
 * We therefore hijack the reply and write to the raw response ourselves. Fastify 5 attaches its
 * 'finish'/'error' listeners when the request starts, so onResponse hooks (metrics, the
 * "request completed" log line) still run for a hijacked response that finishes. Everything
 * without a body (HEAD, 304, refusals, empty files) goes through reply.send as usual.
 */

/** Fixed-size buffers shared by all responses, never more than `max` of them at once. */
export class BufferPool {
  private readonly idle: Buffer[] = [];
  private created = 0;
  constructor(
    readonly size: number,
    readonly max: number,
  ) {}

  /** A buffer, or undefined when `max` are out. allocUnsafeSlow: its own memory, not the shared slab. */
  take(): Buffer | undefined {
    const buf = this.idle.pop();
    if (buf || this.created >= this.max) return buf;
    this.created++;
    return Buffer.allocUnsafeSlow(this.size);
  }

  give(buf: Buffer): void {
    this.idle.push(buf);
  }

  /** Forget a buffer that a dead socket's write queue may still hold: never hand it out again. */
  retire(): void {
    this.created--;
  }

  get stats(): { created: number; idle: number } {
    return { created: this.created, idle: this.idle.length };
  }
}

/** 128 x 256 KiB: 64 concurrent bulk transfers at full speed, at most 32 MiB however many there are. */
export const sharedPool = new BufferPool(256 * 1024, 128);
/** Per-response buffers (still reused within the response) once the pool is out, and the cut-off below which one exact-size buffer does. */
const FALLBACK_SIZE = 64 * 1024;

/** How a response the sender wrote itself (2xx or 304) ended. */
export interface SendOutcome {
  status: number;
  /** Content-Length: the bytes promised (0 for 304). */
  bytes: number;
  /** Every byte was handed to the kernel ('finish'); false when the client went away first. */
  complete: boolean;
}

export interface SendFileOptions {
  pool?: BufferPool;
  /** Called once, when the response finished or closed (the file may still be closing). Not for refusals (4xx). */
  onEnd?: (outcome: SendOutcome) => void;
  /**
   * Cut the download when the client reads nothing for this long (nginx's send_timeout). The
   * socket's timer restarts whenever a chunk is handed over, so a slow but moving download never
   * hits it; there is no limit on the total time. Absent: the server's socket timeout applies.
   */
  inactivityTimeoutMs?: number;
}

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

/**
 * The file that `encoded` (the URL path below the mount point, still percent-encoded) names under
 * `root`, or 403. Each segment is decoded on its own, so an encoded slash cannot create a segment;
 * empty ('//', trailing '/'), '.', '..' and dotfile segments, and NUL or backslash, are refused,
 * as @fastify/static did. sendFile then follows symlinks only while they stay under the root.
 */
export function resolveUnder(root: string, encoded: string): string | 403 {
  const segments: string[] = [];
  for (const raw of encoded.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return 403;
    }
    if (seg === '' || seg.startsWith('.') || /[/\\\0]/.test(seg)) return 403;
    segments.push(seg);
  }
  const file = join(root, ...segments);
  return file === root || !isWithin(root, file) ? 403 : file; // unreachable after the checks above; kept as the invariant
}

const tokens = (header: string) => header.split(',').map((t) => t.trim());
/** Weak comparison, as send does: `"x"` and `W/"x"` both match our weak ETag. */
const etagMatches = (header: string, etag: string) => header.trim() === '*' || tokens(header).some((t) => t === etag || `W/${t}` === etag);
const dateOf = (header: string | undefined) => (header === undefined ? NaN : Date.parse(header));

/**
 * One `bytes=` range against `size`: the range, 'unsatisfiable' (416), or undefined to ignore the
 * header and send everything, which RFC 9110 allows for anything we do not want to serve as a
 * range: other units, malformed specs, and several ranges (multipart/byteranges).
 */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^\s*bytes\s*=(.*)$/i.exec(header);
  const specs = m ? m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
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

/** Resolves true on 'finish', false on a 'close' without it. Listening from the start is sturdier than reading state later (inject differs from a socket). */
function settled(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    let finished = false;
    res.once('finish', () => {
      finished = true;
      resolve(true);
    });
    res.once('close', () => resolve(finished));
  });
}

/**
 * Sends `encoded` (see resolveUnder) from `root`. Refusals go through fastify as usual: 404 via
 * the not-found handler, 403/412/416 as JSON `{error, message}`. Resolves when the response is
 * over and the file closed; once the headers went out it never rejects (it destroys the response).
 */
export async function sendFile(req: FastifyRequest, reply: FastifyReply, root: string, encoded: string, opts: SendFileOptions = {}): Promise<void> {
  const done = settled(reply.raw);
  const named = resolveUnder(root, encoded);
  if (named === 403) return refuse(reply, 403, 'forbidden', 'Forbidden');
  let fh: FileHandle;
  let file: string;
  try {
    // A symlink may point within the root (talos/current -> v1.13.9), not out of it (real-path.ts).
    // The root's own real path is asked each time: an operator may repoint an `assets` symlink
    // while metalboot runs.
    const real = await realPathWithin(await realpath(root), named);
    if (real === 'outside') return refuse(reply, 403, 'forbidden', 'Forbidden');
    file = real;
    // O_NONBLOCK: opening a FIFO must not hang the request (it is refused below, as non-regular).
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return notFound(reply);
    if (code === 'ELOOP') return refuse(reply, 403, 'forbidden', 'Forbidden'); // a link loop, or the swap above
    throw err; // EACCES…: the error handler's 500, as with send
  }
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return notFound(reply);
    const etag = `W/"${st.size.toString(16)}-${st.mtime.getTime().toString(16)}"`;
    const lastModified = st.mtime.toUTCString();
    reply.header('accept-ranges', 'bytes').header('last-modified', lastModified).header('etag', etag);
    const h = req.headers;
    const mtime = Date.parse(lastModified); // whole seconds, like the header the client compares with
    if ((h['if-match'] && !etagMatches(h['if-match'], etag)) || mtime > dateOf(h['if-unmodified-since'])) {
      return refuse(reply, 412, 'precondition_failed', 'Precondition Failed');
    }
    // Cache-Control: no-cache asks for a fresh copy (send honours it); If-None-Match overrides If-Modified-Since.
    const noCache = h['cache-control']?.includes('no-cache') === true;
    const notModified = h['if-none-match'] !== undefined ? etagMatches(h['if-none-match'], etag) : mtime <= dateOf(h['if-modified-since']);
    if (!noCache && notModified) return finishWithoutBody(reply, 304, 0, done, opts);

    const range = h.range !== undefined && rangeFresh(h['if-range'], etag, mtime) ? parseRange(h.range, st.size) : undefined;
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${st.size}`);
      return refuse(reply, 416, 'range_not_satisfiable', `Range Not Satisfiable: the file has ${st.size} bytes`);
    }
    reply.header('content-type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    const status = range ? 206 : 200;
    const length = range ? range.end - range.start + 1 : st.size;
    if (range) reply.header('content-range', `bytes ${range.start}-${range.end}/${st.size}`);
    reply.header('content-length', length);
    if (req.method === 'HEAD' || length === 0) return finishWithoutBody(reply, status, length, done, opts);

    reply.code(status).hijack();
    const res = reply.raw;
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
    res.writeHead(status);
    if (opts.inactivityTimeoutMs) {
      const ms = opts.inactivityTimeoutMs;
      res.setTimeout(ms, () => {
        req.log.info({ timeoutMs: ms }, 'download made no progress (the client read nothing); closing the connection');
        res.destroy();
      });
    }
    handedOver = true;
    // Reported as soon as it is known, not after the file is closed: bookkeeping keeps request order.
    const reported = done.then((complete) => opts.onEnd?.({ status, bytes: length, complete }));
    await stream(req, res, fh, range?.start ?? 0, length, opts.pool ?? sharedPool);
    await reported;
  } finally {
    if (!handedOver) await fh.close().catch(() => undefined);
  }
}

/** If-Range: serve the range only if the client's copy is the current one (ETag or date, as send). */
function rangeFresh(ifRange: string | string[] | undefined, etag: string, mtime: number): boolean {
  if (ifRange === undefined) return true;
  if (typeof ifRange !== 'string') return false; // sent twice: not a copy we can vouch for
  if (ifRange.includes('"')) return ifRange.trim() === etag;
  return mtime <= dateOf(ifRange);
}

async function refuse(reply: FastifyReply, status: number, error: string, message: string): Promise<void> {
  await reply.code(status).send({ error, message });
}

async function notFound(reply: FastifyReply): Promise<void> {
  reply.callNotFound(); // the app's JSON 404, as @fastify/static answered
  await reply;
}

async function finishWithoutBody(reply: FastifyReply, status: number, bytes: number, done: Promise<boolean>, opts: SendFileOptions): Promise<void> {
  await reply.code(status).send();
  opts.onEnd?.({ status, bytes, complete: await done });
}

/** Two buffers from the pool, else two per-response ones; one exact-size buffer for a short body (one read, one write). */
function lease(pool: BufferPool, length: number): { bufs: Buffer[]; pooled: boolean } {
  if (length <= FALLBACK_SIZE) return { bufs: [Buffer.allocUnsafe(length)], pooled: false };
  const a = pool.take();
  const b = a && pool.take();
  if (a && b) return { bufs: [a, b], pooled: true };
  if (a) pool.give(a);
  return { bufs: [Buffer.allocUnsafeSlow(FALLBACK_SIZE), Buffer.allocUnsafeSlow(FALLBACK_SIZE)], pooled: false };
}

/**
 * Reads [start, start+length) into the leased buffers in turn and writes each chunk. A buffer is
 * read into again only after its previous write called back, so the kernel has a chunk queued
 * while the next is read. Ends the response, or destroys it when the file came up short (the
 * Content-Length promised more) or a read failed. Closes the file and returns the buffers.
 */
async function stream(req: FastifyRequest, res: ServerResponse, fh: FileHandle, start: number, length: number, pool: BufferPool): Promise<void> {
  const { bufs, pooled } = lease(pool, length);
  const inFlight: Array<Promise<boolean> | undefined> = bufs.map(() => undefined);
  // A write callback may never come (a response queued behind another on a socket that died):
  // 'close' settles every outstanding write as failed, so we cannot hang on one.
  const waiting = new Set<(ok: boolean) => void>();
  let closed = false;
  const onClose = () => {
    closed = true;
    for (const settle of waiting) settle(false);
  };
  res.once('close', onClose);
  const write = (chunk: Buffer) =>
    new Promise<boolean>((resolve) => {
      const settle = (ok: boolean) => waiting.delete(settle) && resolve(ok);
      waiting.add(settle);
      res.write(chunk, (err) => settle(!err));
    });
  const gone = async (i: number) => (inFlight[i] !== undefined && !(await inFlight[i])) || closed || res.destroyed;
  let clean = false;
  try {
    const end = start + length;
    for (let pos = start, i = 0; pos < end; i = (i + 1) % bufs.length) {
      const buf = bufs[i]!;
      if (await gone(i)) return;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (closed || res.destroyed) return;
      if (bytesRead === 0) {
        req.log.warn({ missing: end - pos }, 'file shrank while being sent; dropping the connection');
        res.destroy();
        return;
      }
      inFlight[i] = write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    for (let i = 0; i < bufs.length; i++) if (await gone(i)) return;
    clean = true;
    res.end();
  } catch (err) {
    req.log.error({ err }, 'reading the file failed mid-response; dropping the connection');
    res.destroy();
  } finally {
    res.removeListener('close', onClose);
    // Only when every write called back is no socket holding on to a buffer; otherwise let it go.
    if (pooled) for (const buf of bufs) clean ? pool.give(buf) : pool.retire();
    await fh.close().catch(() => undefined);
  }
}
