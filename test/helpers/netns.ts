// Throw-away network namespaces for tests that need real network clients
// (tftp-hpa, atftp, DHCP clients...) without touching the host network.
//
// Every namespace is named `mbt<pid>x<n>...`: links are created *directly*
// inside the namespaces (`ip link add ... netns X`), so nothing appears on the
// host, and a later run can recognise and remove leftovers of a dead process.
//
// Running Node code inside a namespace: a socket lives in the namespace of
// the thread that created it and Node cannot setns(), so the code has to run
// in a child started by `ip netns exec`. `spawnNode` starts
//   ip netns exec <ns> node --import=<tap's TypeScript loader> --input-type=module -e <code>
// The loader is the ts-node ESM hook tap itself uses (@tapjs/typescript, in
// transpile-only mode), so `code` can `await import('<abs path>/src/x.ts')`
// straight from the sources; start-up costs about 0.5 s. The child should
// print a line the test waits for (see `waitForLine`) once it is ready.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { destroyNamespace, killGroup, sweepStale } from '../../scripts/netns-cleanup.js';

/** What the helper needs from a tap Test (kept structural to stay decoupled from tap's types). */
export interface TestLike {
  teardown(fn: () => unknown): void;
  pass(message: string, extra: { skip?: string }): unknown;
  fail(message: string): unknown;
}

export interface NetnsHost {
  /** Namespace name, for `ip netns exec`. */
  ns: string;
  /** Interface name inside the namespace. */
  ifname: string;
  /** IPv4 address without prefix, e.g. "10.252.0.1". */
  address: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface NetnsOptions {
  /** Number of hosts (namespaces with one interface each). Default 2. */
  hosts?: number;
  /** First three octets; host i gets `${subnet}.${i + 1}/24`. Default "10.252.0". */
  subnet?: string;
  /** Join the hosts through a Linux bridge in its own namespace (required for > 2 hosts). */
  bridge?: boolean;
}

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// An "import"-only export, so resolve it the ESM way (require.resolve cannot).
const TS_LOADER_URL = import.meta.resolve('@tapjs/typescript/import');
const NAME_PREFIX = 'mbt';
const MAX_OUTPUT = 1 << 20;

let counter = 0;
const liveTopologies = new Set<Netns>();
/** stdout of children started here, so waitForLine also sees lines printed before it was called. */
const stdoutHistory = new WeakMap<ChildProcess, { text: string }>();

/** True when this process can create namespaces (root and ip(8) present). */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;
}

/**
 * Returns true when netns tests can run. Otherwise, outside CI, records a
 * visible skip with the reason; in CI (which runs as root) it fails instead,
 * so a broken CI setup can never turn these tests into silent skips.
 */
export function skipUnlessRoot(t: TestLike, what = 'network namespace tests'): boolean {
  if (canUseNetns()) return true;
  const reason = `${what} need root (uid 0) and iproute2's ip; run the tests as root`;
  if (process.env.CI) t.fail(`${reason} (CI must run as root, refusing to skip)`);
  else t.pass(what, { skip: reason });
  return false;
}

function runSync(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function cleanupAllSync(): void {
  for (const topology of [...liveTopologies]) topology.cleanupSync();
}

let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupAllSync();
      // Re-raise: our listener is gone, so the remaining ones (tap's
      // signal-exit, which saw ours and so held back) or the default action
      // now end the process instead of letting a half-torn-down test go on.
      process.kill(process.pid, signal);
    });
  }
}

export class Netns {
  readonly hosts: NetnsHost[] = [];
  readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  /** Kills tracked children (by pid), then anything left inside, then deletes the namespaces. */
  cleanupSync(): void {
    for (const child of this.children) if (child.pid && child.exitCode === null) killGroup(child.pid, 'SIGKILL');
    this.children.clear();
    for (const ns of this.namespaces) destroyNamespace(ns);
    liveTopologies.delete(this);
  }

  async cleanup(): Promise<void> {
    // Polite first, so servers can close sockets; bounded, then cleanupSync kills.
    const running = [...this.children].filter((c) => c.pid && c.exitCode === null && c.signalCode === null);
    for (const child of running) killGroup(child.pid as number, 'SIGTERM');
    await Promise.all(running.map((child) => exited(child, 2_000)));
    this.cleanupSync();
  }

