/**
 * A real PostgreSQL server for one test file: `initdb` into a temporary directory (as the
 * `postgres` OS user when the tests run as root: PostgreSQL refuses to run as root), `pg_ctl start`
 * listening on 127.0.0.1 at a free port and on a unix socket inside that directory only, password
 * authentication (scram) with a random password. Stopped (`pg_ctl stop -m immediate`) and removed
 * in the file's teardown and, should the process end first, on exit. No system service, no fixed port.
 *
 * fsync is off: these databases live as long as one test file, and durability across a power
 * loss is not what the tests are about (a commit is still a commit to every other connection).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { freePort } from './spawn-server.js';

/** The directory holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<newest>/bin. */
export function findPostgresBin(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  if (onPath) {
    const dir = onPath.replace(/\/initdb$/, '');
    if (existsSync(join(dir, 'pg_ctl'))) return dir;
    // Debian's /usr/bin has wrappers for some tools only: fall through to the versioned directory.
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter(
      (v) =>
        /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** Why a test file cannot start PostgreSQL here (undefined: it can). */
export function missingPostgres(): string | undefined {
  if (!findPostgresBin()) return 'PostgreSQL server binaries (initdb, pg_ctl) not found';
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0)
    return 'running as root but there is no postgres user to run the server as';
  return undefined;
}

export interface PostgresServer {
  port: number;
  /**
   * The directory of the server's unix socket: a URL with `?host=<this>` reaches the server from
   * inside a network namespace, where 127.0.0.1 is the namespace's own loopback.
   */
  socketDir: string;
  /** A URL for database `db` (default: the `postgres` maintenance database). */
  url(db?: string): string;
  /** A fresh database, empty or a copy of `template` (which nobody may be connected to); returns its URL. */
  createDatabase(template?: string): Promise<string>;
  /** Run one statement as the superuser in the maintenance database. */
  admin(text: string, params?: unknown[]): Promise<pg.QueryResult>;
  /**
   * Stop the server and keep its data directory and port (an outage): `immediate` cuts every
   * connection as a crash would, `fast` ends them with admin_shutdown (57P01).
   */
  stopServer(mode?: 'immediate' | 'fast'): void;
  /** Start it again after stopServer, on the same port with the same data. */
  startServer(): void;
  stop(): void;
}

const USER = 'postgres';
const START_ATTEMPTS = 3;

/** Start a server for this test file; it is stopped in `t`'s teardown. */
export async function startPostgres(t: Test): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found');
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? { uid: idOf('-u'), gid: idOf('-g') } : undefined;
  // As root, under /tmp: the postgres user must reach the directory (a root-only TMPDIR would not do).
  const dir = mkdtempSync(join(asRoot ? '/tmp' : tmpdir(), 'metalboot-pg-'));
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('hex');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(pwfile, owner.uid, owner.gid);
  const run = (tool: string, args: string[], timeout = 60_000) => {
    const argv = asRoot ? ['runuser', '-u', USER, '--', join(bin, tool), ...args] : [join(bin, tool), ...args];
    return execFileSync(argv[0]!, argv.slice(1), {
      cwd: dir,
      timeout,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '20'], 30_000);
    } catch {
      // not running (a start that failed) or already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  // Killed by a signal (a runner's timeout), 'exit' never fires: stop the server, then die of the signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => {
      stop();
      process.kill(process.pid, signal);
    });

  run('initdb', [
    '-D',
    data,
    '-U',
    USER,
    '--pwfile',
    pwfile,
    '--auth',
    'scram-sha-256',
    '-E',
    'UTF8',
    '--locale',
    'C',
    '--no-sync',
  ]);
  rmSync(pwfile);
  let port = 0;
  const pgStart = () => {
    const opts = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    run('pg_ctl', ['start', '-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', opts], 45_000);
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      pgStart();
      break;
    } catch (err) {
      // The free port may have been taken between the probe and the start: try another, a few times.
      if (attempt >= START_ATTEMPTS)
        throw new Error(`pg_ctl start failed: ${(err as { stderr?: Buffer }).stderr ?? err}`);
    }
  }
  const url = (db = 'postgres') => `postgres://${USER}:${password}@127.0.0.1:${port}/${db}`;
  const pool = new pg.Pool({ connectionString: url(), max: 2 });
  pool.on('error', () => undefined); // the server going away under an idle connection
  t.teardown(async () => {
    await pool.end();
    stop();
  });
  let n = 0;
  // PostgreSQL 15 copies a small template fastest file by file (its default logs every block).
  const version = Number((await pool.query('SHOW server_version_num')).rows[0].server_version_num);
  const strategy = version >= 150000 ? ' STRATEGY FILE_COPY' : '';
  return {
    port,
    socketDir: dir,
    url,
    async createDatabase(template) {
      const name = `t_${++n}`;
      const from = template ? ` TEMPLATE ${new URL(template).pathname.slice(1)}` : '';
      if (from && !/^ TEMPLATE t_\d+$/.test(from)) throw new Error(`not a database of this server: ${template}`);
      // Names of our own making (identifiers cannot be parameters).
      await pool.query(`CREATE DATABASE ${name}${from}${strategy}`);
      return url(name);
    },
    admin: (text, params) => pool.query(text, params),
    stopServer(mode = 'immediate') {
      run('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '30'], 45_000);
    },
    startServer() {
      // The port was ours a moment ago; nothing else in these tests binds a port it did not probe.
      pgStart();
    },
    stop,
  };
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
}
