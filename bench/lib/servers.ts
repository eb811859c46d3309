// Starting the servers under test inside a pair's server namespace: metalboot (the built CLI, as
// a user runs it), and the Debian reference servers with configs written here. Every server gets
// its own directory for logs, pid files and state; all of them serve the same asset files.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IFNAME, pinning, SERVER_IP, type Pair } from './netns.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(PROJECT_ROOT, 'dist/cli/main.js');
export const TS_LOADER = import.meta.resolve('@tapjs/typescript/import');
/** Dynamic pool of every DHCP server under test (reservations for the storm live in 10.250.1-15.x). */
export const DHCP_POOL = { first: '10.250.16.1', last: '10.250.255.254', mask: '255.255.0.0' };

export interface Running {
  name: string;
  child: ChildProcess;
  pid: number;
  dir: string;
  log: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `file` until `pattern` shows up (bounded); fails early when the process exits. */
export async function waitForLog(
  file: string,
  pattern: RegExp,
  child: ChildProcess,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (pattern.test(text)) return;
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${text.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${text.slice(-3000)}`);
    await sleep(100);
  }
}

/** Polls an HTTP URL from the client namespace with curl until it answers (bounded). */
export async function waitForHttp(
  pair: Pair,
  url: string,
  child: ChildProcess,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      pair.run(pair.client, ['curl', '-s', '-o', '/dev/null', '--max-time', '2', url], 5_000);
      return;
    } catch {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
      await sleep(200);
    }
  }
}

function prepareDir(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  return dir;
}

export interface MetalbootOptions {
  name: string;
  root: string;
  assetsDir: string;
  token: string;
  port: number;
  /** Authoritative DHCP on the pair's interface. */
  dhcp: boolean;
  tftp: boolean;
  /** Existing data directory (seeded registry); default <dir>/data. */
  dataDir?: string;
  /** Write a V8 CPU profile (node --cpu-prof) into this directory at exit. */
  profileDir?: string;
  /** Write /tmp/perf-<pid>.map (node --perf-basic-prof) so `perf` can name JIT-compiled functions. */
  perfMap?: boolean;
  /** Another metalboot checkout/build to run instead of this one (its dist/cli/main.js, its templates). */
  productRoot?: string;
  /**
   * `--http-workers`. Absent: 1 when the servers are pinned to one CPU (a second process there only
   * competes for it: the pinned scenarios measure what they always did), else `auto` (one per CPU).
   */
  httpWorkers?: number | 'auto';
  /** `--database` (a postgres:// URL); absent: SQLite in the data directory. */
  database?: string;
  /** taskset -c list for this instance; absent: the server namespace's pinning. */
  cpus?: string;
  /** The server's address in its namespace (a second segment's pair is re-addressed); default SERVER_IP. */
  serverIp?: string;
  /** `--dhcp-range` and `--dhcp-router`; default DHCP_POOL on 10.250.0.0/16. */
  dhcpRange?: { first: string; last: string };
}

export async function startMetalboot(pair: Pair, o: MetalbootOptions): Promise<Running & { base: string }> {
  const dir = prepareDir(o.root, o.name);
  const log = path.join(dir, 'metalboot.log');
  const ip = o.serverIp ?? SERVER_IP;
  const base = `http://${ip}:${o.port}`;
  const args = [
    'serve',
    '--listen',
    `${ip}:${o.port}`,
    '--advertise-url',
    base,
    '--tftp-listen',
    o.tftp ? `${ip}:69` : 'off',
  ];
  if (o.database) args.push('--database', o.database);
  if (o.dhcp)
    args.push(
      '--dhcp',
      'authoritative',
      '--interface',
      IFNAME,
      '--dhcp-range',
      `${(o.dhcpRange ?? DHCP_POOL).first}-${(o.dhcpRange ?? DHCP_POOL).last}`,
      '--dhcp-router',
      ip,
    );
  const root = o.productRoot ?? PROJECT_ROOT;
  // Talos event sink / kernel-log receiver: on, as by default, but on ports of this instance's
  // own (several instances share a namespace in the render and scale scenarios; a second one on
  // the default ports would start without listeners and do less work per config).
  const serveJs = fs.readFileSync(path.join(root, 'dist/cli/commands/serve.js'), { encoding: 'utf8', flag: 'r' });
  if (serveJs.includes('events-listen')) {
    const off = (o.port - 8080) * 10;
    args.push('--events-listen', `${ip}:${14002 + off}`, '--kmsg-listen', `${ip}:${14001 + off}`);
  }
  const node = [process.execPath];
  if (o.profileDir) node.push('--cpu-prof', `--cpu-prof-dir=${o.profileDir}`);
  if (o.perfMap) node.push('--perf-basic-prof');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    METALBOOT_DATA_DIR: o.dataDir ?? path.join(dir, 'data'),
    METALBOOT_ASSETS_DIR: o.assetsDir,
    METALBOOT_API_TOKEN: o.token,
    // The load generator is one address standing for hundreds of machines: lift the per-source caps
    // (the totals stay) so a scenario measures throughput, not the cap. Older builds ignore these.
    METALBOOT_HTTP_MAX_CONNECTIONS_PER_SOURCE: '4096',
    METALBOOT_TFTP_MAX_TRANSFERS_PER_SOURCE: '1000',
    // One load generator plays thousands of machines from one address: no request could be tied
    // to its MAC (--config-binding), so the bench measures the install path as first-request.
    METALBOOT_CONFIG_BINDING: 'first-request',
    METALBOOT_HTTP_WORKERS: String(o.httpWorkers ?? (pinning.server ? 1 : 'auto')),
    // MB_* variables reach the server untouched: knobs of candidate builds under test (--product).
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MB_'))),
  };
  const child = pair.spawn(pair.server, [...node, path.join(root, 'dist/cli/main.js'), ...args], {
    env,
    cwd: root,
    logFile: log,
    cpus: o.cpus,
  });
  await waitForLog(log, /metalboot ready/, child, `metalboot ${o.name}`, 60_000);
  const startup = fs.readFileSync(log, 'utf8');
  if (/not started|EADDRINUSE/.test(startup))
    throw new Error(`metalboot ${o.name} started without part of itself:\n${startup.slice(0, 3000)}`);
  return { name: o.name, child, pid: child.pid as number, dir, log, base };
}

export interface DnsmasqOptions {
  name: string;
  root: string;
  dhcp: boolean;
  /** `mac,ip` reservations. */
  hosts?: Array<[string, string]>;
  /** TFTP root (the iPXE binaries); absent: no TFTP. */
  tftpRoot?: string;
  /** Where iPXE is sent (user class iPXE). */
  ipxeUrl?: string;
}

export async function startDnsmasq(pair: Pair, o: DnsmasqOptions): Promise<Running> {
  const dir = prepareDir(o.root, o.name);
  const log = path.join(dir, 'dnsmasq.log');
  const hostsFile = path.join(dir, 'hosts');
  fs.writeFileSync(hostsFile, `${(o.hosts ?? []).map(([mac, ip]) => `${mac},${ip}`).join('\n')}\n`);
  // NOTES.md: port=0 (no DNS), no /etc/dnsmasq.conf, user=root, bind-interfaces. Tuned as an
  // operator would for a boot storm: no ICMP probe before each offer (metalboot and Kea do not
  // probe either), lease and TFTP limits above the load.
  const args = [
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${IFNAME}`,
    '--bind-interfaces',
    '--user=root',
    `--pid-file=${path.join(dir, 'dnsmasq.pid')}`,
    `--log-facility=${log}`,
  ];
  if (o.dhcp) {
    args.push(
      `--dhcp-range=${DHCP_POOL.first},${DHCP_POOL.last},${DHCP_POOL.mask},1h`,
      `--dhcp-hostsfile=${hostsFile}`,
      `--dhcp-leasefile=${path.join(dir, 'leases')}`,
      '--dhcp-lease-max=1000000',
      '--no-ping',
      '--dhcp-authoritative',
      `--dhcp-option=option:router,${SERVER_IP}`,
      '--dhcp-userclass=set:ipxe,iPXE',
      '--dhcp-boot=tag:!ipxe,ipxe.efi',
    );
    if (o.ipxeUrl) args.push(`--dhcp-boot=tag:ipxe,${o.ipxeUrl}`);
  }
  if (o.tftpRoot) args.push('--enable-tftp', `--tftp-root=${o.tftpRoot}`, '--tftp-max=1000');
  // Diagnostics only (not used by the reported runs): e.g. BENCH_DNSMASQ_EXTRA=--leasefile-ro.
  if (process.env.BENCH_DNSMASQ_EXTRA) args.push(...process.env.BENCH_DNSMASQ_EXTRA.split(' ').filter(Boolean));
  const child = pair.spawn(pair.server, args, { logFile: path.join(dir, 'stdout.log') });
  await waitForLog(log, /started, version/, child, 'dnsmasq');
  await sleep(300);
  return { name: o.name, child, pid: child.pid as number, dir, log };
}

export async function startKea(pair: Pair, o: { name: string; root: string }): Promise<Running> {
  const dir = prepareDir(o.root, o.name);
  const log = path.join(dir, 'kea.log');
  const config = {
    Dhcp4: {
      'interfaces-config': { interfaces: [IFNAME], 'dhcp-socket-type': 'raw' },
      'lease-database': { type: 'memfile', persist: true, name: path.join(dir, 'leases4.csv'), 'lfc-interval': 0 },
      'valid-lifetime': 3600,
      authoritative: true,
      subnet4: [
        {
          id: 1,
          subnet: '10.250.0.0/16',
          pools: [{ pool: `${DHCP_POOL.first} - ${DHCP_POOL.last}` }],
          'option-data': [{ name: 'routers', data: SERVER_IP }],
          'next-server': SERVER_IP,
          'boot-file-name': 'ipxe.efi',
        },
      ],
      loggers: [{ name: 'kea-dhcp4', output_options: [{ output: log }], severity: 'INFO' }],
    },
  };
  const file = path.join(dir, 'kea-dhcp4.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  const env = { PATH: process.env.PATH, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir, KEA_LOGGER_DESTINATION: log };
  const child = pair.spawn(pair.server, ['kea-dhcp4', '-c', file], { env, logFile: path.join(dir, 'stdout.log') });
  await waitForLog(log, /DHCP4_STARTED/, child, 'kea-dhcp4');
  return { name: o.name, child, pid: child.pid as number, dir, log };
}

export async function startTftpdHpa(pair: Pair, o: { name: string; root: string; tftpRoot: string }): Promise<Running> {
  const dir = prepareDir(o.root, o.name);
  const log = path.join(dir, 'stdout.log');
  // As bench/tftp/run.ts: -L foreground, -s chroot into the root, -u nobody.
  const child = pair.spawn(pair.server, ['in.tftpd', '-L', '-s', o.tftpRoot, '-a', `${SERVER_IP}:69`, '-u', 'nobody'], {
    logFile: log,
  });
  await sleep(500);
  if (child.exitCode !== null) throw new Error(`in.tftpd exited: ${fs.readFileSync(log, 'utf8')}`);
  return { name: o.name, child, pid: child.pid as number, dir, log };
}

/**
 * nginx with sendfile serving the same files: assets under /assets/, pre-rendered scripts and
 * configs (the files metalboot would render) from `www`. /ipxe?mac=<mac> maps to a file by MAC.
 */
export async function startNginx(
  pair: Pair,
  o: { name: string; root: string; www: string; assetsDir: string; port: number },
): Promise<Running & { base: string }> {
  const dir = prepareDir(o.root, o.name);
  const conf = path.join(dir, 'nginx.conf');
  const sep = '(?:%3[Aa]|:)';
  fs.writeFileSync(
    conf,
    `worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 30s;
  keepalive_requests 10000;
  access_log ${dir}/access.log;
  types { text/plain ipxe; application/yaml yaml; }
  default_type application/octet-stream;
  map $arg_mac $mb_mac {
    "~^([0-9a-fA-F]{2})${sep}([0-9a-fA-F]{2})${sep}([0-9a-fA-F]{2})${sep}([0-9a-fA-F]{2})${sep}([0-9a-fA-F]{2})${sep}([0-9a-fA-F]{2})$" "$1$2$3$4$5$6";
    default "none";
  }
  server {
    listen ${SERVER_IP}:${o.port} reuseport backlog=4096;
    root ${o.www};
    location = /boot.ipxe { default_type text/plain; add_header cache-control no-store; }
    location = /ipxe { default_type text/plain; add_header cache-control no-store; try_files /scripts/$mb_mac.ipxe =404; }
    location /config/ { default_type application/yaml; add_header cache-control no-store; }
    location /assets/ { alias ${o.assetsDir}/; }
  }
}
`,
  );
  const child = pair.spawn(pair.server, ['nginx', '-c', conf, '-e', `${dir}/error.log`], {
    logFile: path.join(dir, 'stdout.log'),
  });
  const base = `http://${SERVER_IP}:${o.port}`;
  await waitForHttp(pair, `${base}/boot.ipxe`, child, 'nginx');
  return { name: o.name, child, pid: child.pid as number, dir, log: path.join(dir, 'error.log'), base };
}

/** A fastify "hello world" (same fastify as metalboot, logger off): the render scenario's yardstick. */
export async function startHello(
  pair: Pair,
  o: { name: string; root: string; port: number },
): Promise<Running & { base: string }> {
  const dir = prepareDir(o.root, o.name);
  const log = path.join(dir, 'stdout.log');
  const env = {
    PATH: process.env.PATH,
    TS_NODE_TRANSPILE_ONLY: '1',
    TS_NODE_PROJECT: path.join(PROJECT_ROOT, 'tsconfig.json'),
  };
  const child = pair.spawn(
    pair.server,
    [
      process.execPath,
      `--import=${TS_LOADER}`,
      path.join(PROJECT_ROOT, 'bench/lib/hello-server.ts'),
      SERVER_IP,
      String(o.port),
    ],
    { env, cwd: PROJECT_ROOT, logFile: log },
  );
  await waitForLog(log, /HELLO READY/, child, 'hello server');
  return { name: o.name, child, pid: child.pid as number, dir, log, base: `http://${SERVER_IP}:${o.port}` };
}
