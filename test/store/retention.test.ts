/**
 * Retention on SQLite: the housekeeping job's batches are separate commits, and deleting stays
 * retention's privilege (the append-only triggers). The job's own behaviour is in
 * test/core/housekeeping.test.ts, the store's side of retention in the conformance suite.
 */
import t from 'tap';
import { Housekeeping } from '../../src/core/registry/housekeeping.js';
import { DEFAULT_DISCOVERY_LIMITS } from '../../src/core/registry/discovery.js';
import { Timeline } from '../../src/core/timeline/timeline.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { testClock } from '../helpers/core-app.js';

const HOUR = 3600_000;

async function fill(store: SqliteStore, clock: ReturnType<typeof testClock>, n: number, stepMs: number) {
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
  await store.flushed();
  return timeline;
}

t.test('retention deletes timeline and audit rows past their age, in batches, oldest first', async (t) => {
  const store = new SqliteStore(':memory:');
  t.teardown(() => store.close());
  const clock = testClock();
  const timeline = await fill(store, clock, 1000, HOUR); // row i at i+1 hours; now is at 1000 hours
  const housekeeping = new Housekeeping(
    store,
    timeline,
    DEFAULT_DISCOVERY_LIMITS,
    {
      events: { maxAgeMs: 10 * 24 * HOUR, maxRows: 0 },
      audit: { maxAgeMs: 20 * 24 * HOUR, maxRows: 0 },
    },
    { batchSize: 100 },
  );
  const commits = store.groupCommit.commits;
  const report = await housekeeping.runOnce();
  t.equal(report.eventsPruned, 759, 'events older than 10 days (240 hours: rows 759 to 999 are kept)');
  t.equal(report.auditPruned, 519, 'audit entries older than 20 days');
  t.ok(store.groupCommit.commits - commits >= 14, 'one commit per batch of 100');
  const events = await store.events.list('02:00:00:00:00:01', { limit: 1000 });
  t.equal(events.length, 241);
  t.same(events[0]!.detail, { i: 759 }, 'the oldest ones went');
  t.equal((await store.audit.list({ limit: 1000 })).length, 481);
  t.same(
    await housekeeping.runOnce(),
    { discoveredExpired: 0, discoveredTrimmed: 0, eventsPruned: 0, auditPruned: 0 },
    'nothing more is due',
  );
});

t.test('outside retention the timeline and the audit log stay append-only', async (t) => {
  const store = new SqliteStore(':memory:');
  t.teardown(() => store.close());
  await fill(store, testClock(), 3, 1000);
  t.throws(() => store.db.prepare('DELETE FROM machine_events').run(), /append-only/);
  t.throws(() => store.db.prepare('DELETE FROM audit_log').run(), /append-only/);
  t.equal(await store.events.prune({ keepRows: 1, max: 10 }), 2, 'retention may');
  t.equal(store.db.prepare('SELECT open FROM retention_gate').pluck().get(), 0, 'and closes the gate behind it');
  t.throws(() => store.db.prepare('DELETE FROM machine_events').run(), /append-only/);
  t.equal(await store.events.prune({ max: 10 }), 0, 'no limit given: nothing deleted');
});
