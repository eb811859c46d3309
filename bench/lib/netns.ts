// Throw-away network namespaces for the benchmark (adapted from test/helpers/netns.ts; bench code
// must not import from test/). A "pair" is two namespaces joined by one veth: the server side
// `<name>s` (10.250.0.1/16) and the client side `<name>c` (10.250.0.2/16). Pairs are isolated from
// each other and from the host, so metalboot and a reference server can run at the same time with
// the same addresses and ports, each on its own pair, and the load generator (run inside the client
// namespace) cannot tell them apart.
//
// Names are `mbb<pid>x<n>…`: a later run recognises and removes leftovers of a dead process. Every
// child is started in its own process group and killed by pid; namespaces are deleted at exit,
// on SIGINT/SIGTERM/SIGHUP, and when setup fails.
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import { destroyNamespace, killGroup, sweepStale } from '../../scripts/netns-cleanup.js';

const PREFIX = 'mbb';

export const SERVER_IP = '10.250.0.1';
export const CLIENT_IP = '10.250.0.2';
export const PREFIX_LEN = 16;
export const IFNAME = 'eth0';

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** `ip -n <ns> -batch`: many commands in one process (adding hundreds of addresses). */
export function ipBatch(ns: string, commands: string[]): void {
  if (commands.length === 0) return;
  const r = spawnSync('ip', ['-n', ns, '-batch', '-'], {
    input: `${commands.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr}`);
}

const live = new Set<Pair>();
let hooks = false;
function installHooks(): void {
  if (hooks) return;
  hooks = true;
  process.on('exit', () => {
    for (const p of [...live]) p.destroySync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const p of [...live]) p.destroySync();
      process.exit(130);
    });
  }
}

let counter = 0;

/**
 * CPU pinning of everything started in server and client namespaces (taskset -c lists). On a
 * small machine this gives the server under test — metalboot or a reference — the same core every
 * round, and the load generator the other: without it, two servers running side by side end up
 * on different vCPUs and one of them is measurably slower for the whole run.
 */
export const pinning: { server?: string; client?: string } = {};

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Write stdout+stderr to this file instead of pipes (servers that log a lot). */
  logFile?: string;
  /** Pin to these CPUs (taskset -c list). */
  cpus?: string;
}

export class Pair {
  readonly server: string;
  readonly client: string;
  private readonly children = new Set<ChildProcess>();

  constructor(readonly name: string) {
    this.server = `${name}s`;
    this.client = `${name}c`;
  }

  /** Starts `argv` inside `ns` (its own process group); killed at destroy. */
  spawn(ns: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    let stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
    let fd: number | undefined;
    if (opts.logFile) {
      fd = fs.openSync(opts.logFile, 'a');
      stdio = ['ignore', fd, fd];
    }
    // `ip netns exec` execs the command: the child's pid is the server's pid (for /proc sampling).
    const cpus = opts.cpus ?? (ns === this.server ? pinning.server : ns === this.client ? pinning.client : undefined);
    const pin = cpus ? ['taskset', '-c', cpus] : [];
    const child = spawn('ip', ['netns', 'exec', ns, ...pin, ...argv], {
      detached: true,
      stdio,
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (fd !== undefined) fs.closeSync(fd);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs a short command inside `ns` to completion (bounded). */
  run(ns: string, argv: string[], timeoutMs = 10_000): string {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${ns} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  }

  /** SIGTERM first (servers close cleanly, node writes its --cpu-prof), SIGKILL after `graceMs`. */
  async stop(child: ChildProcess, graceMs = 5_000): Promise<void> {
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
  }

  destroySync(): void {
    for (const c of this.children) if (c.pid && c.exitCode === null) killGroup(c.pid, 'SIGKILL');
    this.children.clear();
    destroyNamespace(this.server);
    destroyNamespace(this.client);
    live.delete(this);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c, 3_000)));
    this.destroySync();
  }
}

/** Creates a server/client namespace pair joined by a veth (addresses above, no routes out). */
export function createPair(): Pair {
  installHooks();
  sweepStale(PREFIX);
  const pair = new Pair(`${PREFIX}${process.pid}x${++counter}`);
  live.add(pair);
  try {
    for (const ns of [pair.server, pair.client]) {
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['link', 'add', IFNAME, 'netns', pair.server, 'type', 'veth', 'peer', 'name', IFNAME, 'netns', pair.client]);
    for (const [ns, addr] of [
      [pair.server, SERVER_IP],
      [pair.client, CLIENT_IP],
    ] as const) {
      ip(['-n', ns, 'addr', 'add', `${addr}/${PREFIX_LEN}`, 'dev', IFNAME]);
      ip(['-n', ns, 'link', 'set', IFNAME, 'up']);
      // Limited broadcast (DHCP) needs a route; this one never leaves the pair.
      ip(['-n', ns, 'route', 'add', '255.255.255.255/32', 'dev', IFNAME]);
    }
  } catch (err) {
    pair.destroySync();
    throw err;
  }
  return pair;
}

export function canUseNetns(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;
}
