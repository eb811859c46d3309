import type { FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import type { AssetPhase } from '../../core/boot/boot-service.js';
import type { Core } from '../../core/index.js';
import { sourceIp } from '../auth.js';
import { sendFile } from '../file-sender.js';

/**
 * Talos kernels/initramfs and iPXE binaries under /assets/, straight from the assets directory,
 * by file-sender (Range, ETag/Last-Modified, 304, HEAD; refuses `..`, dotfiles, non-regular files).
 *
 * One `/assets/*` route for everything, not file-sender for talos/ beside @fastify/static for the
 * rest: the metrics label boot requests by that route (src/metrics/http.ts), a second route
 * (`/assets/talos/*`) would drop kernel downloads from them, and one path-safety implementation
 * is easier to trust than two. The small files (iPXE binaries, schemas) gain nothing, lose nothing.
 *
 * Bookkeeping: a GET of a Talos file is "started" on the machine's timeline, then "completed"
 * (200), "range-sent" (206) or "not-modified" (304) once every byte was handed to the kernel,
 * "aborted" when the client hung up first, or "refused" (4xx/5xx: 416, 404…).
 */
export async function assetRoutes(
  app: FastifyInstance,
  { ledger, assetsDir, sendTimeoutMs }: { ledger: AssetLedger; assetsDir: string; sendTimeoutMs?: number },
): Promise<void> {
  const root = resolve(assetsDir);
  const talosAsset = (url: string) => /^\/assets\/talos\/[^/]+\/([^/?]+)/.exec(url)?.[1];
  const PREFIX = '/assets/';

  app.route({
    method: ['GET', 'HEAD'],
    url: `${PREFIX}*`,
    schema: { hide: true }, // not part of the API document, as with @fastify/static
    handler: async (req, reply) => {
      const path = req.url.split('?', 1)[0]!;
      // The router decodes before matching, so a path spelled with escapes can match without the prefix.
      if (!path.startsWith(PREFIX)) {
        reply.callNotFound();
        return reply;
      }
      const file = req.method === 'GET' ? talosAsset(req.url) : undefined;
      const ip = sourceIp(req);
      const range = req.headers.range ?? null;
      // Durable before a byte is sent: a hijacked download skips the app's onSend hook, which waits for the commit.
      const end = file ? await ledger.started(ip, file, { range }) : undefined;
      let ended = false;
      const record = (phase: AssetPhase, detail: Record<string, unknown>) =>
        end!(phase, { ...detail, range }).catch((err: unknown) =>
          req.log.error({ err, file, phase }, 'recording the asset transfer failed'),
        );
      try {
        await sendFile(req, reply, root, path.slice(PREFIX.length), {
          inactivityTimeoutMs: sendTimeoutMs,
          onEnd: file
            ? ({ status, bytes, complete }) => {
                ended = true;
                const phase = !complete
                  ? 'aborted'
                  : status === 200
                    ? 'completed'
                    : status === 206
                      ? 'range-sent'
                      : 'not-modified';
                void record(phase, { status, bytes: complete ? bytes : null });
              }
            : undefined,
        });
      } catch (err) {
        // EACCES and the like: the error handler answers 500; the download still ends on the timeline.
        if (file && !ended) await record('refused', { status: 500 });
        throw err;
      }
      // A download that started on the timeline ends there too, also when it was refused (416, 404…).
      if (file && !ended && reply.statusCode >= 400) await record('refused', { status: reply.statusCode });
      return reply;
    },
  });
}

/** Records how a Talos download that started went on; resolves once it is recorded. */
export type AssetEndRecorder = (phase: AssetPhase, detail: Record<string, unknown>) => Promise<void>;

/**
 * Where the asset route puts a download on the machine's timeline: the core in this process, or
 * (an HTTP worker, src/http/workers/) the primary's core over cluster IPC.
 */
export interface AssetLedger {
  /** A Talos download began: recorded and durable when this resolves; the function records its end. */
  started(ip: string, file: string, detail: Record<string, unknown>): Promise<AssetEndRecorder>;
}

/** The ledger of a process that holds the core (one process, or the primary). */
export function coreLedger(core: Core): AssetLedger {
  return {
    async started(ip, file, detail) {
      await core.boot.assetTransfer(ip, file, 'started', detail);
      await core.flushed();
      return (phase, end) => core.boot.assetTransfer(ip, file, phase, end);
    },
  };
}
