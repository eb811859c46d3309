/**
 * `metalboot serve --database postgres://…` (the built CLI) when PostgreSQL goes away under it and
 * comes back: boot routes answer 503 with Retry-After (iPXE and Talos retry), the API says the
 * database is unavailable, /healthz stays 200 and reports it, /readyz answers 503; the process
 * lives on, and once the server is back the same requests succeed without a restart, with what
 * was registered before still there. And an unreachable database at start: exit code 1, where and
 * why, never the password. Without PostgreSQL the file skips visibly; under CI it fails.
 */
import t from 'tap';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { ipxeBoot, runCli, serve, talosctlOutput } from '../helpers/cli-run.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { freePort, spawnCollecting, TEST_LISTENERS } from '../helpers/spawn-server.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const MAC = '52:54:00:15:0f:01';
const LATER = '52:54:00:15:0f:02';

/** Polls until `check` is true: at most `tries` times, `ms` apart. */
async function until(what: string, check: () => Promise<boolean>, tries = 80, ms = 250): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`${what}: not within ${tries} tries`);
}

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test('an unreachable database at start: exit code 1, where and why, never the password', async (t) => {
    const dir = t.testdir({});
    const closed = await freePort(); // nothing listens there
    const env = {
      ...process.env,
      ...TEST_LISTENERS,
      METALBOOT_DATA_DIR: join(dir, 'data'),
      METALBOOT_ASSETS_DIR: join(dir, 'assets'),
      METALBOOT_API_TOKEN: 'pg-test-token-0123456789',
      METALBOOT_TFTP_LISTEN: 'off',
    };
    const url = `postgres://metalboot:sw0rdfish-pw@127.0.0.1:${closed}/metalboot`;
    const down = spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${await freePort()}`, '--database', url], env);
    t.equal(await down.exited, 1, 'exit code 1 (README: --database)');
    const out = down.stdout() + down.stderr();
    t.match(out, `cannot connect to PostgreSQL at 127.0.0.1:${closed}/metalboot`, 'where');
    t.match(out, /ECONNREFUSED/, 'why');
    t.notMatch(out, 'sw0rdfish-pw', 'never the password');
    t.notMatch(out, 'metalboot ready');
  });

  t.test('PostgreSQL stopped under a running serve: 503s, no crash; back without a restart', async (t) => {
    const url = await server.createDatabase();
    // Commits on disk when they return, as in production (the test server runs without; an
    // immediate stop could undo the last ones).
    await server.admin(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = on`);
    const password = new URL(url).password;
    const a = await serve(t, { args: ['--database', url] });
    const auth = { authorization: `Bearer ${a.token}` };
    const gen = talosctlOutput(join(a.dir, 'gen'));
    const created = await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], a.env);
    t.equal(created.code, 0, created.stderr);
    const added = await runCli(
      ['machine', 'add', MAC, '--hostname', 'worker-1', '--role', 'worker', '--cluster', 'prod'],
      a.env,
    );
    t.equal(added.code, 0, added.stderr);
    const script = await ipxeBoot(a.url, MAC);
    const configPath = /https?:\/\/\S+(\/config\/\S+)/.exec(script)?.[1];
    t.ok(configPath, 'the install script names its config URL');
    t.match(await (await fetch(`${a.url}/healthz`)).json(), { status: 'ok', database: { kind: 'postgres', ok: true } });
    t.equal((await fetch(`${a.url}/readyz`)).status, 200, 'ready');

    server.stopServer('immediate');

    const ipxe = await fetch(`${a.url}/ipxe?mac=${MAC}&arch=x86_64&platform=efi`);
    t.equal(ipxe.status, 503, '/ipxe: 503');
    t.equal(ipxe.headers.get('retry-after'), '5', 'with Retry-After');
    t.match(await ipxe.json(), { error: 'unavailable', message: /database \(PostgreSQL\) is unavailable/ });
    const config = await fetch(`${a.url}${configPath}`);
    t.equal(config.status, 503, '/config: 503');
    t.equal(config.headers.get('retry-after'), '5');
    const generic = await fetch(`${a.url}/boot.ipxe`);
    t.equal(generic.status, 503, '/boot.ipxe (asks who is booting): 503');
    t.equal(generic.headers.get('retry-after'), '5');
    const list = await fetch(`${a.url}/api/v1/machines`, { headers: auth });
    t.equal(list.status, 503, 'the API: 503');
    t.match(
      await list.json(),
      { error: 'unavailable', message: /database \(PostgreSQL\) is unavailable/ },
      'saying why',
    );
    const shown = await runCli(['machine', 'show', MAC], a.env);
    t.not(shown.code, 0, 'the CLI fails');
    t.match(shown.stderr, /unavailable/, 'and says the database is unavailable');
    // The health answer is reused for a second: ask until the one from before the stop has aged out.
    let health: { status: number; body: any } = { status: 0, body: undefined };
    await until('/healthz reports the database down', async () => {
      const res = await fetch(`${a.url}/healthz`);
      health = { status: res.status, body: await res.json() };
      return health.status !== 200 || health.body.status !== 'ok';
    });
    t.equal(health.status, 200, '/healthz stays 200 (liveness: do not restart a process waiting for its database)');
    t.match(health.body, {
      status: 'degraded',
      database: { kind: 'postgres', ok: false, error: /ECONNREFUSED|terminat|connect/ },
    });
    const ready = await fetch(`${a.url}/readyz`);
    t.equal(ready.status, 503, '/readyz: 503');
    t.equal(ready.headers.get('retry-after'), '5');
    t.match(await ready.json(), { status: 'unavailable', database: { ok: false } });
    t.equal(a.srv.child.exitCode, null, 'the process is alive');

    server.startServer();
    await until('/readyz answers 200 again', async () => (await fetch(`${a.url}/readyz`)).status === 200);
    const back = await fetch(`${a.url}${configPath}`);
    t.equal(back.status, 200, 'the config URL issued before the outage works');
    t.match(await back.text(), 'hostname: worker-1');
    t.match(await ipxeBoot(a.url, MAC), /talos\.config=/, '/ipxe answers again');
    t.equal((await fetch(`${a.url}/boot.ipxe`)).status, 200, '/boot.ipxe answers again');
    const again = await runCli(['machine', 'show', MAC, '-o', 'json'], a.env);
    t.equal(again.code, 0, again.stderr);
    t.match(JSON.parse(again.stdout), { mac: MAC, hostname: 'worker-1' }, 'registered before the outage, still there');
    const later = await runCli(
      ['machine', 'add', LATER, '--hostname', 'worker-2', '--role', 'worker', '--cluster', 'prod'],
      a.env,
    );
    t.equal(later.code, 0, `registered after: ${later.stderr}`);
    const edited = await fetch(`${a.url}/api/v1/machines/${MAC}`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: 'worker-1b' }),
    });
    t.equal(edited.status, 200, 'edited after');
    t.match(await edited.json(), { hostname: 'worker-1b' });
    t.match(await (await fetch(`${a.url}/healthz`)).json(), { status: 'ok', database: { ok: true } });

    // Every connection of this metalboot ended by the server while idle: the pool opens new ones.
    const db = new URL(url).pathname.slice(1);
    const metalboot = "datname = $1 AND application_name = 'metalboot'";
    const killed = await server.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${metalboot}`, [
      db,
    ]);
    t.ok(killed.rowCount! >= 1, `pg_terminate_backend: ${killed.rowCount} connections`);
    await until(
      'the backends are gone',
      async () =>
        (await server.admin(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${metalboot}`, [db])).rows[0].n ===
        0,
    );
    const listed = await fetch(`${a.url}/api/v1/machines`, { headers: auth });
    t.equal(listed.status, 200, 'the API answers on new connections');
    t.equal((await listed.json()).items.length, 2);
    t.match(await ipxeBoot(a.url, LATER), /talos\.config=/, 'and /ipxe');

    const out = a.srv.stdout() + a.srv.stderr();
    t.notMatch(out, password, 'the password is never logged');
    t.match(out, /store unavailable; answered 503/, 'the 503s are logged');
    t.equal(a.srv.child.exitCode, null, 'still alive');
  });
});
