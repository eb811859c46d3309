/**
 * Leadership on PostgreSQL (src/store/postgres/leader.ts): of instances on one database exactly
 * one leads; its session ended by the server (pg_terminate_backend, as when its connection breaks)
 * hands leadership to another within a bounded wait, and the old one says it no longer leads,
 * without crashing on the idle connection's error; close() hands over too; an unreachable server
 * is "not leader", retried, and closes promptly. Without PostgreSQL the file skips visibly; under
 * CI it fails.
 */
import t, { type Test } from 'tap';
import { LOCK_SPACE, LOCKS } from '../../src/store/postgres/db.js';
import { PostgresLeadership } from '../../src/store/postgres/leader.js';
import { missingPostgres, type PostgresServer, startPostgres } from '../helpers/postgres-server.js';
import { freePort } from '../helpers/spawn-server.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const FAST = { pollMs: 100, timeoutMs: 2000, backoff: { minMs: 50, maxMs: 200 } };

/** A leadership with its changes and errors recorded, closed with the test. */
function leadership(t: Test, url: string) {
  const changes: boolean[] = [];
  const errors: Error[] = [];
  const l = new PostgresLeadership(url, { ...FAST, onError: (e) => errors.push(e) });
  l.onChange((leader) => changes.push(leader));
  t.teardown(() => l.close());
  return { l, changes, errors };
}

/** Poll `cond` every 50 ms for at most `ms`; false if it never held. */
async function within(ms: number, cond: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The backends holding the leader lock (as the server sees it). */
async function holders(server: PostgresServer, db: string): Promise<number[]> {
  const res = await server.admin(
    `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
     WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted AND d.datname = $3`,
    [LOCK_SPACE, LOCKS.leader, db],
  );
  return res.rows.map((r) => Number(r.pid));
}

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test('two on one database: one leads; its session ended, the other takes over', async (t) => {
    const url = await server.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const a = leadership(t, url);
    await a.l.ready;
    t.equal(a.l.isLeader(), true, 'the first one takes the free lock at its first attempt');
    t.same(a.changes, [true]);
    const b = leadership(t, url);
    await b.l.ready;
    // B has tried (ready) and must have found the lock taken; a few more polls change nothing.
    await new Promise((r) => setTimeout(r, 5 * FAST.pollMs));
    t.equal(b.l.isLeader(), false, 'the second one is standby');
    t.same(b.changes, [], 'and never led');
    const held = await holders(server, db);
    t.equal(held.length, 1, 'the server shows one holder of the leader lock');

    // The leader's session ended from the server's side: what a broken connection or a restarted
    // database looks like to it. Its idle client gets an error, which must not crash this process.
    await server.admin('SELECT pg_terminate_backend($1)', [held[0]]);
    t.ok(await within(10_000, () => b.l.isLeader()), 'B leads within the bounded wait');
    t.ok(await within(5_000, () => !a.l.isLeader()), 'A says it no longer leads');
    t.same(a.changes.slice(0, 2), [true, false], 'A was told it lost leadership');
    t.ok(a.errors.length >= 1, 'A reported its lost connection');
    t.same(b.changes, [true], 'B was told it leads');
    // A reconnects (bounded backoff) and stays standby while B holds the lock.
    await new Promise((r) => setTimeout(r, 10 * FAST.pollMs));
    t.equal(a.l.isLeader(), false, 'A, reconnected, is standby');
    t.equal(b.l.isLeader(), true);
    const now = await holders(server, db);
    t.equal(now.length, 1, 'still one holder');
    t.not(now[0], held[0], 'a different session');
    t.ok(
      (
        await server.admin(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'metalboot-leader' AND datname = $1",
          [db],
        )
      ).rows[0].n === 2,
      'A is connected again (trying the lock)',
    );

    // close() gives leadership up at once: A takes over.
    await b.l.close();
    t.equal(b.l.isLeader(), false, 'closed: not leader');
    t.same(b.changes, [true, false]);
    t.ok(await within(10_000, () => a.l.isLeader()), 'A leads after B closed');
  });

  t.test('three on one database: exactly one leads at every look, and after each loss one again', async (t) => {
    const url = await server.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const all = [leadership(t, url), leadership(t, url), leadership(t, url)];
    await Promise.all(all.map((x) => x.l.ready));
    const leaders = () => all.filter((x) => x.l.isLeader()).length;
    let gone: number | undefined;
    for (let round = 0; round < 3; round++) {
      // One leader in this process and one holder on the server, not the session ended last round.
      let held: number[] = [];
      const settled = await within(10_000, async () => {
        held = await holders(server, db);
        return leaders() === 1 && held.length === 1 && held[0] !== gone;
      });
      t.ok(settled, `round ${round}: one leader, one lock holder`);
      await new Promise((r) => setTimeout(r, 3 * FAST.pollMs));
      t.equal(leaders(), 1, `round ${round}: still exactly one after a few polls`);
      gone = held[0];
      await server.admin('SELECT pg_terminate_backend($1)', [gone]);
    }
  });

  t.test('an unreachable server: not leader, errors reported, close() ends the retries', async (t) => {
    const port = await freePort(); // nothing listens there
    const x = leadership(t, `postgres://postgres:nope@127.0.0.1:${port}/postgres`);
    await x.l.ready;
    t.equal(x.l.isLeader(), false);
    t.ok(await within(5_000, () => x.errors.length >= 2), 'it keeps retrying (bounded backoff)');
    t.match(x.errors[0]!.message, /ECONNREFUSED/);
    await x.l.close();
    const seen = x.errors.length;
    await new Promise((r) => setTimeout(r, 4 * FAST.backoff.maxMs));
    t.equal(x.errors.length, seen, 'no attempts after close()');
    t.same(x.changes, [], 'never led');
  });
});
