/**
 * `metalboot db copy` (the built CLI) from a SQLite store filled through the Store API into a
 * PostgreSQL server this file starts: everything readable through the API is the same on the
 * target (ids included), later appends get larger ids, a non-empty target is refused without
 * --force and replaced with it (the same result twice), and bad sources and targets are refused
 * with nothing written. Without PostgreSQL the file skips visibly; under CI it fails.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { loadSecretBox } from '../../src/support/secret-box.js';
import { runCli } from '../helpers/cli-run.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { freePort } from '../helpers/spawn-server.js';
import { BMC_PASSWORD, fillStore, MACS, storeContent } from '../helpers/store-content.js';
import { at, audit, event } from '../helpers/store-conformance/fixtures.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

async function content(url: string) {
  const store = await PostgresStore.open(url);
  try {
    return await storeContent(store);
  } finally {
    await store.close();
  }
}

/** The tables of the database's public schema: none means nothing was written. */
async function tablesIn(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    return res.rows.map((r) => r.tablename);
  } finally {
    await c.end();
  }
}

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);
  const dir = t.testdir({});
  const dataDir = join(dir, 'data');
  const file = join(dataDir, 'metalboot.db');
  const sqlite = new SqliteStore(file);
  await fillStore(sqlite, dataDir);
  const expected = await storeContent(sqlite);
  await sqlite.close();
  const maxEvent = Math.max(...expected.since.map((e) => e.id));
  const maxAudit = Math.max(...expected.audit.map((e) => e.id));
  const maxUnattributed = Math.max(...expected.unattributed.map((e) => e.id));
  const target = await server.createDatabase();

  t.test(
    'into an empty database: every repository reads the same, and appends go on past the copied ids',
    async (t) => {
      const r = await runCli(['db', 'copy', '--from', file, '--to', target]);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, /^copied .*metalboot\.db → PostgreSQL at 127\.0\.0\.1:\d+\/t_\d+\n/);
      for (const [table, n] of [
        ['clusters', 2],
        ['machines', 4],
        ['machine_bmc', 1],
        ['machine_events', 8],
        ['audit_log', 3],
        ['leases', 2],
        ['talos_seen_events', 2],
        ['talos_unattributed_events', 2],
        ['machine_progress', 2],
      ] as const)
        t.match(r.stdout, new RegExp(`^ {2}${table} +${n}$`, 'm'), `${table}: ${n} row(s)`);
      t.notMatch(r.stdout + r.stderr, new URL(target).password, 'the password is never printed');

      t.same(await content(target), expected, 'lists, pages, counts and lookups are equal');
      const store = await PostgresStore.open(target);
      t.teardown(() => store.close());
      const bmc = await store.bmc.get(MACS[0]!);
      t.equal(
        loadSecretBox(dataDir).open(bmc!.passwordSealed, MACS[0]!),
        BMC_PASSWORD,
        'the sealed password opens with the same secrets.key',
      );
      t.equal(
        await store.talosEvents.markSeen(MACS[0]!, 'cu9v1s0000000000000a'),
        false,
        'Talos event ids are remembered',
      );
      const e = await store.events.append(event(MACS[1]!, 'config-served', 90));
      t.ok(e.id > maxEvent, `a new event's id (${e.id}) is above every copied one (${maxEvent})`);
      const a = await store.audit.append(audit('machine.update', 91));
      t.ok(a.id > maxAudit, `a new audit entry's id (${a.id}) is above every copied one (${maxAudit})`);
      await store.talosEvents.recordUnattributed({
        at: at(92),
        peerIp: '10.0.0.78',
        eventId: 'y',
        type: 't',
        payload: {},
      });
      const u = (await store.talosEvents.listUnattributed()).at(-1)!;
      t.ok(u.id > maxUnattributed, 'and an unattributed Talos event');
    },
  );

  t.test('a non-empty target is refused without --force, and left as it was', async (t) => {
    const before = await content(target);
    const r = await runCli(['db', 'copy', '--from', file, '--to', target]);
    t.equal(r.code, 3, 'exit code 3 (conflict)');
    t.match(r.stderr, /error: the target at 127\.0\.0\.1:\d+\/t_\d+ is not empty \(.*machines.*\); nothing was copied/);
    t.match(r.stderr, /hint: add --force/);
    t.same(await content(target), before, 'unchanged');
  });

  t.test('--force replaces the content; twice gives the same result', async (t) => {
    // --to from METALBOOT_DATABASE (what the compose profile's metalboot-pg has set)
    const first = await runCli(['db', 'copy', '--from', file, '--force'], { METALBOOT_DATABASE: target });
    t.equal(first.code, 0, first.stderr);
    t.match(first.stdout, /\(replaced \d+ row\(s\)\)/);
    t.same(await content(target), expected, 'what was appended on the target is gone, the source is there');
    // --from the data directory: its metalboot.db
    const second = await runCli(['db', 'copy', '--from', dataDir, '--to', target, '--force', '-o', 'json']);
    t.equal(second.code, 0, second.stderr);
    t.match(JSON.parse(second.stdout), { tables: [{ table: 'clusters', rows: 2 }], replaced: 26 });
    t.same(await content(target), expected, 'the same content');
    const store = await PostgresStore.open(target);
    t.teardown(() => store.close());
    t.ok((await store.events.append(event(MACS[1]!, 'config-served', 95))).id > maxEvent, 'appends still go past');
  });

  t.test('from PostgreSQL into PostgreSQL; never onto itself', async (t) => {
    const other = await server.createDatabase();
    const r = await runCli(['db', 'copy', '--from', target, '--to', other]);
    t.equal(r.code, 0, r.stderr);
    t.same(await content(other), await content(target));
    const self = await runCli(['db', 'copy', '--from', other, '--to', other, '--force']);
    t.equal(self.code, 1);
    t.match(self.stderr, /--from and --to are the same database/);
    t.same(await content(other), await content(target), 'still there');
  });

  t.test('bad sources and targets: a clear error, its exit code, nothing written', async (t) => {
    const empty = await server.createDatabase();
    const garbage = join(dir, 'not-a-db');
    writeFileSync(garbage, 'hello, this is not SQLite\n'.repeat(100));
    const old = join(dir, 'old.db');
    const oldDb = new Database(old);
    migrate(oldDb, MIGRATIONS.slice(0, MIGRATIONS.length - 1)); // one version behind
    oldDb.close();
    const closed = await freePort();
    const cases: [string, string[], number, RegExp][] = [
      ['a missing file', ['--from', join(dir, 'nope.db'), '--to', empty], 1, /no SQLite database at .*nope\.db/],
      [
        'a file that is not SQLite',
        ['--from', garbage, '--to', empty],
        1,
        /not-a-db is not a readable SQLite database/,
      ],
      [
        'an older schema',
        ['--from', old, '--to', empty],
        1,
        new RegExp(
          `schema version ${MIGRATIONS.length - 1}; this metalboot copies schema version ${MIGRATIONS.length}[\\s\\S]*db migrate`,
        ),
      ],
      ['a malformed --to', ['--from', file, '--to', 'postgres://u:p@[::1'], 1, /--to is not a valid URL/],
      [
        'a --to of another kind',
        ['--from', file, '--to', 'mysql://u:p@h/db'],
        1,
        /--to must be a postgres:\/\/ or postgresql:\/\/ URL/,
      ],
      ['a malformed --from URL', ['--from', 'postgres://u:p@[::1', '--to', empty], 1, /--from is not a valid URL/],
      [
        'an unreachable --to',
        ['--from', file, '--to', `postgres://postgres:secret-pw@127.0.0.1:${closed}/x`],
        4,
        /cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/x/,
      ],
    ];
    for (const [what, args, code, message] of cases) {
      const r = await runCli(['db', 'copy', ...args]);
      t.equal(r.code, code, `${what}: exit code ${code}`);
      t.match(r.stderr, message, what);
      t.notMatch(r.stderr, /secret-pw|u:p@/, `${what}: no password in the message`);
    }
    t.same(await tablesIn(empty), [], 'the target was never written');
  });
});
