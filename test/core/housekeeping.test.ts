/**
 * The housekeeping job's own behaviour (batches, stopping, its timer) over the in-memory store:
 * the store's side of retention is the conformance suite's (test/helpers/store-conformance), and
 * what SQLite adds (one commit per batch) is in test/store/retention.test.ts.
 */
import t from 'tap';
import { Housekeeping } from '../../src/core/registry/housekeeping.js';
import { DEFAULT_DISCOVERY_LIMITS } from '../../src/core/registry/discovery.js';
import { Timeline } from '../../src/core/timeline/timeline.js';
import { MemoryStore } from '../helpers/memory-store.js';

/** A clock tests move instead of sleeping. */
function testClock(start = Date.parse('2026-11-25T10:00:00Z')) {
  let now = start;
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

async function fill(store: MemoryStore, clock: ReturnType<typeof testClock>, n: number, stepMs: number) {
  const timeline = new Timeline(store, clock);
  for (let i = 0; i < n; i++) {
    clock.advance(stepMs);
    await timeline.record('02:00:00:00:00:01', 'dhcp-discover', { i }, {});
    await timeline.audit({
      actor: 'api',
      action: 'machine.update',
      target: '02:00:00:00:00:01',
      detail: { i },
      sourceIp: null,
    });
  }
  return timeline;
}

t.test('retention keeps at most max rows, the newest', async (t) => {
  const store = new MemoryStore();
  const clock = testClock();
  const timeline = await fill(store, clock, 2500, 1000);
  const housekeeping = new Housekeeping(
    store,
    timeline,
    DEFAULT_DISCOVERY_LIMITS,
    {
      events: { maxAgeMs: 0, maxRows: 1000 },
      audit: { maxAgeMs: 0, maxRows: 2000 },
    },
    { batchSize: 256 },
  );
  const report = await housekeeping.runOnce();
  t.equal(report.eventsPruned, 1500);
  t.equal(report.auditPruned, 500);
  const events = await store.events.list('02:00:00:00:00:01', { limit: 5000 });
  t.equal(events.length, 1000);
  t.same(events.at(-1)!.detail, { i: 2499 }, 'the newest is kept');
});

t.test('a running pass stops after its current batch', async (t) => {
  const store = new MemoryStore();
  const clock = testClock();
  const timeline = await fill(store, clock, 1000, 1000);
  const housekeeping = new Housekeeping(
    store,
    timeline,
    DEFAULT_DISCOVERY_LIMITS,
    { events: { maxAgeMs: 0, maxRows: 0 }, audit: { maxAgeMs: 1, maxRows: 0 } },
    { batchSize: 10 },
  );
  const pass = housekeeping.runOnce();
  await housekeeping.stop();
  const report = await pass;
  t.ok(report.auditPruned < 1000, `stopped early (${report.auditPruned} of 1000)`);
});

t.test('start() runs a pass soon and on its interval, reporting what it removed', async (t) => {
  const store = new MemoryStore();
  const clock = testClock();
  const timeline = await fill(store, clock, 20, 1000);
  clock.advance(1000); // all 20 are now older than 1 ms
  const housekeeping = new Housekeeping(store, timeline, DEFAULT_DISCOVERY_LIMITS, {
    events: { maxAgeMs: 0, maxRows: 0 },
    audit: { maxAgeMs: 1, maxRows: 0 },
  });
  const report = await new Promise<{ auditPruned: number }>((resolve) =>
    housekeeping.start(60_000, (err) => t.fail(String(err)), resolve),
  );
  await housekeeping.stop();
  t.equal(report.auditPruned, 20);
});
