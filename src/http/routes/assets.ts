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

  app.addHook('onRequest', async (req) => {
    const file = req.method === 'GET' ? talosAsset(req.url) : undefined;
    if (file) {
      await core.boot.assetTransfer(sourceIp(req), file, 'started', { range: req.headers.range ?? null });
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const file = req.method === 'GET' ? talosAsset(req.url) : undefined;
    if (!file || reply.statusCode >= 400) return;
    const bytes = Number(reply.getHeader('content-length') ?? 0);
    // onResponse runs on the response's 'finish' (every byte handed to the kernel) or on its
    // 'error'; a socket destroyed before finishing is a client that hung up mid-way.
    const done = !(reply.raw.destroyed && !reply.raw.writableFinished);
    const phase = !done ? 'aborted' : reply.statusCode === 200 ? 'completed' : 'range-sent';
    await core.boot.assetTransfer(sourceIp(req), file, phase, {
      status: reply.statusCode,
      bytes: done ? bytes : null,
      range: req.headers.range ?? null,
    });
  });
}
