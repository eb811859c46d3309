/**
 * One file from a URL onto disk, resumable and atomic:
 * - bytes land in `<dest>.part`; `<dest>.part.json` remembers the URL and the server's validator
 *   (ETag / Last-Modified), so a later run resumes with `Range` + `If-Range` — if the file changed
 *   upstream, the server answers 200 and we start over instead of splicing two versions;
 * - the finished file is checked (sha512 and/or format) and only then renamed to `<dest>`, so
 *   `<dest>` is either absent, the previous good file, or the new good file — never half of one;
 * - a checksum mismatch deletes the download and fails; a resumed download that fails its
 *   checksum is fetched once more from the start (the old part may have been the bad one).
 */
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { sha512File } from './checksums.js';
import { AssetError } from './errors.js';
import { type AssetFormat, fileFormatProblem } from './formats.js';

/** Where progress goes: a bar on a terminal, a line or two otherwise (see src/cli/progress.ts). */
export interface ProgressSink {
  start(name: string, url: string, total: number | undefined, resumedFrom: number): void;
  advance(bytes: number): void;
  /** The file is in place; `summary` says how it was checked. */
  done(name: string, summary: string): void;
  note(message: string): void;
}

export const silentProgress: ProgressSink = { start() {}, advance() {}, done() {}, note() {} };

export interface DownloadRequest {
  url: string;
  dest: string;
  /** Display name (defaults to the file name). */
  name: string;
  /** Published sha512 (hex); the download must match it. */
  sha512?: string;
  /** Format check for files without a published checksum. */
  format?: AssetFormat;
  progress?: ProgressSink;
  timeoutMs?: number;
}

export interface DownloadResult {
  dest: string;
  size: number;
  sha512: string;
  resumed: boolean;
}

interface PartMeta {
  url: string;
  validator?: string;
}

export async function downloadVerified(req: DownloadRequest): Promise<DownloadResult> {
  const first = await attempt(req, true);
  if (first.ok) return first.result;
  // Only reached when a resumed download failed its checksum: the part is gone, try once from zero.
  req.progress?.note(`${req.name}: the resumed download did not match its checksum; downloading again from the start`);
  const second = await attempt(req, false);
  if (second.ok) return second.result;
  throw second.error;
}

async function attempt(
  req: DownloadRequest,
  mayResume: boolean,
): Promise<{ ok: true; result: DownloadResult } | { ok: false; error: AssetError }> {
  const part = `${req.dest}.part`;
  const metaFile = `${req.dest}.part.json`;
  const progress = req.progress;
  let offset = 0;
  let meta: PartMeta | undefined;
  if (mayResume) {
    meta = await readMeta(metaFile);
    const size = await stat(part).then(
      (s) => s.size,
      () => 0,
    );
    if (meta?.url === req.url && size > 0) offset = size;
  }
  if (offset === 0) await discard(part, metaFile);

  const headers: Record<string, string> = {};
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (meta?.validator) headers['if-range'] = meta.validator;
  }
  const res = await get(req.url, headers, req.timeoutMs);
  let append = false;
  let total: number | undefined;
  if (res.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!range || Number(range[1]) !== offset || offset === 0) {
      // Not the range we asked for: start over rather than splice bytes from the wrong place.
      await res.body?.cancel();
      await discard(part, metaFile);
      if (offset === 0) throw new AssetError('download', `${req.url}: unexpected partial response to a full request`);
      return attempt(req, false);
    }
    append = true;
    total = range[2] === '*' ? undefined : Number(range[2]);
  } else if (res.status === 416 && offset > 0) {
    // Nothing after our offset: the part may already be whole (killed between download and rename).
    await res.body?.cancel();
    const whole = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    if (whole && Number(whole[1]) === offset) return finish(req, part, metaFile, true);
    await discard(part, metaFile);
    return attempt(req, false);
  } else if (res.status !== 200) {
    await res.body?.cancel();
    throw new AssetError('download', `${req.url}: HTTP ${res.status} ${res.statusText}`.trim(), hintFor(res.status));
  }
  if (!append) {
    offset = 0;
    const length = res.headers.get('content-length');
    total = length !== null ? Number(length) : undefined;
    const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
    await writeFile(metaFile, JSON.stringify({ url: req.url, validator } satisfies PartMeta));
  }
  if (!res.body) throw new AssetError('download', `${req.url}: empty response`);

  progress?.start(req.name, req.url, total, offset);
  let received = offset;
  // Each chunk is written before the next is read, so every byte fetch handed over before a broken
  // connection is in the part file (a stream pipeline drops writes still queued when it errors;
  // fetch itself drops what it still held, and the resume fetches that again).
  const file = await open(part, append ? 'a' : 'w');
  try {
    for await (const chunk of res.body as WebReadableStream<Uint8Array>) {
      await file.write(chunk);
      received += chunk.length;
      progress?.advance(chunk.length);
    }
  } catch (err) {
    // The part stays: the next run resumes from here.
    throw new AssetError(
      'download',
      `${req.name}: download interrupted after ${received} bytes (${(err as Error).message})`,
      'run the same command again to resume',
    );
  } finally {
    await file.close();
  }
  if (total !== undefined && received !== total) {
    throw new AssetError(
      'download',
      `${req.name}: the server closed the connection after ${received} of ${total} bytes`,
      'run the same command again to resume',
    );
  }
  return finish(req, part, metaFile, append);
}

async function finish(req: DownloadRequest, part: string, metaFile: string, resumed: boolean) {
  const size = (await stat(part)).size;
  const sum = await sha512File(part);
  if (req.sha512 && sum !== req.sha512.toLowerCase()) {
    await discard(part, metaFile);
    const error = new AssetError(
      'integrity',
      `${req.name}: checksum mismatch — sha512 of the download is ${sum.slice(0, 16)}…, the release says ${req.sha512.slice(0, 16)}…; the file was deleted`,
      'the mirror serves a different or corrupted file: check --mirror, then pull again',
    );
    if (resumed) return { ok: false as const, error };
    throw error;
  }
  const problem = req.format ? await fileFormatProblem(part, req.format) : undefined;
  if (problem) {
    await discard(part, metaFile);
    throw new AssetError(
      'integrity',
      `${req.name} from ${req.url}: ${problem}; the file was deleted`,
      'the mirror probably answered with an error page: check --mirror and the URL',
    );
  }
  await rename(part, req.dest);
  await rm(metaFile, { force: true });
  return { ok: true as const, result: { dest: req.dest, size, sha512: sum, resumed } };
}

/** A small file (checksums, cmdline, schema) into memory. */
export async function fetchText(url: string, timeoutMs = 60_000): Promise<string> {
  const res = await get(url, {}, timeoutMs);
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new AssetError('download', `${url}: HTTP ${res.status} ${res.statusText}`.trim(), hintFor(res.status));
  }
  return res.text();
}

async function get(url: string, headers: Record<string, string>, timeoutMs = 60_000): Promise<Response> {
  try {
    // The deadline covers connecting and the response headers; a slow body is fine.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no response within ${timeoutMs / 1000} s`)), timeoutMs);
    try {
      return await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new AssetError(
      'download',
      `cannot download ${url}: ${why}`,
      'without internet access, point --mirror at a local copy (see README, "Assets")',
    );
  }
}

function hintFor(status: number): string | undefined {
  if (status === 404) return 'check the version (e.g. v1.13.9), the schematic id and --mirror';
  if (status >= 500) return 'the mirror failed; try again later';
  return undefined;
}

async function readMeta(file: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

async function discard(...files: string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}
