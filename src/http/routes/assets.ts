import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import type { Core } from '../../core/index.js';
import { sourceIp } from '../auth.js';

/**
 * Talos kernels/initramfs and iPXE binaries under /assets/, straight from the assets directory.
 * @fastify/static (send) streams from disk with Range (206/416), ETag, Last-Modified,
 * Content-Length and HEAD, and refuses `..` and dotfiles. We only add bookkeeping: a transfer
 * that was fully written to the socket counts as "completed" on the machine's timeline.
 */
export async function assetRoutes(app: FastifyInstance, { core, assetsDir }: { core: Core; assetsDir: string }): Promise<void> {
  await app.register(fastifyStatic, {
    root: resolve(assetsDir),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    acceptRanges: true,
    etag: true,
    lastModified: true,
    cacheControl: false,
    wildcard: true,
  });

  const talosAsset = (url: string) => /^\/assets\/talos\/[^/]+\/([^/?]+)/.exec(url)?.[1];

  // Responses whose 'finish' fired: every byte was handed to the kernel. Listening ourselves is
  // sturdier than reading writableFinished/destroyed later, whose values differ between a real
  // socket and fastify's inject and depend on what other hooks awaited in between.
  const finished = new WeakSet<object>();

  app.addHook('onRequest', async (req, reply) => {
    const file = req.method === 'GET' ? talosAsset(req.url) : undefined;
    if (file) {
      reply.raw.once('finish', () => finished.add(reply.raw));
      await core.boot.assetTransfer(sourceIp(req), file, 'started', { range: req.headers.range ?? null });
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const file = req.method === 'GET' ? talosAsset(req.url) : undefined;
    if (!file || reply.statusCode >= 400) return;
    const bytes = Number(reply.getHeader('content-length') ?? 0);
    // onResponse also runs on the response's 'error' (a client that hung up mid-way), and under
    // inject it runs before 'finish': wait for 'close', which always comes last, then look.
    const done = await new Promise<boolean>((resolve) => {
      const raw = reply.raw;
      if (finished.has(raw) || raw.closed) return resolve(finished.has(raw));
      const timer = setTimeout(() => resolve(finished.has(raw)), 10_000);
      raw.once('close', () => {
        clearTimeout(timer);
        resolve(finished.has(raw));
      });
    });
    const phase = !done ? 'aborted' : reply.statusCode === 200 ? 'completed' : 'range-sent';
    await core.boot.assetTransfer(sourceIp(req), file, phase, {
      status: reply.statusCode,
      bytes: done ? bytes : null,
      range: req.headers.range ?? null,
    });
  });
}
