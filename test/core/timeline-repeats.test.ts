/**
 * Identical repeats are counted on one timeline event instead of a row each (issue 20: one address
 * replaying a registered MAC's /ipxe at full speed grew the database by 178 MB in 300 s).
 */
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { REPEAT_WINDOW_MS } from '../../src/core/timeline/timeline.js';
import { clusterBody, makeApp, type TestApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:22';
const SCRIPT = `/ipxe?mac=${encodeURIComponent(MAC)}&uuid=&serial=&arch=x86_64&platform=efi`;

async function registered(t: Test) {
  const a = await makeApp(t);
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (
      await a.api('POST', '/api/v1/machines', {
        mac: MAC,
        hostname: 'w-1',
        role: 'worker',
        cluster: 'prod',
        installDisk: '/dev/sda',
      })
    ).status,
    201,
  );
  return a;
}

async function scripts(a: TestApp, n: number, ip: string) {
  for (let i = 0; i < n; i++) {
    const r = await a.get(SCRIPT, ip);
    if (r.statusCode !== 200) throw new Error(`/ipxe: ${r.statusCode} ${r.body}`);
  }
}

async function timeline(a: TestApp) {
  const r = await a.api('GET', `/api/v1/machines/${MAC}/events?limit=1000`);
  if (r.status !== 200) throw new Error(`events: ${r.status} ${r.body}`);
  return r.json.items as {
    id: number;
    kind: string;
    at: string;
    sourceIp: string;
    detail: Record<string, unknown>;
    repeats?: number;
    lastAt?: string;
  }[];
}

const installScripts = (events: Awaited<ReturnType<typeof timeline>>) =>
  events.filter((e) => e.kind === 'machine-script' && e.detail.script === 'install');

t.test(
  '25 identical install-script requests from one address: one row counting 25, every one in the metrics',
  async (t) => {
    const a = await registered(t);
    await scripts(a, 1, '10.9.0.50');
    a.clock.advance(1000);
    await scripts(a, 24, '10.9.0.50');
    const rows = installScripts(await timeline(a));
    t.equal(rows.length, 1, 'one row');
    t.equal(rows[0]!.repeats, 25, 'counting every request');
    t.equal(rows[0]!.at, '2026-11-25T10:00:00.000Z', 'at: the first');
    t.equal(rows[0]!.lastAt, '2026-11-25T10:00:01.000Z', 'lastAt: the last');
    const stored = (
      a.store.db.prepare('SELECT count(*) AS n FROM machine_events WHERE mac = ?').get(MAC) as { n: number }
    ).n;
    t.equal(stored, (await timeline(a)).length, 'the table holds no hidden rows either');
    const metrics = await a.app.inject({ method: 'GET', url: '/metrics' });
    t.match(
      metrics.body,
      /metalboot_events_total\{kind="machine-script"\} 25\b/,
      'the counter still counts each request',
    );
    const list = await a.api('GET', '/api/v1/machines');
    const mine = list.json.items.find((m: { mac: string }) => m.mac === MAC);
    t.equal(mine.lastEvent.at, '2026-11-25T10:00:01.000Z', 'the machines list shows when it last happened');
  },
);

t.test('a repeat is not coalesced across addresses, past the window, or into a different event', async (t) => {
  const a = await registered(t);
  await scripts(a, 3, '10.9.0.50');
  await scripts(a, 2, '10.9.0.51'); // another address: evidence of its own
  a.clock.advance(REPEAT_WINDOW_MS);
  await scripts(a, 2, '10.9.0.51'); // a minute after that row began: a new row
  const rows = installScripts(await timeline(a));
  t.same(
    rows.map((e) => [e.sourceIp, e.repeats ?? 1]),
    [
      ['10.9.0.50', 3],
      ['10.9.0.51', 2],
      ['10.9.0.51', 2],
    ],
  );
});

