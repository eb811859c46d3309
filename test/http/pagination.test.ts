import t, { type Test } from 'tap';
import { blankMachine } from '../../src/core/registry/machines.js';
import { clusterBody, makeApp, type TestApp } from '../helpers/core-app.js';

const macNo = (n: number) =>
  `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;

/** Every item of a list, following `next`; also checks each page's size. */
async function readAll(t: Test, api: TestApp['api'], path: string, limit: number): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const res = await api(
      'GET',
      `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    t.equal(res.status, 200, res.body.slice(0, 200));
    t.ok(res.json.items.length <= limit, 'a page holds at most limit items');
    items.push(...res.json.items);
    cursor = res.json.next;
    if (!cursor) return items;
    t.equal(res.json.items.length, limit, 'only the last page is short');
  }
  throw new Error('too many pages');
}

/** The common rules of every list endpoint: default 100, at most 1,000, a bad cursor or limit is a 400. */
async function pagingRules(t: Test, api: TestApp['api'], path: string, total: number) {
  const sep = path.includes('?') ? '&' : '?';
  const first = await api('GET', path);
  t.equal(first.json.items.length, Math.min(100, total), `${path}: 100 by default`);
  t.equal(first.json.next === null, total <= 100, 'next only when there is more');
  const max = await api('GET', `${path}${sep}limit=1000`);
  t.equal(max.json.items.length, Math.min(1000, total), 'up to 1,000 in one page');
  for (const bad of ['1001', '0', '99999999', '-1', 'x']) {
    const res = await api('GET', `${path}${sep}limit=${bad}`);
    t.equal(res.status, 400, `limit=${bad} is a 400`);
  }
  t.match((await api('GET', `${path}${sep}limit=1001`)).json, {
    error: 'validation',
    field: 'limit',
    message: /1 to 1000/,
  });
  for (const bad of [
    'garbage',
    Buffer.from('["other",1]').toString('base64url'),
    Buffer.from('[1,2,3]').toString('base64url'),
    '%%%',
    'x'.repeat(700),
  ]) {
    const res = await api('GET', `${path}${sep}cursor=${encodeURIComponent(bad)}`);
    t.equal(res.status, 400, `cursor ${bad.slice(0, 20)} is a 400`);
  }
  t.match((await api('GET', `${path}${sep}cursor=garbage`)).json, { error: 'validation', field: 'cursor' });
  const all = await readAll(t, api, path, 37);
  t.equal(all.length, total, `${path}: following next lists each of ${total} once`);
  return all;
}

t.test('GET /machines pages in MAC order; stable under inserts; filters page too', async (t) => {
  const { api, core, store } = await makeApp(t);
  const now = '2026-11-25T10:00:00.000Z';
  for (let i = 0; i < 1250; i++)
    await store.machines.insert({
      ...blankMachine(macNo(i * 2), now),
      state: i % 5 === 0 ? 'registered' : 'discovered',
    });
  await store.flushed();
  const all = await pagingRules(t, api, '/api/v1/machines', 1250);
  t.same(
    all.map((m) => m.mac),
    [...all.map((m) => m.mac)].sort(),
    'in MAC order',
  );
  t.ok('lastEvent' in all[0], 'items carry lastEvent');

  // Inserts between two pages: nothing already listed comes again, nothing not yet listed is skipped.
  const p1 = await api('GET', '/api/v1/machines?limit=500');
  for (let i = 0; i < 100; i++)
    await store.machines.insert({ ...blankMachine(macNo(i * 2 + 1), now), state: 'discovered' });
  await store.flushed();
  const rest = await readAll(t, api, `/api/v1/machines?cursor=${encodeURIComponent(p1.json.next)}`, 1000);
  const seen = [...p1.json.items, ...rest].map((m: { mac: string }) => m.mac);
  t.equal(new Set(seen).size, seen.length, 'no machine listed twice');
  t.ok(
    all.every((m) => seen.includes(m.mac)),
    'every machine that was there is listed',
  );

  t.equal((await readAll(t, api, '/api/v1/machines?state=registered', 40)).length, 250, 'state filter pages');
  t.equal((await readAll(t, api, '/api/v1/machines?registered=true', 40)).length, 250, 'registered=true');
  t.equal(
    (await readAll(t, api, '/api/v1/machines?registered=false', 400)).length,
    1100,
    'registered=false: the discovered ones',
  );
  t.equal((await api('GET', '/api/v1/machines?registered=maybe')).status, 400);
  t.equal(core.machines.discoveryLimits.maxDiscovered, 10_000);
});

t.test("GET /clusters, a machine's events, the audit log and unattributed Talos events page", async (t) => {
  const { api, core, store, clock } = await makeApp(t);
  for (let i = 0; i < 105; i++)
    t.equal((await api('POST', '/api/v1/clusters', clusterBody(`c-${String(i).padStart(3, '0')}`))).status, 201);
  const clusters = await pagingRules(t, api, '/api/v1/clusters', 105);
  t.same(
    clusters.map((c) => c.name),
    [...clusters.map((c) => c.name)].sort(),
    'clusters in name order',
  );

  const mac = '52:54:00:00:00:01';
  t.equal(
    (await api('POST', '/api/v1/machines', { mac, hostname: 'w-1', role: 'worker', cluster: 'c-000' })).status,
    201,
  );
  for (let i = 0; i < 1199; i++) {
    clock.advance(1000);
    await core.timeline.record(mac, 'dhcp-discover', { i }, {});
  }
  await store.flushed();
  const events = await pagingRules(t, api, `/api/v1/machines/${mac}/events`, 1200);
  t.same(
    events.map((e) => e.id),
    [...events.map((e) => e.id)].sort((a, b) => a - b),
    'events oldest first',
  );
  const after = events[1100].id;
  t.equal(
    (await api('GET', `/api/v1/machines/${mac}/events?after=${after}`)).json.items.length,
    99,
    'after= still narrows to newer events',
  );

  // 105 cluster creations + 1 machine creation are on the audit log.
  const audit = await pagingRules(t, api, '/api/v1/audit', 106);
  t.same(
    audit.map((a) => a.id),
    [...audit.map((a) => a.id)].sort((a, b) => b - a),
    'audit newest first',
  );
  t.equal((await readAll(t, api, `/api/v1/audit?target=${mac}`, 1)).length, 1, 'target filter pages');

  for (let i = 0; i < 230; i++)
    await store.talosEvents.recordUnattributed({
      at: clock().toISOString(),
      peerIp: '10.0.0.9',
      eventId: `e${i}`,
      type: 'sequence',
      payload: { i },
    });
  await store.flushed();
  const unattributed = await pagingRules(t, api, '/api/v1/talos/unattributed', 230);
  t.same(
    unattributed.map((e) => e.payload.i),
    [...Array(230).keys()],
    'oldest first, each once',
  );
});
