/**
 * Real DHCP clients, servers and relays in the throw-away namespaces of netns.ts: metalboot's
 * server as a child process, busybox udhcpc, ISC dhclient, dnsmasq, dhcrelay, tcpdump. Every
 * process is started through Netns (own process group, killed at cleanup) and every wait is
 * bounded. Nothing here touches the host's interfaces or /etc (dhclient gets its own script).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { DhcpObservation } from '../../src/dhcp/types.js';
import type { ChildConfig } from './dhcp-server-child.js';
import { exited, type Netns, PROJECT_ROOT, skipUnlessRoot, type TestLike, waitForLine } from './netns.js';

export const LAB_TOOLS = ['busybox', 'dhclient', 'dnsmasq', 'dhcrelay', 'tcpdump'] as const;

/** Root, ip(8) and the client/server packages (CI installs them); skips visibly outside CI. */
export function labAvailable(t: TestLike): boolean {
  if (!skipUnlessRoot(t, 'DHCP real-client tests')) return false;
  const missing = LAB_TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length === 0) return true;
  const reason = `DHCP real-client tests need ${missing.join(', ')} (apt-get install busybox isc-dhcp-client dnsmasq-base isc-dhcp-relay tcpdump)`;
  if (process.env.CI) t.fail(reason);
  else t.pass('DHCP real-client tests', { skip: reason });
  return false;
}

const ip = (args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

/** A DHCP client host: no address yet, and (optionally) a MAC of the test's choosing. */
export function makeClientHost(ns: string, mac?: string, ifname = 'eth0'): void {
  ip(['-n', ns, 'addr', 'flush', 'dev', ifname]);
  if (mac) {
    ip(['-n', ns, 'link', 'set', ifname, 'down']);
    ip(['-n', ns, 'link', 'set', ifname, 'address', mac]);
    ip(['-n', ns, 'link', 'set', ifname, 'up']);
  }
}

/** Adds a namespace joined to `peerNs` by a veth pair; it is deleted with the topology. */
export function addLinkedNamespace(net: Netns, peerNs: string, peerIf: string, peerCidr: string): string {
  const ns = `${net.namespaces[0]}x${net.namespaces.length}`;
  ip(['netns', 'add', ns]);
  net.namespaces.push(ns);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', peerIf, 'netns', peerNs]);
  ip(['-n', peerNs, 'addr', 'add', peerCidr, 'dev', peerIf]);
  ip(['-n', peerNs, 'link', 'set', peerIf, 'up']);
  ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  return ns;
}

export function addRoute(ns: string, cidr: string, via: string): void {
  ip(['-n', ns, 'route', 'add', cidr, 'via', via]);
}

export interface DhcpChild {
  process: ChildProcess;
  observations: DhcpObservation[];
  stop(): Promise<Record<string, number> | undefined>;
}

const TS_LOADER_URL = import.meta.resolve('@tapjs/typescript/import');

/**
 * Runs `main(arg)` of a TypeScript helper module in Node inside `ns`, like Netns.spawnNode, but
 * without tap's coverage in the child (see below).
 */
export function spawnNodeMain(net: Netns, ns: string, modulePath: string, arg: unknown): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TS_NODE_TRANSPILE_ONLY: '1',
    TS_NODE_PROJECT: join(PROJECT_ROOT, 'tsconfig.json'),
  };
  delete env.NODE_OPTIONS;
  // tap's process-info hook joins every spawned node (through NODE_OPTIONS) and records its V8
  // coverage, which for these ts-node children maps to the wrong lines and garbles the whole
  // run's report. It honours an explicit opt-out.
  env._TAPJS_PROCESSINFO_COVERAGE_ = '0';
  const code = `const m = await import(${JSON.stringify(join(PROJECT_ROOT, modulePath))}); await m.main(${JSON.stringify(JSON.stringify(arg))});`;
  return net.spawn(ns, [process.execPath, `--import=${TS_LOADER_URL}`, '--input-type=module', '-e', code], env);
}

export async function startDhcpChild(net: Netns, ns: string, cfg: ChildConfig): Promise<DhcpChild> {
  const child = spawnNodeMain(net, ns, 'test/helpers/dhcp-server-child.ts', cfg);
  const observations: DhcpObservation[] = [];
  let stats: Record<string, number> | undefined;
  let buffered = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('OBS ')) observations.push(JSON.parse(line.slice(4)) as DhcpObservation);
      if (line.startsWith('STATS ')) stats = JSON.parse(line.slice(6)) as Record<string, number>;
    }
  });
  await waitForLine(child, /^(READY|FAILED.*)$/, 30_000).then((m) => {
    if (m[1] !== 'READY') throw new Error(`DHCP server child: ${m[1]}`);
  });
  return {
    process: child,
    observations,
    async stop() {
      if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      await exited(child, 5_000);
      return stats;
    },
  };
}

