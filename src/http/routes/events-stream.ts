import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { parseMac } from '../../core/registry/mac.js';
import { STREAM_EVENT, STREAM_REPEATED } from '../../core/timeline/timeline.js';
import type { MachineEvent } from '../../core/types.js';

export interface EventsStreamOptions {
  core: Core;
  /** A comment line this often keeps proxies and idle timeouts from closing the stream. */
  heartbeatMs?: number;
  /** A client that lets this much pile up unread is dropped rather than buffered without end. */
  maxBufferedBytes?: number;
  /** At most this many missed events are replayed to a client that reconnects with Last-Event-ID. */
  maxReplay?: number;
}

/** Last-Event-ID as an event id, or undefined (absent, or not one of ours: then no replay). */
function lastEventId(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header)) return undefined;
  return Number(header);
}

/**
 * `GET /events/stream` (under /api/v1, so the bearer token applies): every timeline event of every
 * machine as Server-Sent Events (those other instances on a shared store write too), `event: machine-event`, `id:` the event id, `data:` the event JSON.
 * `?mac=` narrows it to one machine. Heartbeats are SSE comments. Subscriptions end with the
 * connection. A client that reconnects with `Last-Event-ID` (EventSource does) first gets the events
 * it missed, up to `maxReplay`; when there were more, an `event: replay-truncated` says from which
 * id on it should read the REST timeline instead.
 */
export async function eventsStreamRoutes(app: FastifyInstance, opts: EventsStreamOptions): Promise<void> {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const maxReplay = opts.maxReplay ?? 10_000;
  const history = opts.core.history;
  const bus = opts.core.timeline.bus;
  const open = new Set<() => void>();
  // End open streams first, or closing the server would wait for clients that never hang up.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<{ Querystring: { mac?: string } }>(
    '/events/stream',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { mac: { type: 'string', maxLength: 32 } },
        },
      },
    },
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
      const format = (e: MachineEvent) => `id: ${e.id}\nevent: machine-event\ndata: ${JSON.stringify(e)}\n\n`;
      // Live events that arrive while the missed ones are read are held, then sent after them.
      let held: MachineEvent[] | null = [];
      let lastSent = 0;
      const onEvent = (e: MachineEvent) => {
        if (filter && e.mac !== filter) return;
        if (held) held.push(e);
        else if (e.id > lastSent) send(format(e));
      };
      // An identical repeat counted on an event already sent: its new count, without an `id:` line,
      // because it is no new event (Last-Event-ID stays the last new one). Not held during a replay:
      // the replay reads the count as it is.
      const onRepeat = (e: MachineEvent) => {
        if ((filter && e.mac !== filter) || held) return;
        send(`event: machine-event-repeated\ndata: ${JSON.stringify(e)}\n\n`);
      };
      const heartbeat = setInterval(() => send(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
      function cleanup(destroy = false) {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        bus.off(STREAM_EVENT, onEvent);
        bus.off(STREAM_REPEATED, onRepeat);
        open.delete(endStream);
        if (destroy) res.destroy();
        else res.end();
      }
      const endStream = () => cleanup();
      open.add(endStream);
      bus.on(STREAM_EVENT, onEvent);
      bus.on(STREAM_REPEATED, onRepeat);
      req.raw.on('close', endStream);
      res.on('close', endStream);
      res.on('error', () => cleanup(true));
      const after = lastEventId(req.headers['last-event-id']);
      if (after !== undefined) {
        try {
          const missed = await history.eventsAfter(after, { mac: filter, limit: maxReplay + 1 });
          for (const e of missed.slice(0, maxReplay)) {
            send(format(e));
            lastSent = e.id;
          }
          if (missed.length > maxReplay)
            send(`event: replay-truncated\ndata: ${JSON.stringify({ after, replayedUpTo: lastSent })}\n\n`);
        } catch (err) {
          // Carrying on would skip the missed events for good: end the stream instead, and the
          // client asks again (after `retry:`) with the same Last-Event-ID, e.g. once the database is back.
          req.log.warn({ err }, 'replaying missed events failed; stream ended for the client to ask again');
          return cleanup();
        }
      }
      const pending = held;
      held = null;
      for (const e of pending) {
        if (e.id <= lastSent) continue;
        send(format(e));
        lastSent = e.id;
      }
    },
  );
}