t.test('config deliveries are never coalesced: each one is evidence that the keys went out', async (t) => {
  const a = await registered(t);
  const delivered = [];
  for (let i = 0; i < 2; i++) {
    const script = (await a.get(SCRIPT, '10.9.0.50')).body;
    const url = /talos\.config=(\S+)/.exec(script)![1]!.replace(/^https?:\/\/[^/]+/, '');
    delivered.push((await a.get(url, '10.9.0.50')).statusCode);
  }
  t.same(delivered, [200, 200]);
  t.equal((await timeline(a)).filter((e) => e.kind === 'config-delivered').length, 2);
});

t.test('a counted event whose row retention took starts a new row; nothing else of an event can change', async (t) => {
  const a = await registered(t);
  await scripts(a, 2, '10.9.0.50');
  const [first] = installScripts(await timeline(a));
  t.equal(first!.repeats, 2);
  const db = new Database(join(a.dir, 'data', 'metalboot.db'));
  t.teardown(() => db.close());
  t.throws(
    () => db.prepare("UPDATE machine_events SET kind = 'forged' WHERE id = ?").run(first!.id),
    /append-only/,
    'the kind is immutable',
  );
  t.throws(
    () => db.prepare('UPDATE machine_events SET repeats = 1 WHERE id = ?').run(first!.id),
    /append-only/,
    'the count never shrinks',
  );
  t.throws(
    () =>
      db.prepare("UPDATE machine_events SET source_ip = '10.6.6.6', repeats = repeats + 1 WHERE id = ?").run(first!.id),
    /append-only/,
    'a repeat cannot rewrite the source',
  );
  db.close();
  t.equal(
    await a.store.events.repeat(999_999, '2026-11-25T10:00:02.000Z'),
    false,
    'repeat() of an event that is gone says so',
  );
  await a.store.flushed();
  // Retention takes every row; the timeline's memory of the last event must not count into nothing.
  await a.store.events.prune({ max: 1000, before: '2999-01-01T00:00:00.000Z', keepRows: 0 });
  await scripts(a, 1, '10.9.0.50');
  const rows = installScripts(await timeline(a));
  t.equal(rows.length, 1, 'a new row');
  t.equal(rows[0]!.repeats, undefined, 'counting only itself');
  t.not(rows[0]!.id, first!.id);
});

t.test(
  "a host flooding /ipxe with another machine's MAC: one counted row, the machine's own events kept",
  async (t) => {
    // The default binding: the attacker's address is not the victim's in the neighbour table.
    const victimIp = '10.9.0.50';
    const a = await makeApp(t, {
      configBinding: ['neighbour', 'dhcp'],
      neighbours: { macsFor: async (ip) => (ip === victimIp ? [MAC] : []) },
    });
    t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
    t.equal(
      (
        await a.api('POST', '/api/v1/machines', {
          mac: MAC,
          hostname: 'w-1',
          role: 'worker',
          cluster: 'prod',
          installDisk: '/dev/sda',
        })
      ).status,
      201,
    );
    await scripts(a, 1, victimIp);
    const before = await timeline(a);
    for (let i = 0; i < 200; i++) await a.get(SCRIPT, '10.6.6.6');
    await a.get(`/ipxe?mac=${encodeURIComponent(MAC)}&arch=x86_64&platform=efi&serial=%00%ff`, '10.6.6.6'); // garbage
    const after = await timeline(a);
    const added = after.filter((e) => !before.some((b) => b.id === e.id));
    t.ok(added.length <= 2, `200 requests added ${added.length} row(s), not 200`);
    t.ok(
      added.every((e) => e.sourceIp === '10.6.6.6'),
      "every added row names the flooding address, not the machine's",
    );
    t.same(
      after.filter((e) => before.some((b) => b.id === e.id)).map((e) => [e.id, e.kind, e.repeats ?? 1]),
      before.map((e) => [e.id, e.kind, e.repeats ?? 1]),
      "the machine's own events are untouched (no count of its rows grew)",
    );
    t.equal(installScripts(after).length, 1, 'the only install script is the one its own address got');
  },
);