function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function readEnv(file: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1).replace(/^'(.*)'$/, '$1');
  }
  return env;
}

let runs = 0;

/** busybox udhcpc until bound (or ~12 s); returns the environment of its `bound` event. */
export async function udhcpc(net: Netns, ns: string, tmp: string, extra: string[] = []) {
  const out = join(tmp, `udhcpc-${++runs}.env`);
  // The script only records: it must not configure anything (the tests read the lease itself).
  const s = script(join(tmp, `udhcpc-${runs}.sh`), `[ "$1" = bound ] && env > '${out}'\nexit 0`);
  const r = await net.run(
    ns,
    ['busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '4', '-T', '2', '-A', '1', '-s', s, ...extra],
    20_000,
  );
  return { env: readEnv(out), result: r };
}

/** ISC dhclient with its own script (the default one rewrites the shared /etc/resolv.conf). */
export async function dhclient(net: Netns, ns: string, tmp: string) {
  const n = ++runs;
  const out = join(tmp, `dhclient-${n}.env`);
  const s = script(join(tmp, `dhclient-${n}.sh`), `case "$reason" in BOUND|REBOOT) env > '${out}';; esac\nexit 0`);
  const conf = join(tmp, `dhclient-${n}.conf`);
  writeFileSync(conf, 'timeout 20;\nretry 5;\n');
  const child = net.spawn(ns, [
    'dhclient',
    '-4',
    '-d',
    '-1',
    '-v',
    '-cf',
    conf,
    '-sf',
    s,
    '-lf',
    join(tmp, `dhclient-${n}.leases`),
    '-pf',
    join(tmp, `dhclient-${n}.pid`),
    'eth0',
  ]);
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  for (let i = 0; i < 100 && !existsSync(out) && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 100)); // let the script finish writing
  if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  await exited(child, 3_000);
  return { env: readEnv(out), log };
}

/** dnsmasq as a plain DHCP server (no DNS, no boot options), NOTES.md gotcha 15. */
export async function startDnsmasq(net: Netns, ns: string, tmp: string, range: string): Promise<ChildProcess> {
  const [first, last] = range.split('-');
  const child = net.spawn(ns, [
    'dnsmasq',
    '--no-daemon',
    '--conf-file=',
    '--port=0',
    '--bind-interfaces',
    '--interface=eth0',
    `--dhcp-range=${first},${last},255.255.255.0,1h`,
    `--dhcp-leasefile=${join(tmp, 'dnsmasq.leases')}`,
    `--pid-file=${join(tmp, 'dnsmasq.pid')}`,
    '--user=root',
    '--log-dhcp',
    '--log-facility=-',
    '--no-ping',
  ]);
  await waitForStderr(child, /DHCP, IP range/, 10_000);
  return child;
}

/** ISC dhcrelay from `downIf` (clients) to `server` via `upIf`. */
export async function startRelay(net: Netns, ns: string, tmp: string, downIf: string, upIf: string, server: string) {
  const child = net.spawn(ns, [
    'dhcrelay',
    '-4',
    '-d',
    '-pf',
    join(tmp, 'dhcrelay.pid'),
    '-id',
    downIf,
    '-iu',
    upIf,
    server,
  ]);
  await waitForStderr(child, /Sending on\s+Socket\/fallback|Listening on/, 10_000);
  return child;
}

/** tcpdump writing a pcap; stop() returns `tcpdump -vv -r` text for independent decoding. */
export async function capture(net: Netns, ns: string, tmp: string, filter: string) {
  const file = join(tmp, `capture-${++runs}.pcap`);
  const child = net.spawn(ns, ['tcpdump', '-i', 'eth0', '-U', '--immediate-mode', '-Z', 'root', '-w', file, filter]);
  await waitForStderr(child, /listening on/, 10_000);
  return {
    async stop(): Promise<string> {
      await new Promise((r) => setTimeout(r, 300));
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGINT');
      await exited(child, 3_000);
      return spawnSync('tcpdump', ['-n', '-vv', '-r', file], { encoding: 'utf8', timeout: 10_000 }).stdout;
    },
  };
}

function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${pattern}: ${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) done();
    };
    const onExit = () => done(new Error(`exited before ${pattern}: ${seen}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
