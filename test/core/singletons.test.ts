/**
 * core.singletons (src/core/progress/singletons.ts): the stall detector and housekeeping run only
 * while the Leadership port says this instance leads, start and stop as it changes, and every
 * state is logged (the first included, standby too). The PostgreSQL leadership behind the port is
 * test/store/postgres-leader.test.ts; two servers, test/cli/serve-postgres-leader.test.ts.
 */
import t from 'tap';
import type { Leadership } from '../../src/core/ports/leadership.js';
import { alwaysLeader, Singletons } from '../../src/core/progress/singletons.js';
import type { StallDetector } from '../../src/core/progress/stall.js';
import type { Housekeeping } from '../../src/core/registry/housekeeping.js';

/** A leadership the test flips by hand. */
function switchable(initial: boolean) {
  let leader = initial;
  const listeners = new Set<(l: boolean) => void>();
  const l: Leadership & { flip(to: boolean): void } = {
    isLeader: () => leader,
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    close: async () => undefined,
    flip(to) {
      leader = to;
      for (const cb of listeners) cb(to);
    },
  };
  return l;
}

/** Stand-ins that record whether their timer runs. */
function jobs() {
  const state = { stall: false, housekeeping: false, stallStarts: 0, housekeepingStarts: 0 };
  const stall = {
    start: () => {
      state.stall = true;
      state.stallStarts++;
    },
    stop: () => {
      state.stall = false;
    },
  } as unknown as StallDetector;
  const housekeeping = {
    start: () => {
      state.housekeeping = true;
      state.housekeepingStarts++;
    },
    stop: async () => {
      state.housekeeping = false;
    },
  } as unknown as Housekeeping;
  return { state, stall, housekeeping };
}

function logger() {
  const lines: string[] = [];
  return {
    lines,
    info: (a: object | string, b?: string) => void lines.push(typeof a === 'string' ? a : b!),
    error: (_: object, msg: string) => void lines.push(msg),
  };
}

const OPTS = { stallIntervalMs: 30_000, housekeepingIntervalMs: 300_000 };

t.test('standby at start: nothing runs until leadership comes; it stops when leadership goes', async (t) => {
  const l = switchable(false);
  const j = jobs();
  const log = logger();
  const s = new Singletons(l, j.stall, j.housekeeping);
  s.start({ ...OPTS, log });
  t.same([j.state.stall, j.state.housekeeping], [false, false], 'standby: neither job runs');
  t.match(log.lines, [/^standby: /], 'the standby state is logged');

  l.flip(true);
  t.same([j.state.stall, j.state.housekeeping], [true, true], 'leader: both run');
  t.match(log.lines.at(-1), /^leader: running the stall detector and housekeeping/);

  l.flip(true); // told twice: started once
  t.same([j.state.stallStarts, j.state.housekeepingStarts], [1, 1]);

  l.flip(false);
  t.same([j.state.stall, j.state.housekeeping], [false, false], 'lost: both stopped');
  t.match(log.lines.at(-1), /^standby: /);

  l.flip(true);
  t.same([j.state.stall, j.state.housekeeping], [true, true], 'regained: both run again');

  await s.stop();
  t.same([j.state.stall, j.state.housekeeping], [false, false], 'stop() stops them');
  l.flip(false);
  l.flip(true);
  t.same([j.state.stall, j.state.housekeeping], [false, false], 'and no longer follows leadership');
  t.equal(log.lines.length, 4, 'one line per change, none after stop()');
});

t.test('alwaysLeader (SQLite): the jobs run from start', async (t) => {
  const j = jobs();
  const log = logger();
  const s = new Singletons(alwaysLeader(), j.stall, j.housekeeping);
  s.start({ ...OPTS, log });
  t.same([j.state.stall, j.state.housekeeping], [true, true]);
  t.same(log.lines, ['leader: running the stall detector and housekeeping']);
  t.equal(s.leadership.isLeader(), true);
  await s.stop();
  await s.leadership.close();
  t.equal(s.leadership.isLeader(), false, 'closed: no longer leads');
});
