// A PostgreSQL server for one bench run (the logic of test/helpers/postgres-server.ts without tap:
// bench code does not import from test/). `initdb` into a directory under the run's work dir as the
// `postgres` OS user (PostgreSQL refuses to run as root), `pg_ctl start` listening on a unix socket
// only (`listen_addresses=''`): the metalboot instances run in network namespaces of their own,
// which cannot reach the host's 127.0.0.1, but a socket file is reachable from every namespace.
// The port only names the socket (a free one, as the tests pick). Stopped (`pg_ctl stop -m
// immediate`) and removed at exit, on SIGINT/SIGTERM/SIGHUP, and by the scenario's finally.
//
// Durability: `synchronous_commit=off` by default. metalboot's SQLite runs WAL with
// `synchronous=NORMAL` — a commit is not fsynced; what the last moments wrote can be lost on a
// power cut, never on a process crash — and this is PostgreSQL's nearest equivalent (its WAL is
// flushed within ~3 × wal_writer_delay; fsync stays on). `--pg-sync on` measures PostgreSQL's
// default (an fsync per commit) instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { createCore } from '../../src/core/index.js';
import { loadTemplates } from '../../src/core/boot/templates.js';
import type { Machine } from '../../src/core/types.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { machineIdentity } from './dhcp-client.js';
import { type BenchContract, clusterInput, hostnameOf, machineInput } from './registry.js';
import { PROJECT_ROOT } from './servers.js';

const USER = 'postgres';

/** The directory holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<newest>/bin. */
export function findPostgresBin(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim().replace(/\/initdb$/, '') : '';
  if (onPath && fs.existsSync(path.join(onPath, 'pg_ctl'))) return onPath;
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const v = fs
    .readdirSync(root)
    .filter((d) => /^\d+$/.test(d) && fs.existsSync(path.join(root, d, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return v ? path.join(root, v, 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface BenchPostgres {
  /** The server's main process (postmaster), for /proc sampling. */
  pid: number;
  version: string;
  /** A fresh empty database; returns its URL (unix socket, password in it). */
  createDatabase(): Promise<string>;
  stop(): void;
}

export interface BenchPostgresOptions {
  root: string;
  /** taskset -c list for the server and its backends; absent: not pinned. */
  cpus?: string;
  /** synchronous_commit (see the top of this file). */
  synchronousCommit: 'on' | 'off';
}

export async function startBenchPostgres(o: BenchPostgresOptions): Promise<BenchPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql');
  const asRoot = process.getuid?.() === 0;
  if (asRoot && spawnSync('id', ['-u', USER]).status !== 0)
    throw new Error('running as root but there is no postgres user to run the server as');
  const uid = asRoot ? Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })) : undefined;
  const gid = asRoot ? Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })) : undefined;
  const dir = fs.mkdtempSync(path.join(o.root, 'postgres-'));
  // The instances run as root and only need the socket; the postgres user needs the directory.
  fs.chmodSync(dir, 0o755);
  if (uid !== undefined) fs.chownSync(dir, uid, gid!);
  const data = path.join(dir, 'data');
  const password = randomBytes(18).toString('hex');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (uid !== undefined) fs.chownSync(pwfile, uid, gid!);
  const run = (tool: string, args: string[], timeout = 60_000) => {
    const pin = o.cpus ? ['taskset', '-c', o.cpus] : [];
    const argv = [...pin, ...(asRoot ? ['runuser', '-u', USER, '--'] : []), path.join(bin, tool), ...args];
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
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  try {
    run('initdb', ['-D', data, '-U', USER, '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8']);
    fs.rmSync(pwfile);
    const port = await freePort();
    // Sized for a few instances of 10 pooled connections each, and for a 10,000-machine registry.
    const opts = [
      `-c listen_addresses='' -k ${dir} -p ${port}`,
      `-c synchronous_commit=${o.synchronousCommit} -c max_connections=100`,
      '-c shared_buffers=256MB -c max_wal_size=2GB -c checkpoint_timeout=15min',
    ].join(' ');
    run('pg_ctl', ['start', '-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-o', opts], 90_000);
    const url = (db: string) => `postgres://${USER}:${password}@localhost:${port}/${db}?host=${dir}`;
    const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const admin = new pg.Pool({ connectionString: url('postgres'), max: 1 });
    admin.on('error', () => undefined);
    const version = String((await admin.query('SHOW server_version')).rows[0].server_version);
    let n = 0;
    return {
      pid,
      version,
      async createDatabase() {
        const name = `bench_${++n}`;
        await admin.query(`CREATE DATABASE ${name}`); // a name of our own making
        return url(name);
      },
      stop() {
        void admin.end().catch(() => undefined);
        stop();
      },
    };
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * `seedRegistry` for a PostgreSQL database: the cluster and the first machine through metalboot's
 * core, the others as the same document with their own MAC, hostname and UUID and a `registered`
 * event, through the PostgreSQL store (registering 10,000 through the API would take minutes).
 * Returns the milliseconds it took.
 */
export async function seedPostgres(
  url: string,
  assetsDir: string,
  first: number,
  count: number,
  contract: BenchContract = 'v1.13',
): Promise<number> {
  const started = performance.now();
  const store = await PostgresStore.open(url);
  try {
    const core = createCore({
      store,
      templates: loadTemplates(path.join(PROJECT_ROOT, 'templates')),
      assetsDir,
      advertiseUrl: 'http://10.250.0.1:8080',
      configTokenTtlMs: 3 * 3600_000,
      discoveryRetrySeconds: 30,
      configBinding: 'first-request',
    });
    const actor = { actor: 'bench', sourceIp: null };
    await core.clusters.create(clusterInput(contract), actor);
    const template = await core.machines.register(machineInput(first) as never, actor);
    const insert = async (i: number) => {
      const id = machineIdentity(i);
      const m: Machine = { ...template, mac: id.mac, uuid: id.uuid, hostname: hostnameOf(i), labels: {}, lastSeen: {} };
      await store.machines.insert(m);
      await store.events.append({
        mac: m.mac,
        at: m.createdAt,
        kind: 'registered',
        detail: { cluster: m.cluster, role: m.role, hostname: m.hostname },
        sourceIp: null,
        state: 'registered',
      });
    };
    // Eight at a time: the pool's connections kept busy, bounded in flight.
    let next = first + 1;
    const end = first + count;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < end) await insert(next++);
      }),
    );
    return performance.now() - started;
  } finally {
    await store.close();
  }
}
