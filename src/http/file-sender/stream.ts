/**
 * Writing a file's bytes to a hijacked response with reused buffers. Buffer reuse is only safe once
 * the socket is done with a chunk, i.e. after the callback of `res.write(chunk, cb)`: pipe never
 * tells the source when a chunk was written, so a Readable handing out reused buffers could
 * overwrite data still queued. Hence this loop instead of `reply.send(readable)`.
 */
import type { FastifyRequest } from 'fastify';
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { lease, type BufferPool } from './buffer-pool.js';

/** Resolves true on 'finish', false on a 'close' without it. Listening from the start is sturdier than reading state later (inject differs from a socket). */
export function settled(res: ServerResponse): Promise<boolean> {
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
 * Reads [start, start+length) into the leased buffers in turn and writes each chunk. A buffer is
 * read into again only after its previous write called back, so the kernel has a chunk queued
 * while the next is read. Ends the response, or destroys it when the file came up short (the
 * Content-Length promised more) or a read failed. Closes the file and returns the buffers.
 */
export async function stream(
  req: FastifyRequest,
  res: ServerResponse,
  fh: FileHandle,
  start: number,
  length: number,
  pool: BufferPool,
): Promise<void> {
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
