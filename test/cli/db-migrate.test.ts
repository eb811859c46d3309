/**
 * `metalboot db migrate` (the built CLI) on SQLite and on a PostgreSQL server this file starts:
 * an empty store is brought to the newest schema, a second run says it is up to date, a newer
 * schema is refused; and `doctor`'s database check: the server's and the schema's version, FAIL
 * with the fix when the database is unreachable or newer than this build. Without PostgreSQL the
 * PostgreSQL parts skip visibly; under CI they fail.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { runCli } from '../helpers/cli-run.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { freePort } from '../helpers/spawn-server.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const PG_LATEST = Math.max(...PG_MIGRATIONS.map((m) => m.version));
const SQLITE_LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

/** doctor with nothing of its own to bind or reach but the database: the rest of its report is not asserted here. */
async function doctor(args: string[], env: Record<string, string> = {}) {
  const port = await freePort();
  return runCli(
    [
      'doctor',
      '--server',
      `http://127.0.0.1:${port}`,
      '--listen',
      `127.0.0.1:${port}`,
      '--tftp-listen',
      'off',
      '--events-listen',
      'off',
      '--kmsg-listen',
      'off',
      ...args,
    ],
    env,
  );
}

t.test('SQLite in the data directory: created as serve would, migrated, then up to date', async (t) => {
  const dir = t.testdir({});
  const dataDir = join(dir, 'data');
  const first = await runCli(['db', 'migrate', '--data-dir', dataDir]);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stdout, `SQLite ${join(dataDir, 'metalboot.db')}: schema version 0 → ${SQLITE_LATEST}\n`);
  t.equal(statSync(join(dataDir, 'metalboot.db')).mode & 0o777, 0o600, 'the file is 0600');
  t.equal(statSync(dataDir).mode & 0o777, 0o700, 'its directory 0700');
  const again = await runCli(['db', 'migrate'], { METALBOOT_DATA_DIR: dataDir });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, `schema version ${SQLITE_LATEST}, up to date`);

  const r = await doctor(['--data-dir', dataDir]);
  t.match(
    r.stdout,
    new RegExp(
      `^database\\n {2}ok {4}SQLite .*metalboot\\.db: mode 0600, schema version ${SQLITE_LATEST} \\(current\\)$`,
      'm',
    ),
  );

  const newer = join(dir, 'newer');
  mkdirSync(newer);
  const db = new Database(join(newer, 'metalboot.db'));
  db.pragma(`user_version = ${SQLITE_LATEST + 1}`);
  db.close();
  const refused = await runCli(['db', 'migrate', '--data-dir', newer]);
  t.equal(refused.code, 5);
  t.match(refused.stderr, /schema version \d+ is newer than this metalboot understands/);
  const d = await doctor(['--data-dir', newer]);
  t.equal(d.code, 7, 'doctor exits 7');
  t.match(
    d.stdout,
    /FAIL {2}SQLite .*metalboot\.db: mode 0\d+, schema version \d+ is newer than this metalboot understands/,
  );
});

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test('an empty database is migrated, a second run is up to date; doctor reports it', async (t) => {
    const url = await server.createDatabase();
    const first = await runCli(['db', 'migrate', '--database', url]);
    t.equal(first.code, 0, first.stderr);
    t.match(
      first.stdout,
      new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:\\d+/t_\\d+: schema version 0 → ${PG_LATEST}\\n$`),
    );
    const again = await runCli(['db', 'migrate'], { METALBOOT_DATABASE: url });
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, `schema version ${PG_LATEST}, up to date`);
    t.notMatch(first.stdout + first.stderr + again.stdout, new URL(url).password, 'no password printed');

    const r = await doctor(['--database', url]);
    t.match(
      r.stdout,
      new RegExp(
        `^ {2}ok {4}PostgreSQL \\d+[^\\n]* at 127\\.0\\.0\\.1:\\d+/t_\\d+, schema version ${PG_LATEST} \\(current\\)$`,
        'm',
      ),
    );
    const fresh = await doctor(['--database', await server.createDatabase()]);
    t.match(fresh.stdout, /info {2}PostgreSQL .*, no metalboot schema yet\n {8}→ serve creates it at start/);

    // A schema from a newer metalboot: migrate refuses, doctor fails with the fix.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("INSERT INTO metalboot_migrations (version, description) VALUES ($1, 'from the future')", [
      PG_LATEST + 1,
    ]);
    await c.end();
    const refused = await runCli(['db', 'migrate', '--database', url]);
    t.equal(refused.code, 5);
    t.match(
      refused.stderr,
      /cannot migrate the database at .*: database schema version \d+ is newer than this metalboot understands/,
    );
    const d = await doctor(['--database', url]);
    t.equal(d.code, 7);
    t.match(
      d.stdout,
      /FAIL {2}PostgreSQL .* schema version \d+ is newer than this metalboot understands \(\d+\)\n {8}→ serve refuses it: upgrade metalboot/,
    );
  });

  t.test('an unreachable database: migrate exits 4, doctor FAILs with the fix', async (t) => {
    const url = `postgres://metalboot:hunter2-pw@127.0.0.1:${await freePort()}/metalboot`;
    const m = await runCli(['db', 'migrate', '--database', url]);
    t.equal(m.code, 4);
    t.match(m.stderr, /error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/metalboot: .*ECONNREFUSED/);
    const r = await doctor([], { METALBOOT_DATABASE: url });
    t.equal(r.code, 7, 'doctor exits 7');
    t.match(
      r.stdout,
      /^database\n {2}FAIL {2}cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/metalboot: .*\n {8}→ serve will not start/m,
    );
    t.notMatch(m.stderr + r.stdout + r.stderr, 'hunter2-pw', 'no password printed');
  });
});

t.test('db migrate refuses a --database that is not a PostgreSQL URL', async (t) => {
  const r = await runCli(['db', 'migrate', '--database', 'mysql://x@y/z']);
  t.equal(r.code, 1);
  t.match(r.stderr, /--database must be a postgres:\/\/ or postgresql:\/\/ URL/);
});