  /** Starts `argv` inside `ns` in its own process group; killed at cleanup. */
  spawn(ns: string, argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: 'pipe',
      env,
      cwd: PROJECT_ROOT,
    });
    child.stdin?.end();
    const history = { text: '' };
    stdoutHistory.set(child, history);
    child.stdout?.on('data', (d: Buffer) => (history.text = (history.text + d.toString()).slice(-MAX_OUTPUT)));
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs Node ESM `code` inside `ns`; it may import TypeScript sources (see file header). */
  spawnNode(ns: string, code: string): ChildProcess {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TS_NODE_TRANSPILE_ONLY: '1',
      TS_NODE_PROJECT: path.join(PROJECT_ROOT, 'tsconfig.json'),
    };
    // Drop tap's coverage/process-info hooks: they expect to talk to the tap runner.
    delete env.NODE_OPTIONS;
    // Their coverage would be mapped to the wrong lines by tap's process-info hook: opt out.
    env._TAPJS_PROCESSINFO_COVERAGE_ = '0';
    return this.spawn(ns, [process.execPath, `--import=${TS_LOADER_URL}`, '--input-type=module', '-e', code], env);
  }

  /** Runs a command to completion inside `ns`, killing it after `timeoutMs`. */
  async run(ns: string, argv: string[], timeoutMs = 30_000): Promise<RunResult> {
    const child = this.spawn(ns, argv);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-MAX_OUTPUT)));
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-MAX_OUTPUT)));
    // 'exit' can come before the last of stdout was read (a loaded machine cut curl's JSON short):
    // the output is complete at 'close', waited for a bounded time.
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const finished = await exited(child, timeoutMs);
    if (!finished && child.pid) {
      killGroup(child.pid, 'SIGKILL');
      await exited(child, 2_000);
    }
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (bound = setTimeout(resolve, 2_000)))]);
    clearTimeout(bound);
    return { code: child.exitCode, signal: child.signalCode, stdout, stderr, timedOut: !finished };
  }
}

/** Resolves true when `child` exits within `timeoutMs`, false otherwise. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Waits (bounded) for a stdout line matching `pattern`; rejects with the output
 * so far otherwise. For children from Netns.spawn/spawnNode, lines printed
 * before the call count too (the first matching line wins).
 */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = stdoutHistory.get(child)?.text ?? '';
    for (const line of seen.split('\n')) {
      const match = pattern.exec(line);
      if (match) return resolve(match);
    }
    const gone = child.exitCode !== null || child.signalCode !== null;
    if (gone && (!child.stdout || child.stdout.readableEnded || child.stdout.destroyed)) {
      return reject(new Error(`process had exited without printing ${pattern}\nstdout: ${seen}`));
    }
    let stderr = '';
    const finish = (err: Error | undefined, match?: RegExpMatchArray): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('close', onExit);
      if (err) reject(err);
      else resolve(match as RegExpMatchArray);
    };
    const onData = (d: Buffer): void => {
      seen = (seen + d.toString()).slice(-MAX_OUTPUT);
      for (const line of seen.split('\n')) {
        const match = pattern.exec(line);
        if (match) return finish(undefined, match);
      }
    };
    const onErr = (d: Buffer): void => {
      stderr = (stderr + d.toString()).slice(-MAX_OUTPUT);
    };
    const onExit = (): void =>
      finish(new Error(`process exited before printing ${pattern}\nstdout: ${seen}\nstderr: ${stderr}`));
    const timer = setTimeout(
      () =>
        finish(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}\nstdout: ${seen}\nstderr: ${stderr}`)),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    // 'close', not 'exit': it comes after the last stdout data has been read.
    child.once('close', onExit);
  });
}

/**
 * Creates `hosts` namespaces wired by a veth pair (or through a bridge), with
 * addresses `${subnet}.1`, `.2`, ... and loopback up. Cleanup is registered
 * with `t.teardown` and with process exit/signals, and also runs if setup fails.
 */
export async function createNetns(t: TestLike, options: NetnsOptions = {}): Promise<Netns> {
  const hostCount = options.hosts ?? 2;
  const subnet = options.subnet ?? '10.252.0';
  const bridge = options.bridge ?? hostCount !== 2;
  if (hostCount < 1 || hostCount > 200 || (!bridge && hostCount !== 2)) {
    throw new Error('createNetns: without a bridge exactly 2 hosts; with one, 1..200');
  }
  installExitHooks();
  sweepStale(NAME_PREFIX);
  const topology = new Netns();
  liveTopologies.add(topology);
  t.teardown(() => topology.cleanup());
  const base = `${NAME_PREFIX}${process.pid}x${++counter}`;
  try {
    for (let i = 0; i < hostCount; i++) {
      const ns = `${base}h${i}`;
      runSync(['netns', 'add', ns]);
      topology.namespaces.push(ns);
      runSync(['-n', ns, 'link', 'set', 'lo', 'up']);
      topology.hosts.push({ ns, ifname: 'eth0', address: `${subnet}.${i + 1}` });
    }
    if (bridge) {
      const switchNs = `${base}sw`;
      runSync(['netns', 'add', switchNs]);
      topology.namespaces.push(switchNs);
      runSync(['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
      runSync(['-n', switchNs, 'link', 'set', 'br0', 'up']);
      topology.hosts.forEach((host, i) => {
        runSync([
          'link',
          'add',
          'eth0',
          'netns',
          host.ns,
          'type',
          'veth',
          'peer',
          'name',
          `port${i}`,
          'netns',
          switchNs,
        ]);
        runSync(['-n', switchNs, 'link', 'set', `port${i}`, 'master', 'br0', 'up']);
      });
    } else {
      const [a, b] = topology.hosts as [NetnsHost, NetnsHost];
      runSync(['link', 'add', 'eth0', 'netns', a.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.ns]);
    }
    for (const host of topology.hosts) {
      runSync(['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', host.ifname]);
      runSync(['-n', host.ns, 'link', 'set', host.ifname, 'up']);
    }
  } catch (err) {
    topology.cleanupSync();
    throw err;
  }
  return topology;
}
