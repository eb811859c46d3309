/**
 * `metalboot serve --database postgres://…` (the built CLI) on a PostgreSQL server this file starts:
 * two instances on one database see each other's machines and tokens; the setting comes from the
 * flag, METALBOOT_DATABASE or metalboot.yaml; an unreachable server fails the start with a message
 * and exit code 1. Without PostgreSQL the file skips visibly; under CI it fails.
 */
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { ipxeBoot, runCli, serve, talosctlOutput } from '../helpers/cli-run.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { freePort, spawnCollecting, TEST_LISTENERS } from '../helpers/spawn-server.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const MAC = '52:54:00:15:00:01';
const readyLine = (out: string) => JSON.parse(out.split('\n').find((l) => l.includes('metalboot ready'))!);

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test('two serve instances on one database: registered on A, seen and booted on B', async (t) => {
    const url = await server.createDatabase();
    const password = new URL(url).password;
    const a = await serve(t, { args: ['--database', url] });
    const ready = readyLine(a.srv.stdout());
    t.match(ready.store, /^PostgreSQL at 127\.0\.0\.1:\d+\/t_\d+$/, 'the ready line names the store');
    t.notMatch(a.srv.stdout() + a.srv.stderr(), password, 'the password is never logged');
    t.notOk(existsSync(join(a.dataDir, 'metalboot.db')), 'no SQLite file');

    const gen = talosctlOutput(join(a.dir, 'gen'));
    const created = await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], a.env);
    t.equal(created.code, 0, created.stderr);
    const added = await runCli(
      ['machine', 'add', MAC, '--hostname', 'worker-1', '--role', 'worker', '--cluster', 'prod'],
      a.env,
    );
    t.equal(added.code, 0, added.stderr);

    // B: another port, another data directory, the database from the environment.
    const b = await serve(t, { env: { METALBOOT_DATABASE: url } });
    const shown = await runCli(['machine', 'show', MAC, '-o', 'json'], b.env);
    t.equal(shown.code, 0, shown.stderr);
    t.match(JSON.parse(shown.stdout), { mac: MAC, hostname: 'worker-1', cluster: 'prod' }, 'B sees what A registered');

    // The install script from A carries a config token; B accepts it (the token lives in the database).
    const script = await ipxeBoot(a.url, MAC);
    const configUrl = /https?:\/\/\S+\/config\/\S+/.exec(script)?.[0];
    t.ok(configUrl, 'the script from A names the config URL');
    const onB = configUrl!.replace(/^https?:\/\/[^/]+/, b.url);
    const config = await fetch(onB);
    t.equal(config.status, 200, `B serves the config for A's token (${new URL(onB).pathname})`);
    t.match(await config.text(), 'hostname: worker-1');
    const events = await runCli(['machine', 'events', MAC, '-o', 'json'], b.env);
    t.match(events.stdout, /config/, "B's timeline shows what A and B served");
    const metrics = await fetch(`${b.url}/metrics`);
    t.equal(metrics.status, 200, '/metrics answers on PostgreSQL');
    t.match(await metrics.text(), /^metalboot_machines\{.*\} 1$/m, 'and counts the machine');
    a.srv.child.kill('SIGTERM');
    t.equal(await a.srv.exited, 0, 'A shuts down cleanly (its pool closed)');
    t.equal((await runCli(['machine', 'show', MAC], b.env)).code, 0, 'B carries on without A');
  });

  t.test('an unreachable database fails the start: message, exit code 1; a non-postgres URL is refused', async (t) => {
    const dir = t.testdir({});
    const port = await freePort();
    const closed = await freePort(); // nothing listens there
    const env = {
      ...process.env,
      ...TEST_LISTENERS,
      METALBOOT_DATA_DIR: join(dir, 'data'),
      METALBOOT_ASSETS_DIR: join(dir, 'assets'),
      METALBOOT_API_TOKEN: 'pg-test-token-0123456789',
      METALBOOT_TFTP_LISTEN: 'off',
    };
    const file = join(dir, 'metalboot.yaml');
    writeFileSync(file, `database: postgres://metalboot:hunter2-pw@127.0.0.1:${closed}/metalboot\n`);
    const down = spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${port}`, '--config', file], env);
    t.equal(await down.exited, 1, 'exit code 1');
    const out = down.stdout() + down.stderr();
    t.match(
      out,
      `cannot connect to PostgreSQL at 127.0.0.1:${closed}/metalboot`,
      'says where it tried (from metalboot.yaml)',
    );
    t.match(out, /ECONNREFUSED/, 'and why');
    t.notMatch(out, 'hunter2-pw', 'never the password');
    t.notMatch(out, 'metalboot ready');

    const bad = spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${port}`, '--database', 'mysql://u:p@h/db'], env);
    t.equal(await bad.exited, 1);
    t.match(bad.stdout() + bad.stderr(), '--database must be a postgres:// or postgresql:// URL');
  });
});
