import Database from 'better-sqlite3';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import t from 'tap';
import { BackgroundCheckpointer } from '../../src/store/sqlite/checkpointer.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { MIN_WAL_MAX_BYTES, WalBound } from '../../src/store/sqlite/wal-bound.js';

const BOUND = MIN_WAL_MAX_BYTES; // 1 MiB: small, so the test crosses it many times in a moment
const TURNS = 600;
const WRITES_PER_TURN = 20;
const DETAIL = { note: 'x'.repeat(300) };

function walBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/** One turn of the event loop's writes, as a burst of boot requests makes them: timeline events. */
async function writeTurns(
  store: SqliteStore,
  file: string,
  turns: number,
  onTurn?: (turn: number) => void,
): Promise<number> {
  let maxWal = 0;
  for (let turn = 0; turn < turns; turn++) {
    for (let i = 0; i < WRITES_PER_TURN; i++) {
      await store.events.append({
        mac: `52:54:00:00:00:${String(i % 100).padStart(2, '0')}`,
        at: new Date().toISOString(),
        kind: 'machine-script',
        detail: DETAIL,
        sourceIp: '10.0.0.1',
        state: null,
      });
    }
    await store.flushed();
    maxWal = Math.max(maxWal, walBytes(file));
    onTurn?.(turn);
    await tick();
  }
  return maxWal;
}

const countEvents = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM machine_events').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

t.test(
  'continuous writes through the store: the WAL file never passes the bound, and every write is kept',
  async (t) => {
    const file = join(t.testdir({}), 'bounded.db');
    const store = new SqliteStore(file, { walMaxBytes: BOUND });
    t.teardown(() => store.close());
    const maxWal = await writeTurns(store, file, TURNS);
    const stats = store.walStats()!;
    t.ok(maxWal > 0 && maxWal <= BOUND, `largest WAL seen ${maxWal} bytes ≤ bound ${BOUND}`);
    t.ok(
      stats.bytesWritten > 4 * BOUND,
      `${stats.bytesWritten} bytes went through the WAL: the bound was crossed many times over`,
    );
    t.ok(stats.restarts >= 4, `${stats.restarts} restart checkpoints`);
    t.equal(stats.maxBytes, BOUND);
    t.equal(stats.bytesWritten % (4096 + 24), 0, 'counted in whole frames');
    await store.close();
    t.equal(countEvents(file), TURNS * WRITES_PER_TURN, 'every committed write is in the database after close');
  },
);

t.test('the same writes with only the passive background checkpointer let the WAL grow past the bound', async (t) => {
  // The control: what the store did before the bound (a PASSIVE checkpoint in a worker thread).
  const file = join(t.testdir({}), 'passive.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE e (v TEXT)');
  const cp = new BackgroundCheckpointer(db, file, 20, 0);
  t.teardown(async () => {
    await cp.stop();
    db.close();
  });
  const insert = db.prepare('INSERT INTO e VALUES (?)');
  const burst = db.transaction(() => {
    for (let i = 0; i < WRITES_PER_TURN; i++) insert.run(JSON.stringify(DETAIL));
  });
  let maxWal = 0;
  for (let turn = 0; turn < TURNS && maxWal <= BOUND; turn++) {
    burst();
    maxWal = Math.max(maxWal, walBytes(file));
    await tick();
  }
  t.ok(maxWal > BOUND, `without the bound the WAL reached ${maxWal} bytes`);
});

t.test(
  'a reader of another connection holding an old snapshot delays the restart; once it ends, the WAL shrinks back under the bound',
  async (t) => {
    const file = join(t.testdir({}), 'reader.db');
    const store = new SqliteStore(file, { walMaxBytes: BOUND });
    t.teardown(() => store.close());
    await writeTurns(store, file, 5);
    const reader = new Database(file, { readonly: true });
    t.teardown(() => reader.close());
    reader.exec('BEGIN');
    const before = (reader.prepare('SELECT count(*) AS n FROM machine_events').get() as { n: number }).n;
    // The reader's snapshot pins the WAL: restarts cannot finish while it lasts.
    const maxWhileHeld = await writeTurns(store, file, 150);
    t.ok(store.walStats()!.busy > 0, 'restart attempts found the reader and gave up, to try again');
    t.ok(
      maxWhileHeld > BOUND,
      `the pinned WAL grew to ${maxWhileHeld} bytes (the reader's snapshot must stay readable)`,
    );
    t.equal(
      (reader.prepare('SELECT count(*) AS n FROM machine_events').get() as { n: number }).n,
      before,
      "the reader's snapshot is intact",
    );
    reader.exec('COMMIT');
    // A restart that found the reader backs off (up to PINNED_RETRY_MAX_MS): keep writing, in bounded
    // rounds, until a commit after the back-off has restarted the log (at most 30 s of rounds).
    let size = Infinity;
    let turnsAfter = 0;
    const giveUpAt = Date.now() + 30_000;
    while (size > BOUND && Date.now() < giveUpAt) {
      await writeTurns(store, file, 10, () => (size = walBytes(file)));
      turnsAfter += 10;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(size <= BOUND, `after the reader ended the WAL is back to ${size} bytes`);
    await store.close();
    t.equal(countEvents(file), (155 + turnsAfter) * WRITES_PER_TURN, 'nothing was lost while the restart waited');
  },
);

t.test('a bound below the minimum is refused with a clear error', async (t) => {
  const file = join(t.testdir({}), 'small.db');
  t.throws(
    () => new SqliteStore(file, { walMaxBytes: 1000 }),
    /the WAL bound must be an integer of at least 1048576 bytes, got 1000/,
  );
  t.throws(() => new SqliteStore(file, { walMaxBytes: BOUND + 0.5 }), /must be an integer/);
  t.notOk(existsSync(file), 'nothing was created');
});

t.test('without a WAL index to read, the size of the WAL file decides, and nothing is counted', async (t) => {
  const file = join(t.testdir({}), 'nowal.db');
  const db = new Database(file); // rollback journal: no -shm file
  t.teardown(() => db.close());
  const bound = new WalBound(db, file, BOUND);
  t.teardown(() => bound.close());
  bound.afterCommit();
  t.same(bound.stats(), { maxBytes: BOUND, bytesWritten: 0, restarts: 0, busy: 0 }, 'no WAL file: nothing to do');
  writeFileSync(`${file}-wal`, Buffer.alloc(BOUND)); // as if a WAL had grown past half the bound
  bound.afterCommit();
  t.equal(bound.stats().restarts, 1, 'past half the bound by its file size: a checkpoint ran');
  db.close();
  bound.afterCommit();
  t.equal(bound.stats().restarts, 1, 'a closed connection is left alone');
});
