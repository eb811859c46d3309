/**
 * Which PostgreSQL failures mean "the database is not there" (the core's UnavailableError: HTTP 503,
 * DHCP silent) and which keep their meaning, and the health probe's bounds: one query per second
 * however often it is asked, and an answer within its deadline when the database does not answer.
 * No server needed (the outage itself: postgres-outage.test.ts).
 */
import t from 'tap';
import { UnavailableError } from '../../src/core/errors.js';
import type { Db } from '../../src/store/postgres/db.js';
import { classifyFailure, failureReason, isConnectionFailure } from '../../src/store/postgres/failure.js';
import { HealthProbe } from '../../src/store/postgres/health.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

t.test('connection failures become UnavailableError; everything else keeps its meaning', async (t) => {
  const down = [
    withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    withCode('ECONNRESET', 'read ECONNRESET'),
    withCode('57P01', 'terminating connection due to administrator command'),
    withCode('57P03', 'the database system is starting up'),
    withCode('08006', 'connection failure'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Connection terminated due to connection timeout', { cause: withCode('ETIMEDOUT') }),
    new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''),
  ];
  for (const err of down) {
    t.ok(isConnectionFailure(err), `${(err as { code?: string }).code ?? err.message}: unavailable`);
    const mapped = classifyFailure(err);
    t.ok(mapped instanceof UnavailableError, 'mapped to the core’s class');
    t.equal((mapped as UnavailableError).code, 'unavailable');
  }
  const kept = [
    withCode('23505', 'duplicate key value violates unique constraint'),
    withCode('42P01', 'relation "nope" does not exist'),
    withCode('28P01', 'password authentication failed for user "metalboot"'),
    withCode('40001', 'could not serialize access'),
    new Error('the PostgreSQL store is closed'),
    new AggregateError([withCode('ECONNREFUSED'), withCode('23505')], ''),
  ];
  for (const err of kept) {
    t.notOk(isConnectionFailure(err), `${(err as { code?: string }).code ?? err.message}: not a connection failure`);
    t.equal(classifyFailure(err), err, 'passed through unchanged');
  }
  const wrapped = classifyFailure(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'));
  t.equal(failureReason(wrapped), 'connect ECONNREFUSED 127.0.0.1:5432', 'the reason is the socket’s words');
  t.match((wrapped as Error).message, 'the database (PostgreSQL) is unavailable: connect ECONNREFUSED');
});

t.test('health: one SELECT 1 a second however often asked; a deadline when nothing answers', async (t) => {
  let clock = 0;
  let queries = 0;
  let answer: () => Promise<unknown> = async () => ({ rows: [], rowCount: 1 });
  const db = {
    read: () => {
      queries++;
      return answer();
    },
  } as unknown as Db;
  const probe = new HealthProbe(db, { now: () => clock, timeoutMs: 50 });
  const flood = await Promise.all(Array.from({ length: 200 }, () => probe.check()));
  t.equal(queries, 1, '200 probes in one second: one query');
  t.ok(
    flood.every((h) => h.ok && h.kind === 'postgres'),
    'all healthy',
  );
  clock += 999;
  await probe.check();
  t.equal(queries, 1, 'still within the second');
  clock += 1;
  await probe.check();
  t.equal(queries, 2, 'a second later: asked again');

  answer = () => Promise.reject(classifyFailure(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')));
  clock += 1000;
  t.same(
    await probe.check(),
    { kind: 'postgres', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:5432' },
    'down, and why',
  );

  answer = () => new Promise(() => undefined); // a server that accepts and never answers
  clock += 1000;
  const hung = await probe.check();
  t.match(hung, { ok: false, error: /no answer to SELECT 1 within 50 ms/ }, 'the probe gives up at its deadline');
});
