import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { BackgroundCheckpointer } from '../../src/store/sqlite/checkpointer.js';

const autocheckpoint = (db: Database.Database) => db.pragma('wal_autocheckpoint', { simple: true });

t.test('the worker copies the WAL into the database; the main connection never checkpoints', async (t) => {
  const file = join(t.testdir({}), 'x.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v TEXT)');
  const cp = new BackgroundCheckpointer(db, file, 20, 0);
  t.teardown(async () => {
    await cp.stop();
    db.close();
  });
  t.equal(autocheckpoint(db), 0, 'automatic checkpoints are off on the main connection');
  const before = statSync(file).size;
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) insert.run('x'.repeat(500));
  })();
  t.ok(statSync(`${file}-wal`).size > 1_000_000, 'the rows are in the WAL');
  let size = statSync(file).size;
  for (let i = 0; i < 250 && size < 1_000_000; i++) {
    await sleep(20);
    size = statSync(file).size;
  }
  t.ok(size > before + 1_000_000, `the database file grew from ${before} to ${size} bytes: a checkpoint ran`);
  t.equal(autocheckpoint(db), 0, 'still off while the worker runs');
});

t.test('when the worker cannot open the database, automatic checkpoints come back', async (t) => {
  const dir = t.testdir({});
  const db = new Database(join(dir, 'real.db'));
  db.pragma('journal_mode = WAL');
  const cp = new BackgroundCheckpointer(db, join(dir, 'missing.db'), 10, 0);
  t.teardown(async () => {
    await cp.stop();
    db.close();
  });
  t.equal(autocheckpoint(db), 0);
  let value = 0;
  for (let i = 0; i < 250 && value === 0; i++) {
    await sleep(20);
    value = autocheckpoint(db) as number;
  }
  t.equal(value, 1000, 'the main connection checkpoints by itself again');
});

t.test('the worker starts only once the WAL has grown past the threshold', async (t) => {
  const file = join(t.testdir({}), 'y.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v TEXT)');
  const cp = new BackgroundCheckpointer(db, file, 10, 512 * 1024);
  t.teardown(async () => {
    await cp.stop();
    db.close();
  });
  for (let i = 0; i < 10; i++) await sleep(10);
  t.equal(cp.running, false, 'a small WAL: no worker');
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) insert.run('x'.repeat(500));
  })();
  for (let i = 0; i < 250 && !cp.running; i++) await sleep(10);
  t.equal(cp.running, true, 'past the threshold: the worker runs');
});
