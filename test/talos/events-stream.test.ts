import Fastify from 'fastify';
import { request, type IncomingMessage } from 'node:http';
import t from 'tap';
import { eventsStreamRoutes } from '../../src/http/routes/events-stream.js';
import { STREAM_EVENT } from '../../src/core/timeline/timeline.js';
import { makeApp, TOKEN } from '../helpers/core-app.js';
import { eventually } from '../helpers/talos-standin.js';

/** Open an SSE stream on a listening server; collect what arrives. */
function openStream(
  port: number,
  path: string,
  token: string | null = TOKEN,
  extraHeaders: Record<string, string> = {},
) {
  let buffer = '';
  let response: IncomingMessage | undefined;
  const req = request({
    host: '127.0.0.1',
    port,
    path,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extraHeaders },
  });
  const ready = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (buffer += chunk));
      resolve(res);
    });
    req.on('error', reject);
  });
  req.end();
  return {
    ready,
    text: () => buffer,
    events: () =>
      buffer
        .split('\n\n')
        .filter((block) => block.includes('event: machine-event'))
        .map((block) => JSON.parse(/^data: (.*)$/m.exec(block)![1]!)),
    close: () => {
      req.destroy();
      response?.destroy();
    },
  };
}

t.test('GET /api/v1/events/stream: timeline events as SSE, bearer token required, filter by MAC', async (t) => {
  const { app, api, core } = await makeApp(t);
  const subscribers = () => core.timeline.bus.listenerCount(STREAM_EVENT) - base; // whatever else listens does not count
  const base = core.timeline.bus.listenerCount(STREAM_EVENT);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;

  const denied = openStream(port, '/api/v1/events/stream', null);
  t.equal((await denied.ready).statusCode, 401, 'the admin token is required');
  denied.close();

  const all = openStream(port, '/api/v1/events/stream');
  const one = openStream(port, '/api/v1/events/stream?mac=52-54-00-00-00-02');
  const res = await all.ready;
  await one.ready;
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], 'text/event-stream');
  t.equal(res.headers['cache-control'], 'no-store');
  await eventually(() => subscribers() === 2);

  await api('POST', '/api/v1/machines', { mac: '52:54:00:00:00:01', hostname: 'a', role: 'worker', cluster: 'nope' }); // 400: no event
  await core.timeline.record('52:54:00:00:00:01', 'custom', { n: 1 });
  await core.timeline.record('52:54:00:00:00:02', 'custom', { n: 2 });
  await eventually(() => all.events().length === 2 && one.events().length === 1);
  t.match(all.events(), [
    { mac: '52:54:00:00:00:01', kind: 'custom', detail: { n: 1 } },
    { mac: '52:54:00:00:00:02', detail: { n: 2 } },
  ]);
  t.match(all.text(), /^retry: 5000/);
  t.match(all.text(), /\nid: \d+\nevent: machine-event\ndata: /);
  t.same(
    one.events().map((e) => e.mac),
    ['52:54:00:00:00:02'],
  );

  all.close();
  await eventually(() => subscribers() === 1);
  t.pass('a disconnected client is unsubscribed');
  t.equal((await api('GET', '/api/v1/events/stream?mac=zz')).status, 400);
  // fastify.close() (teardown) ends the still-open stream instead of waiting for it
});

t.test('heartbeats keep the stream alive; a client that stops reading is dropped', async (t) => {
  const { core } = await makeApp(t);
  const base = core.timeline.bus.listenerCount(STREAM_EVENT);
  const subscribers = () => core.timeline.bus.listenerCount(STREAM_EVENT) - base;
  const app = Fastify();
  await app.register(eventsStreamRoutes, { core, heartbeatMs: 20, maxBufferedBytes: 64 * 1024 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const s = openStream(port, '/events/stream');
  await s.ready;
  await eventually(() => (s.text().match(/: heartbeat/g) ?? []).length >= 2);
  t.pass('heartbeats arrive');
  s.close();
  await eventually(() => subscribers() === 0);

  // A client that never reads: its socket buffer fills, then the server gives up on it.
  const slow = request({ host: '127.0.0.1', port, path: '/events/stream' });
  slow.on('error', () => undefined);
  const response = new Promise<IncomingMessage>((resolve) => slow.on('response', resolve));
  slow.end();
  (await response).pause();
  await eventually(() => subscribers() === 1);
  for (let i = 0; i < 3000 && subscribers() > 0; i++)
    await core.timeline.record('52:54:00:00:00:09', 'bulk', { pad: 'x'.repeat(2000), i });
  t.equal(subscribers(), 0, 'the slow client was dropped');
  slow.destroy();
});

t.test('a client reconnecting with Last-Event-ID gets what it missed, then live events, each once', async (t) => {
  const { core } = await makeApp(t);
  const base = core.timeline.bus.listenerCount(STREAM_EVENT);
  const subscribers = () => core.timeline.bus.listenerCount(STREAM_EVENT) - base;
  const app = Fastify();
  await app.register(eventsStreamRoutes, { core, maxReplay: 3 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const A = '52:54:00:00:00:0a';
  const B = '52:54:00:00:00:0b';
  const first = await core.timeline.record(A, 'seen-before', {});
  const missed = [await core.timeline.record(A, 'missed', { n: 1 }), await core.timeline.record(B, 'missed', { n: 2 })];

  const s = openStream(port, '/events/stream', TOKEN, { 'last-event-id': String(first.id) });
  await s.ready;
  await eventually(() => s.events().length === 2);
  t.same(
    s.events().map((e) => e.id),
    missed.map((e) => e.id),
    'the missed events, in order, not the one it had',
  );
  await eventually(() => subscribers() === 1);
  const live = await core.timeline.record(B, 'live', {});
  await eventually(() => s.events().length === 3);
  t.same(
    s.events().map((e) => e.id),
    [...missed.map((e) => e.id), live.id],
    'then live ones, no duplicates',
  );
  s.close();

  const filtered = openStream(port, `/events/stream?mac=${B}`, TOKEN, { 'last-event-id': String(first.id) });
  await filtered.ready;
  await eventually(() => filtered.events().length === 2);
  t.same(
    filtered.events().map((e) => e.kind),
    ['missed', 'live'],
    'the MAC filter applies to the replay too',
  );
  filtered.close();

  const fresh = openStream(port, '/events/stream', TOKEN, { 'last-event-id': 'not-an-id' });
  await fresh.ready;
  await eventually(() => subscribers() >= 1);
  await core.timeline.record(A, 'after', {});
  await eventually(() => fresh.events().length === 1);
  t.equal(fresh.events()[0].kind, 'after', 'an id that is not ours replays nothing');
  fresh.close();

  const far = openStream(port, '/events/stream', TOKEN, { 'last-event-id': '0' });
  await far.ready;
  await eventually(() => far.text().includes('event: replay-truncated'));
  t.equal(far.events().length, 3, 'at most maxReplay events are replayed');
  t.match(
    far.text(),
    /event: replay-truncated\ndata: \{"after":0,"replayedUpTo":\d+\}/,
    'and the client is told where to continue',
  );
  far.close();
});
