import Database from 'better-sqlite3';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';
import { makeApp } from '../helpers/core-app.js';

function setup(t: Test) {
  const file = join(t.testdir({}), 'g.db');
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('foreign_keys = ON');
  raw.exec(`CREATE TABLE p (id INTEGER PRIMARY KEY);
    CREATE TABLE c (v TEXT, pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)`);
  const other = new Database(file, { readonly: true });
  t.teardown(() => {
    other.close();
    raw.close();
  });
  const gc = new GroupCommit(raw);
  const db = gc.view();
  const count = () => (other.prepare('SELECT count(*) AS n FROM c').get() as { n: number }).n;
  return { raw, gc, db, count };
}

t.test('the writes of one turn are committed together, and only then visible to others', async (t) => {
  const { gc, db, count } = setup(t);
  const insert = db.prepare('INSERT INTO c (v) VALUES (?)');
  const read = db.prepare('SELECT count(*) AS n FROM c');
  for (let i = 0; i < 5; i++) insert.run(`row ${i}`);
  t.equal((read.get() as { n: number }).n, 5, 'the writer sees its own writes at once');
  t.equal(count(), 0, 'another connection does not see them before the commit');
  const flushed = gc.flushed();
  await flushed;
  t.equal(count(), 5, 'committed');
  t.equal(gc.commits, 1, 'five writes, one commit');
  await t.resolves(gc.flushed(), 'nothing pending: resolves at once');
  insert.run('later');
  await tick();
  t.equal(count(), 6, 'a write commits on the next turn even if nobody waits');
  t.equal(gc.commits, 2);
});

t.test('a transaction function that fails rolls back only itself; the batch commits', async (t) => {
  const { gc, db, count } = setup(t);
  const insert = db.prepare('INSERT INTO c (v) VALUES (?)');
  const failing = db.transaction(() => {
    insert.run('inside');
    throw new Error('boom');
  });
  insert.run('before');
  t.throws(() => failing(), /boom/);
  insert.run('after');
  await gc.flushed();
  t.equal(count(), 2, 'before and after, not inside');
});

t.test('a failed commit rejects its waiters and rolls back; the next batch works', async (t) => {
  const { gc, db, count } = setup(t);
  let forgotten = 0;
  gc.onRollback(() => forgotten++);
  db.prepare('INSERT INTO c (v, pid) VALUES (?, ?)').run('orphan', 42); // deferred FK: fails at COMMIT
  await t.rejects(gc.flushed(), /FOREIGN KEY/);
  t.equal(forgotten, 1, 'caches were told to forget the lost writes');
  t.equal(count(), 0, 'nothing of the failed batch is kept');
  db.prepare('INSERT INTO c (v) VALUES (?)').run('fine');
  await gc.flushed();
  t.equal(count(), 1);
});

t.test('a batch SQLite rolled back by itself is reported to its waiters', async (t) => {
  const { raw, gc, db, count } = setup(t);
  const insert = db.prepare('INSERT INTO c (v) VALUES (?)');
  insert.run('lost');
  const lost = gc.flushed();
  raw.exec('ROLLBACK'); // what SQLite does on its own after an I/O error or a full disk
  insert.run('kept');
  await t.rejects(lost, /rolled back/);
  await gc.flushed();
  t.equal(count(), 1, 'the write after it is in a new batch');
});

t.test('an HTTP answer waits until what the request wrote is committed', async (t) => {
  const { api, store } = await makeApp(t);
  let release!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  const real = store.flushed.bind(store);
  store.flushed = async () => {
    await gate;
    return real();
  };
  let answered = false;
  const pending = api('POST', '/api/v1/clusters', { name: 'x' }).then((r) => {
    answered = true;
    return r;
  });
  for (let i = 0; i < 20; i++) await tick();
  t.equal(answered, false, 'not answered while the commit is outstanding');
  release();
  t.equal((await pending).status, 400, 'answered once it is');
  t.equal(answered, true);
});
