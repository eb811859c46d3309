/**
 * The PostgreSQL store's timeline feed (`src/store/postgres/event-feed.ts`, the core's
 * `TimelineFeed` port): two stores on one database, as two instances would be. Each hears every
 * event either of them commits, once, in id order, exactly what a replay reads (`since`); a repeat
 * count reaches the other too; the listening connection killed by the server is replaced, and what
 * was committed meanwhile is delivered then (no gap), without crashing the process. The core's
 * Timeline over it streams both instances' events but calls only its own its own. Without
 * PostgreSQL the file skips visibly; under CI it fails.
 */
import t, { type Test } from 'tap';
import type { MachineEvent } from '../../src/core/types.js';
import { STREAM_EVENT, Timeline } from '../../src/core/timeline/timeline.js';
import type { EventFeedOptions } from '../../src/store/postgres/event-feed.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { missingPostgres, type PostgresServer, startPostgres } from '../helpers/postgres-server.js';
import { event, mac } from '../helpers/store-conformance/fixtures.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

async function opened(t: Test, url: string, feed: EventFeedOptions = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open(url, { feed: { minBackoffMs: 50, maxBackoffMs: 500, ...feed } });
  t.teardown(() => store.close());
  return store;
}

/** Everything a store's feed delivers, in arrival order. */
function heard(store: PostgresStore) {
  const appended: MachineEvent[] = [];
  const repeated: MachineEvent[] = [];
  store.timelineFeed.subscribe({ appended: (e) => appended.push(e), repeated: (e) => repeated.push(e) });
  return { appended, repeated };
}

/** Polls `ok` every 20 ms for at most 10 s (bounded; the failure names what was awaited). */
async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ids = (events: readonly MachineEvent[]) => events.map((e) => e.id);

t.test('postgres', { skip: missing }, async (t) => {
  const server: PostgresServer = await startPostgres(t);

  t.test('each instance hears both instances’ events once, in id order, as a replay reads them', async (t) => {
    const url = await server.createDatabase();
    const a = await opened(t, url);
    const b = await opened(t, url);
    const onA = heard(a);
    const onB = heard(b);
    // Appends from both at once: the ids interleave and commit in id order under the events lock.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).events.append(event(mac(1 + (i % 3)), `k${i}`, i))),
    );
    const stored = await a.events.since(0, 1000);
    t.equal(stored.length, 40);
    await until('A to hear all 40', () => onA.appended.length >= 40);
    await until('B to hear all 40', () => onB.appended.length >= 40);
    t.same(ids(onA.appended), ids(stored), 'A: exactly the stored ids, in order, none twice');
    t.same(ids(onB.appended), ids(stored), 'B: the same');
    t.same(onA.appended, stored, 'the rows as a replay reads them');
    t.same(
      new Set(onA.appended.map((e) => e.kind)).size,
      40,
      'both instances’ events are there (k0…k39, written half by each)',
    );
  });

  t.test('a repeat count reaches the other instance; none is counted past a newer event', async (t) => {
    const url = await server.createDatabase();
    const a = await opened(t, url);
    const b = await opened(t, url);
    const onA = heard(a);
    const first = await b.events.append(event(mac(1), 'ipxe-served', 1));
    t.ok(await b.events.repeat(first.id, '2026-01-01T00:00:05.000Z'), 'B counts a repeat');
    await until('A to hear the repeat', () => onA.repeated.length >= 1);
    t.match(onA.repeated[0], { id: first.id, repeats: 2, lastAt: '2026-01-01T00:00:05.000Z' });
    t.same(ids(onA.appended), [first.id], 'the repeat is no new event');

    await a.events.append(event(mac(1), 'dhcp', 6));
    t.notOk(await b.events.repeat(first.id, '2026-01-01T00:00:07.000Z'), 'no longer the machine’s newest: refused');
    t.match((await a.events.list(mac(1)))[0], { id: first.id, repeats: 2 }, 'its count did not grow');
    await b.events.append(event(mac(2), 'dhcp', 8));
    t.ok(
      await b.events.repeat(first.id + 1, '2026-01-01T00:00:09.000Z'),
      'another machine’s newer event does not matter',
    );
  });

  t.test('the listening connection killed: reconnected, and what committed meanwhile arrives', async (t) => {
    const url = await server.createDatabase();
    const troubles: string[] = [];
    // A long wait before reconnecting, so the events below commit while A is not listening.
    const a = await opened(t, url, { minBackoffMs: 1500, onTrouble: (what) => troubles.push(what) });
    const b = await opened(t, url);
    const onA = heard(a);
    await b.events.append(event(mac(1), 'before', 1));
    await until('A to hear the first', () => onA.appended.length >= 1);
    const killed = await server.admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = $1 AND application_name = 'metalboot-listen' AND query LIKE 'LISTEN%'`,
      [new URL(url).pathname.slice(1)],
    );
    t.equal(killed.rowCount, 2, 'both instances’ listeners terminated by the server');
    await until('A to notice', () => !a.timelineFeed.listening);
    await b.events.append(event(mac(1), 'while-down-1', 2));
    await b.events.append(event(mac(2), 'while-down-2', 3));
    t.notOk(a.timelineFeed.listening, 'appended while A was not listening (its notifications went nowhere)');
    await until('A to listen again', () => a.timelineFeed.listening);
    await b.events.append(event(mac(1), 'after', 4));
    await until('A to hear all four', () => onA.appended.length >= 4);
    t.same(
      onA.appended.map((e) => e.kind),
      ['before', 'while-down-1', 'while-down-2', 'after'],
      'no gap, no duplicate',
    );
    t.same(ids(onA.appended), ids(await a.events.since(0, 100)));
    t.ok(
      troubles.some((w) => /connection (failed|ended)/.test(w)),
      'the drop was reported (and did not end the process)',
    );
  });

  t.test('the Timeline streams every instance’s events, but its bus calls only its own its own', async (t) => {
    const url = await server.createDatabase();
    const a = await opened(t, url);
    const b = await opened(t, url);
    let second = 0;
    const clock = () => new Date(Date.UTC(2026, 0, 1, 0, 0, second++));
    const ta = new Timeline(a, clock);
    const tb = new Timeline(b, clock);
    const own: MachineEvent[] = [];
    const stream: MachineEvent[] = [];
    ta.bus.on('event', (e: MachineEvent) => own.push(e));
    ta.bus.on(STREAM_EVENT, (e: MachineEvent) => stream.push(e));
    const m = mac(1);
    const e1 = await ta.record(m, 'ipxe-served', { step: 'install' }, { sourceIp: '10.0.0.5' });
    const e2 = await tb.record(m, 'dhcp', { type: 'DISCOVER' });
    // B's event is newer than A's remembered one: A's identical repeat is a new row, not a count.
    await until('A to hear B’s event', () => stream.some((e) => e.id === e2.id));
    const e3 = await ta.record(m, 'ipxe-served', { step: 'install' }, { sourceIp: '10.0.0.5' });
    t.ok(e3.id > e2.id && !e3.repeats, 'appended after B’s event, not counted on A’s older one');
    await until('A to stream all three', () => stream.length >= 3);
    t.same(ids(stream), [e1.id, e2.id, e3.id], 'the stream: both instances, in order, each once');
    t.same(ids(own), [e1.id, e3.id], "'event' (what per-process metrics count): A's own only");
  });
});
