import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { parseMac } from '../../core/mac.js';
import type { MachineEvent } from '../../core/types.js';

export interface EventsStreamOptions {
  core: Core;
  /** A comment line this often keeps proxies and idle timeouts from closing the stream. */
  heartbeatMs?: number;
  /** A client that lets this much pile up unread is dropped rather than buffered without end. */
  maxBufferedBytes?: number;
}

/**
 * `GET /events/stream` (under /api/v1, so the bearer token applies): every timeline event of every
 * machine as Server-Sent Events, `event: machine-event`, `id:` the event id, `data:` the event JSON.
 * `?mac=` narrows it to one machine. Heartbeats are SSE comments. Subscriptions end with the
 * connection.
 */
export async function eventsStreamRoutes(app: FastifyInstance, opts: EventsStreamOptions): Promise<void> {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const bus = opts.core.timeline.bus;
  const open = new Set<() => void>();
  // End open streams first, or closing the server would wait for clients that never hang up.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<{ Querystring: { mac?: string } }>(
    '/events/stream',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { mac: { type: 'string', maxLength: 32 } } } } },
    async (req, reply) => {
      // A malformed MAC is a 400 (parseMac's ValidationError) before the stream starts.
      const filter = req.query.mac !== undefined ? parseMac(req.query.mac) : undefined;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no', // nginx: do not buffer the stream
      });
      res.write('retry: 5000\n: metalboot timeline events\n\n');
      let closed = false;
      const send = (chunk: string) => {
        if (closed) return;
        if (res.writableLength > maxBuffered) {
          req.log.warn({ buffered: res.writableLength }, 'event stream client too slow; closing');
          return cleanup(true);
        }
        res.write(chunk);
      };
      const onEvent = (e: MachineEvent) => {
        if (filter && e.mac !== filter) return;
        send(`id: ${e.id}\nevent: machine-event\ndata: ${JSON.stringify(e)}\n\n`);
      };
      const heartbeat = setInterval(() => send(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
      function cleanup(destroy = false) {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        bus.off('event', onEvent);
        open.delete(endStream);
        if (destroy) res.destroy();
        else res.end();
      }
      const endStream = () => cleanup();
      open.add(endStream);
      bus.on('event', onEvent);
      req.raw.on('close', endStream);
      res.on('close', endStream);
      res.on('error', () => cleanup(true));
    },
  );
}
