/**
 * Liveness and readiness: /healthz answers 200 with the store's health (also while the store is
 * down: an orchestrator must not restart a process that waits for its database), /readyz 200 or
 * 503 with Retry-After. And how a store that cannot be reached is answered through fastify's
 * routes (the fast path's answer: test/cli/serve-postgres-outage.test.ts): 503, Retry-After, a
 * JSON error saying so; other failures keep their status. On SQLite (the PostgreSQL outage itself:
 * test/store/postgres-outage.test.ts).
 */
import t from 'tap';
import { ConflictError, UnavailableError } from '../../src/core/errors.js';
import { makeApp, TOKEN } from '../helpers/core-app.js';

t.test('SQLite: healthy and ready; a store that fails is reported, the process still live', async (t) => {
  const { app, store } = await makeApp(t);
  const health = await app.inject({ url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok', database: { kind: 'sqlite', ok: true } });
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', database: { kind: 'sqlite', ok: true } });

  // The file gone from under it (here: closed) is the one way SQLite's health fails.
  await store.close();
  const down = await app.inject({ url: '/healthz' });
  t.equal(down.statusCode, 200, 'liveness stays 200');
  t.match(down.json(), { status: 'degraded', database: { kind: 'sqlite', ok: false, error: /not open/ } });
  const notReady = await app.inject({ url: '/readyz' });
  t.equal(notReady.statusCode, 503, 'readiness says no');
  t.equal(notReady.headers['retry-after'], '5');
  t.match(notReady.json(), { status: 'unavailable', database: { ok: false } });
});

t.test('a store that cannot be reached: 503 + Retry-After on boot routes and the API', async (t) => {
  const { store, api, get } = await makeApp(t);
  const down = new UnavailableError('the database (PostgreSQL) is unavailable: connect ECONNREFUSED 127.0.0.1:5432');
  const { get: getMachine, page, findByIp } = store.machines;
  store.machines.get = async () => {
    throw down;
  };
  store.machines.page = async () => {
    throw down;
  };
  // inject goes through fastify's routes, not the fast path in front of its server.
  const ipxe = await get('/ipxe?mac=52:54:00:00:00:01', '192.0.2.1');
  t.equal(ipxe.statusCode, 503, '/ipxe');
  t.equal(ipxe.headers['retry-after'], '5');
  t.equal(ipxe.headers['cache-control'], 'no-store');
  t.same(ipxe.json(), { error: 'unavailable', message: down.message });
  const config = await get('/config/52:54:00:00:00:01?token=abc', '192.0.2.1');
  t.equal(config.statusCode, 503, '/config');
  t.equal(config.headers['retry-after'], '5');
  const list = await api('GET', '/api/v1/machines');
  t.equal(list.status, 503, 'the API');
  t.equal(list.headers['retry-after'], '5');
  t.same(list.json, { error: 'unavailable', message: down.message });

  store.machines.findByIp = async () => {
    throw down;
  };
  const kernel = await get('/assets/talos/v1.13.9/vmlinuz-amd64', '192.0.2.1');
  t.equal(kernel.statusCode, 503, 'a Talos kernel download (recorded on the timeline first)');
  t.equal(kernel.headers['retry-after'], '5');

  // Not a connection failure: the mapping it always had.
  store.machines.get = async () => {
    throw new ConflictError('already there');
  };
  t.equal((await get('/ipxe?mac=52:54:00:00:00:01', '192.0.2.1')).statusCode, 409, 'a conflict stays 409');
  store.machines.get = getMachine;
  store.machines.page = page;
  store.machines.findByIp = findByIp;
  t.equal((await api('GET', '/api/v1/machines')).status, 200, 'and all is well once the store answers');
});

t.test(
  'an event stream whose replay cannot be read ends, so the client asks again with its Last-Event-ID',
  async (t) => {
    const { app, store } = await makeApp(t);
    const since = store.events.since;
    store.events.since = async () => {
      throw new UnavailableError('the database (PostgreSQL) is unavailable: connect ECONNREFUSED 127.0.0.1:5432');
    };
    const res = await app.inject({
      url: '/api/v1/events/stream',
      headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': '1' },
    });
    t.equal(res.statusCode, 200, 'the stream had started');
    t.match(res.body, /^retry: 5000\n/, 'it tells the client when to ask again');
    t.notMatch(res.body, 'machine-event', 'and sends nothing past the gap');
    store.events.since = since;
  },
);
