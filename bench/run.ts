// metalboot boot-storm benchmarks against dnsmasq, Kea, tftpd-hpa and nginx (issue 6).
//
//   npm run bench -- <storm|http-bulk|tftp|dhcp|perfdhcp|render|scale|all> [--machines N] [--rounds R]
//                    [--profile] [--perf] [--duration S] [--connections C] [--concurrency C] [--quick]
//
// Everything runs inside network namespaces this process creates (bench/lib/netns.ts: pairs of a
// server and a client namespace joined by a veth, 10.250.0.1 ↔ 10.250.0.2); nothing binds or sends
// on the host's interfaces. metalboot and its reference run at the same time on separate pairs and
// the rounds alternate between them, so background load on this shared machine hits both alike;
// medians of the rounds are reported. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  DhcpResult,
  HttpBulkResult,
  Job,
  JobResult,
  RegisterResult,
  RenderResult,
  StormResult,
  TftpResult,
} from './lib/jobs.js';
import { canUseNetns, CLIENT_IP, createPair, ipBatch, IFNAME, pinning, type Pair } from './lib/netns.js';
import { Sampler, type ResourceReport } from './lib/proc.js';
import { perfAvailable, perfDuring } from './lib/perf-record.js';
import { printProfile, summariseProfile, type ProfileSummary } from './lib/profile.js';
import {
  clusterInput,
  hostnameOf,
  machineInput,
  makeAssets,
  prerender,
  seedRegistry,
  SIZES,
  stormIp,
  TALOS_VERSION,
  type Assets,
  type BenchContract,
} from './lib/registry.js';
import {
  CLI,
  PROJECT_ROOT,
  startDnsmasq,
  startHello,
  startKea,
  startMetalboot,
  startNginx,
  startTftpdHpa,
  TS_LOADER,
  type Running,
} from './lib/servers.js';
import { fmt, median } from './lib/stats.js';
import { machineIdentity } from './lib/dhcp-client.js';
import { ramp } from './perfdhcp.js';
import { hostile } from './scenarios/hostile.js';
import { postgresScenario } from './scenarios/postgres.js';

// ---- options --------------------------------------------------------------------------------

const SCENARIOS = ['storm', 'http-bulk', 'tftp', 'dhcp', 'perfdhcp', 'render', 'scale', 'hostile', 'postgres'] as const;
/** `all` runs these; `postgres` needs PostgreSQL installed and runs on its own (bench/README.md). */
const IN_ALL = SCENARIOS.filter((s) => s !== 'postgres');
type Scenario = (typeof SCENARIOS)[number];

const argv = process.argv.slice(2);
const scenarioArg = argv[0] ?? '';
const flags = new Map<string, string>();
for (let i = 1; i < argv.length; i++) {
  const a = argv[i] as string;
  if (!a.startsWith('--')) continue;
  const next = argv[i + 1];
  if (next !== undefined && !next.startsWith('--')) {
    flags.set(a.slice(2), next);
    i++;
  } else flags.set(a.slice(2), 'true');
}
const num = (name: string, def: number) => (flags.has(name) ? Number(flags.get(name)) : def);
const QUICK = flags.has('quick');
const PROFILE = flags.has('profile');
/** `--perf`: render only — one extra round under `perf record`, summarised by category (native code included). */
const PERF = flags.has('perf');
const TOKEN = 'bench-admin-token-0123456789abcdef';
/** `--product <dir>`: benchmark another metalboot build (e.g. a copy with a candidate fix). */
const PRODUCT = flags.has('product') ? path.resolve(flags.get('product') as string) : undefined;

// ---- plumbing -------------------------------------------------------------------------------

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-bench-'));
fs.chmodSync(WORK, 0o755); // nginx workers and in.tftpd run as nobody
process.on('exit', () => {
  if (!flags.has('keep')) fs.rmSync(WORK, { recursive: true, force: true });
});
const RESULTS_DIR = path.join(PROJECT_ROOT, 'bench/results');
const PROFILE_DIR = path.join(RESULTS_DIR, 'profiles');

let jobCounter = 0;
/** Pairs a scenario created on the side (A/B variants), destroyed with the scenario. */
const extraPairs: Pair[] = [];
/** When each job's load ran (START → RESULT), µs of CLOCK_MONOTONIC: profiles are cut to these. */
const loadWindows: Array<[number, number]> = [];
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

interface Measured<R extends JobResult> {
  result: R;
  resources: Record<string, ResourceReport>;
  /** UDP datagrams the kernel dropped during the job, per side (socket buffer full, …). */
  udpDrops: { server: number; client: number };
}

/** UDP RcvbufErrors + InErrors of a namespace (/proc/net/snmp is per network namespace). */
function udpDropCounter(pair: Pair, ns: string): number {
  try {
    const lines = pair
      .run(ns, ['cat', '/proc/net/snmp'])
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const [head, vals] = [lines[0]?.split(/\s+/) ?? [], lines[1]?.split(/\s+/) ?? []];
    const get = (k: string) => Number(vals[head.indexOf(k)] ?? 0);
    return get('InErrors');
  } catch {
    return 0;
  }
}

/**
 * Runs one generator job in the pair's client namespace while sampling the given servers from
 * the moment it prints START until its RESULT; bounded by `timeoutMs`.
 */
async function runJob<R extends JobResult>(
  pair: Pair,
  job: Job,
  servers: Running[],
  timeoutMs: number,
): Promise<Measured<R>> {
  const file = path.join(WORK, `job-${++jobCounter}.json`);
  fs.writeFileSync(file, JSON.stringify(job));
  const dropsBefore = { server: udpDropCounter(pair, pair.server), client: udpDropCounter(pair, pair.client) };
  const env = {
    PATH: process.env.PATH,
    TS_NODE_TRANSPILE_ONLY: '1',
    TS_NODE_PROJECT: path.join(PROJECT_ROOT, 'tsconfig.json'),
  };
  const child = pair.spawn(
    pair.client,
    [process.execPath, `--import=${TS_LOADER}`, path.join(PROJECT_ROOT, 'bench/lib/generator.ts'), file],
    { env, cwd: PROJECT_ROOT },
  );
  let out = '';
  let err = '';
  let samplers: Map<string, Sampler> | undefined;
  let resources: Record<string, ResourceReport> = {};
  let startUs = 0;
  const stopSamplers = () => {
    if (!samplers) return;
    resources = Object.fromEntries([...samplers].map(([name, s]) => [name, s.stop()]));
    samplers = undefined;
    loadWindows.push([startUs, nowUs()]);
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (!samplers && /^START$/m.test(out) && Object.keys(resources).length === 0) {
      startUs = nowUs();
      samplers = new Map(servers.map((s) => [s.name, new Sampler(s.pid)]));
    }
    if (/^RESULT /m.test(out)) stopSamplers();
  });
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  stopSamplers();
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`generator (${job.kind}) failed with ${code}:\n${out.slice(-3000)}\n${err.slice(-5000)}`);
  const udpDrops = {
    server: udpDropCounter(pair, pair.server) - dropsBefore.server,
    client: udpDropCounter(pair, pair.client) - dropsBefore.client,
  };
  return { result: JSON.parse(line.slice(7)) as R, resources, udpDrops };
}

/** Runs `rounds` rounds; each round runs every contender once, the order alternating. */
async function alternate<T>(
  rounds: number,
  contenders: Array<{ name: string; run: (round: number) => Promise<T> }>,
  log: (name: string, round: number, r: T) => void,
): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = Object.fromEntries(contenders.map((c) => [c.name, [] as T[]]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const res = await c.run(r);
      out[c.name]!.push(res);
      log(c.name, r, res);
    }
  }
  return out;
}

const say = (s: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
const round2 = (x: number) => Math.round(x * 100) / 100;
const medianOf = <T>(xs: T[], f: (x: T) => number) => median(xs.map(f));
/** The round whose `f` is the median: its per-phase numbers are the ones reported. */
const medianRound = <T>(xs: T[], f: (x: T) => number): T => {
  const m = medianOf(xs, f);
  return xs.find((x) => f(x) === m) as T;
};
const sumRes = (rs: Record<string, ResourceReport>): ResourceReport => {
  const v = Object.values(rs);
  return {
    cpuSeconds: round2(v.reduce((a, r) => a + r.cpuSeconds, 0)),
    sysSeconds: round2(v.reduce((a, r) => a + r.sysSeconds, 0)),
    cpuCores: round2(v.reduce((a, r) => a + r.cpuCores, 0)),
    rssMaxMb: round2(v.reduce((a, r) => a + r.rssMaxMb, 0)),
    rssStartMb: round2(v.reduce((a, r) => a + r.rssStartMb, 0)),
    samples: v[0]?.samples ?? 0,
  };
};

export interface ScenarioReport {
  scenario: Scenario;
  goal: string;
  met: boolean;
  /** One row per comparison for the table. */
  rows: Array<{
    metric: string;
    metalboot: number;
    reference: number;
    referenceName: string;
    ratio: number;
    goal: string;
    met: boolean | null;
  }>;
  /** Human-readable reasons a goal was missed. */
  misses: string[];
  details: Record<string, unknown>;
  profile?: ProfileSummary;
}

let assetsCache: Assets | undefined;
function assets(): Assets {
  assetsCache ??= makeAssets(WORK);
  return assetsCache;
}

async function profileOf(dir: string | undefined, include: RegExp[] = []): Promise<ProfileSummary | undefined> {
  if (!dir) return undefined;
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return undefined;
  // Only the time the load ran: start-up (schema compilation, module loading) stays out.
  fs.writeFileSync(path.join(dir, 'windows.json'), JSON.stringify(loadWindows));
  const s = summariseProfile(path.join(dir, files[0] as string), 25, include, loadWindows);
  printProfile(s);
  return s;
}

function profileDir(scenario: string): string | undefined {
  if (!PROFILE) return undefined;
  const dir = path.join(PROFILE_DIR, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const INCLUSIVE = [
  /^machineScript /,
  /^fetchConfig /,
  /^genericScript /,
  /^assetTransfer /,
  /^renderFresh /,
  /^validateConfig /,
  /^serializeConfig /,
  /^applyPatches /,
  /^structuredClone /,
  /^noteSeen /,
  /^issue /,
  /^record /,
  /^audit /,
  /^append /,
  /^buildCmdline /,
  /^lookup /,
  /^discover /,
  /^reservedIps /,
  /^allocate /,
  /^commit /,
  /^sqliteTransaction /,
  / (pino|sonic-boom|pino-std-serializers)\//,
  / fastify\//,
  / find-my-way\//,
  / ajv\//,
  / yaml\//,
];

// ---- storm ----------------------------------------------------------------------------------

async function storm(): Promise<ScenarioReport> {
  const N = num('machines', QUICK ? 20 : 200);
  const R = num('rounds', QUICK ? 1 : 3);
  const SPREAD = num('spread-ms', 1000);
  const a = assets();
  say(
    `storm: ${N} machines powering on within ${SPREAD} ms (DHCP → TFTP ipxe.efi → DHCP as iPXE → /boot.ipxe → script → kernel ${SIZES.kernel >> 20} MiB → initramfs ${SIZES.initramfs >> 20} MiB → config), ${R} rounds`,
  );
  const mbPair = createPair();
  const refPair = createPair();
  const ips = Array.from({ length: N }, (_, n) => stormIp(n));
  for (const p of [mbPair, refPair])
    ipBatch(
      p.client,
      ips.map((ip) => `addr add ${ip}/32 dev ${IFNAME}`),
    );
  const prof = profileDir('storm');
  try {
    const mb = await startMetalboot(mbPair, {
      productRoot: PRODUCT,
      name: 'mb-storm',
      root: WORK,
      assetsDir: a.dir,
      token: TOKEN,
      port: 8080,
      dhcp: true,
      tftp: true,
      profileDir: prof,
    });
    const reg = await runJob<RegisterResult>(
      mbPair,
      {
        kind: 'register',
        base: mb.base,
        token: TOKEN,
        cluster: clusterInput(),
        machines: ips.map((ip, n) => machineInput(n, ip)),
        concurrency: 4,
      },
      [],
      600_000,
    );
    say(`storm: registered ${reg.result.registered} machines through the API in ${fmt(reg.result.ms)} ms`);
    const www = path.join(WORK, 'www');
    await prerender(www, a.dir, mb.base, N, stormIp);
    const dns = await startDnsmasq(refPair, {
      name: 'dnsmasq-storm',
      root: WORK,
      dhcp: true,
      hosts: ips.map((ip, n) => [machineIdentity(n).mac, ip]),
      tftpRoot: a.ipxeDir,
      ipxeUrl: `${mb.base}/boot.ipxe`,
    });
    const ngx = await startNginx(refPair, { name: 'nginx-storm', root: WORK, www, assetsDir: a.dir, port: 8080 });
    const job = (machines: number): Job => ({
      kind: 'storm',
      serverIp: '10.250.0.1',
      first: 0,
      machines,
      ips: ips.slice(0, machines),
      hostnames: ips.slice(0, machines).map((_, n) => hostnameOf(n)),
      tftpFile: 'ipxe.efi',
      blksize: 1468,
      sizes: SIZES,
      spreadMs: SPREAD,
      deadlineMs: 600_000,
    });
    const contenders = [
      { name: 'metalboot', pair: mbPair, servers: [mb] },
      { name: 'dnsmasq+nginx', pair: refPair, servers: [dns, ngx] },
    ];
    for (const c of contenders) {
      const w = await runJob<StormResult>(c.pair, job(Math.min(20, N)), c.servers, 660_000);
      say(
        `storm warm-up ${c.name}: ${fmt(w.result.wallMs)} ms, ${w.result.failed} failed ${w.result.failures
          .map((f) => `${f.phase}: ${f.error}`)
          .slice(0, 3)
          .join(' | ')}`,
      );
    }
    const rounds = await alternate(
      R,
      contenders.map((c) => ({ name: c.name, run: () => runJob<StormResult>(c.pair, job(N), c.servers, 660_000) })),
      (name, r, m) => {
        const res = sumRes(m.resources);
        say(
          `storm round ${r + 1} ${name}: wall ${fmt(m.result.wallMs)} ms, ${m.result.ok}/${m.result.machines} booted, ${m.result.retries} retries, UDP drops server ${m.udpDrops.server} client ${m.udpDrops.client}, server CPU ${res.cpuSeconds} s (kernel ${res.sysSeconds} s), RSS max ${fmt(res.rssMaxMb)} MB${
            m.result.failures.length
              ? `; failures: ${m.result.failures
                  .slice(0, 3)
                  .map((f) => `#${f.machine} ${f.phase}: ${f.error}`)
                  .join(' | ')}`
              : ''
          }`,
        );
      },
    );
    await mbPair.stop(mb.child);
    const mbR = rounds.metalboot!;
    const refR = rounds['dnsmasq+nginx']!;
    const mbWall = medianOf(mbR, (m) => m.result.wallMs);
    const refWall = medianOf(refR, (m) => m.result.wallMs);
    const mbFailed = mbR.reduce((s, m) => s + m.result.failed, 0);
    const ratio = mbWall / refWall;
    const met = mbFailed === 0 && ratio <= 1.15;
    const misses: string[] = [];
    if (mbFailed) misses.push(`${mbFailed} machines failed to boot from metalboot`);
    if (ratio > 1.15) misses.push(`wall ${fmt(mbWall)} ms vs ${fmt(refWall)} ms = ${ratio.toFixed(2)}× (goal ≤ 1.15×)`);
    const view = (xs: Array<Measured<StormResult>>) => {
      const m = medianRound(xs, (x) => x.result.wallMs);
      return {
        medianWallMs: round2(medianOf(xs, (x) => x.result.wallMs)),
        failed: xs.reduce((s, x) => s + x.result.failed, 0),
        retries: xs.reduce((s, x) => s + x.result.retries, 0),
        phasesOfMedianRound: m.result.phases,
        resourcesOfMedianRound: m.resources,
        rounds: xs.map((x) => ({
          wallMs: round2(x.result.wallMs),
          udpDrops: x.udpDrops,
          ok: x.result.ok,
          failed: x.result.failed,
          retries: x.result.retries,
          failures: x.result.failures,
          resources: x.resources,
        })),
      };
    };
    return {
      scenario: 'storm',
      goal: `${N} machines: 0 failed; wall ≤ 1.15 × (dnsmasq + nginx)`,
      met,
      rows: [
        {
          metric: `wall s, ${N} full boots (failed: ${mbFailed} vs ${refR.reduce((s, m) => s + m.result.failed, 0)})`,
          metalboot: mbWall / 1000,
          reference: refWall / 1000,
          referenceName: 'dnsmasq+nginx',
          ratio,
          goal: '≤ 1.15, 0 failed',
          met,
        },
        {
          metric: 'server CPU s per round',
          metalboot: medianOf(mbR, (m) => sumRes(m.resources).cpuSeconds),
          reference: medianOf(refR, (m) => sumRes(m.resources).cpuSeconds),
          referenceName: 'dnsmasq+nginx',
          ratio:
            medianOf(mbR, (m) => sumRes(m.resources).cpuSeconds) /
            medianOf(refR, (m) => sumRes(m.resources).cpuSeconds),
          goal: 'report',
          met: null,
        },
      ],
      misses,
      details: {
        machines: N,
        rounds: R,
        spreadMs: SPREAD,
        registerMs: round2(reg.result.ms),
        metalboot: view(mbR),
        reference: view(refR),
      },
      profile: await profileOf(prof, INCLUSIVE),
    };
  } finally {
    await mbPair.destroy();
    await refPair.destroy();
  }
}

// ---- http-bulk ------------------------------------------------------------------------------

/** `http-bulk --no-pin`: the comparison an operator makes (issue 17): a 40 MiB file, 40 curls, nothing pinned. */
const UNPINNED_BULK = { file: 'bulk-40m.bin', size: 40 * 1024 * 1024, concurrency: 40 };

function unpinnedBulkFile(assetsDir: string): void {
  const file = path.join(assetsDir, 'talos', TALOS_VERSION, UNPINNED_BULK.file);
  if (fs.existsSync(file) && fs.statSync(file).size === UNPINNED_BULK.size) return;
  const fd = fs.openSync(file, 'w', 0o644);
  for (let left = UNPINNED_BULK.size; left > 0; left -= 1 << 20) fs.writeSync(fd, randomBytes(Math.min(left, 1 << 20)));
  fs.closeSync(fd);
}

async function httpBulk(): Promise<ScenarioReport> {
  // Pinned (the default): metalboot in one process on the server CPU, node's client, the 100 MiB
  // initramfs. Unpinned: metalboot's default workers (one per CPU) against nginx's
  // worker_processes auto, 40 curl processes, a 40 MiB file: both servers with the whole machine.
  const unpinned = !pinning.server;
  const C = num('concurrency', QUICK ? 10 : unpinned ? UNPINNED_BULK.concurrency : 50);
  const R = num('rounds', QUICK ? 1 : 3);
  const a = assets();
  if (unpinned) unpinnedBulkFile(a.dir);
  const size = unpinned ? UNPINNED_BULK.size : SIZES.initramfs;
  say(
    `http-bulk: ${C} concurrent downloads of ${unpinned ? `a ${size >> 20} MiB file by curl, nothing pinned (metalboot's default workers, nginx worker_processes auto)` : `the ${size >> 20} MiB initramfs`}, ${R} rounds`,
  );
  const mbPair = createPair();
  const refPair = createPair();
  const prof = profileDir('http-bulk');
  try {
    const mb = await startMetalboot(mbPair, {
      productRoot: PRODUCT,
      name: 'mb-http',
      root: WORK,
      assetsDir: a.dir,
      token: TOKEN,
      port: 8080,
      dhcp: false,
      tftp: false,
      profileDir: prof,
    });
    const www = path.join(WORK, 'www-bulk');
    fs.mkdirSync(www, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(www, 'boot.ipxe'), '#!ipxe\n');
    const ngx = await startNginx(refPair, { name: 'nginx-bulk', root: WORK, www, assetsDir: a.dir, port: 8080 });
    const url = `http://10.250.0.1:8080/assets/talos/${TALOS_VERSION}/${unpinned ? UNPINNED_BULK.file : 'initramfs-amd64.xz'}`;
    const job = (concurrency: number): Job => ({
      kind: 'http-bulk',
      url,
      concurrency,
      size,
      deadlineMs: 600_000,
      curl: unpinned,
    });
    const contenders = [
      { name: 'metalboot', pair: mbPair, servers: [mb] as Running[] },
      { name: 'nginx', pair: refPair, servers: [ngx] as Running[] },
    ];
    const compare = flags.has('compare') ? path.resolve(flags.get('compare') as string) : undefined;
    if (compare) {
      const vPair = createPair();
      extraPairs.push(vPair);
      const v = await startMetalboot(vPair, {
        productRoot: compare,
        name: 'mb-http-variant',
        root: WORK,
        assetsDir: a.dir,
        token: TOKEN,
        port: 8080,
        dhcp: false,
        tftp: false,
      });
      contenders.push({ name: 'variant', pair: vPair, servers: [v] });
    }
    for (const c of contenders) await runJob<HttpBulkResult>(c.pair, job(Math.min(5, C)), c.servers, 660_000);
    const rounds = await alternate(
      R,
      contenders.map((c) => ({ name: c.name, run: () => runJob<HttpBulkResult>(c.pair, job(C), c.servers, 660_000) })),
      (name, r, m) => {
        const res = sumRes(m.resources);
        say(
          `http-bulk round ${r + 1} ${name}: ${fmt(m.result.mbytePerSec)} MiB/s (wall ${fmt(m.result.wallMs)} ms), ${m.result.failed} failed, server CPU ${res.cpuSeconds} s (kernel ${res.sysSeconds} s), RSS max ${fmt(res.rssMaxMb)} MB`,
        );
      },
    );
    await mbPair.stop(mb.child);
    const mbT = medianOf(rounds.metalboot!, (m) => m.result.mbytePerSec);
    const ngT = medianOf(rounds.nginx!, (m) => m.result.mbytePerSec);
    const rss = Math.max(...rounds.metalboot!.map((m) => m.resources['mb-http']?.rssMaxMb ?? 0));
    const abRows = compare
      ? [
          {
            metric: `A/B: ${compare} MiB/s (the metalboot column)`,
            metalboot: medianOf(rounds.variant!, (m) => m.result.mbytePerSec),
            reference: medianOf(rounds.metalboot!, (m) => m.result.mbytePerSec),
            referenceName: 'metalboot (this build)',
            ratio:
              medianOf(rounds.variant!, (m) => m.result.mbytePerSec) /
              medianOf(rounds.metalboot!, (m) => m.result.mbytePerSec),
            goal: 'report',
            met: null,
          },
          {
            metric: 'A/B: server CPU s per GiB',
            metalboot: medianOf(rounds.variant!, (m) => sumRes(m.resources).cpuSeconds / (m.result.bytes / 1024 ** 3)),
            reference: medianOf(
              rounds.metalboot!,
              (m) => sumRes(m.resources).cpuSeconds / (m.result.bytes / 1024 ** 3),
            ),
            referenceName: 'metalboot (this build)',
            ratio: NaN,
            goal: 'report',
            met: null,
          },
          {
            metric: 'A/B: server RSS max, MB',
            metalboot: Math.max(...rounds.variant!.map((m) => sumRes(m.resources).rssMaxMb)),
            reference: rss,
            referenceName: 'metalboot (this build)',
            ratio: NaN,
            goal: 'report',
            met: null,
          },
        ]
      : [];
    const ngRss = Math.max(...rounds.nginx!.map((m) => sumRes(m.resources).rssMaxMb));
    const failed = rounds.metalboot!.reduce((s, m) => s + m.result.failed, 0);
    const ratio = mbT / ngT;
    const cpuPerGiB = (n: string) =>
      medianOf(rounds[n]!, (m) => sumRes(m.resources).cpuSeconds / (m.result.bytes / 1024 ** 3));
    const misses: string[] = [];
    const wall = (n: string) => medianOf(rounds[n]!, (m) => m.result.wallMs);
    const wallRatio = wall('metalboot') / wall('nginx');
    const rssGoal = unpinned ? 300 : 150; // unpinned: every metalboot process together
    if (unpinned) {
      if (wallRatio > 1.1)
        misses.push(
          `wall ${fmt(wall('metalboot'))} vs ${fmt(wall('nginx'))} ms = ${wallRatio.toFixed(2)}× nginx (goal ≤ 1.1×)`,
        );
    } else if (ratio < 0.9)
      misses.push(`throughput ${fmt(mbT)} vs ${fmt(ngT)} MiB/s = ${ratio.toFixed(2)}× (goal ≥ 0.9×)`);
    if (rss > rssGoal) misses.push(`metalboot RSS peaked at ${fmt(rss)} MB (goal ≤ ${rssGoal} MB)`);
    if (failed) misses.push(`${failed} downloads failed`);
    return {
      scenario: 'http-bulk',
      goal: unpinned
        ? `unpinned, ${C} curl downloads of ${size >> 20} MiB: wall ≤ 1.1 × nginx (worker_processes auto); RSS of all metalboot processes ≤ 300 MB`
        : `${C} concurrent initramfs downloads: throughput ≥ 0.9 × nginx; RSS ≤ 150 MB`,
      met: misses.length === 0,
      rows: [
        ...(unpinned
          ? [
              {
                metric: `wall ms, ${C} × ${size >> 20} MiB (curl), unpinned`,
                metalboot: wall('metalboot'),
                reference: wall('nginx'),
                referenceName: 'nginx (worker_processes auto)',
                ratio: wallRatio,
                goal: '≤ 1.10',
                met: wallRatio <= 1.1,
              },
            ]
          : []),
        {
          metric: `MiB/s, ${C} × ${size >> 20} MiB`,
          metalboot: mbT,
          reference: ngT,
          referenceName: 'nginx',
          ratio,
          goal: unpinned ? 'report' : '≥ 0.90',
          met: unpinned ? null : ratio >= 0.9,
        },
        {
          metric: 'server RSS max, MB',
          metalboot: rss,
          reference: ngRss,
          referenceName: 'nginx',
          ratio: rss / ngRss,
          goal: `metalboot ≤ ${rssGoal} MB`,
          met: rss <= rssGoal,
        },
        {
          metric: 'server CPU s per GiB sent',
          metalboot: cpuPerGiB('metalboot'),
          reference: cpuPerGiB('nginx'),
          referenceName: 'nginx',
          ratio: cpuPerGiB('metalboot') / cpuPerGiB('nginx'),
          goal: 'report',
          met: null,
        },
        ...abRows,
      ],
      misses,
      details: Object.fromEntries(
        Object.entries(rounds).map(([k, v]) => [
          k,
          v.map((m) => ({ ...m.result, failures: m.result.failures, resources: m.resources })),
        ]),
      ),
      profile: await profileOf(prof),
    };
  } finally {
    await mbPair.destroy();
    await refPair.destroy();
    for (const p of extraPairs.splice(0)) await p.destroy();
  }
}

// ---- tftp -----------------------------------------------------------------------------------

async function tftp(): Promise<ScenarioReport> {
  const T = num('transfers', QUICK ? 20 : 100);
  const R = num('rounds', QUICK ? 1 : 5);
  const a = assets();
  say(`tftp: ${T} concurrent transfers of 1 MiB (blksize 1468, lock-step), ${R} rounds`);
  const mbPair = createPair();
  const refPair = createPair();
  const prof = profileDir('tftp');
  try {
    const mb = await startMetalboot(mbPair, {
      productRoot: PRODUCT,
      name: 'mb-tftp',
      root: WORK,
      assetsDir: a.dir,
      token: TOKEN,
      port: 8080,
      dhcp: false,
      tftp: true,
      profileDir: prof,
    });
    const hpa = await startTftpdHpa(refPair, { name: 'tftpd-hpa', root: WORK, tftpRoot: a.ipxeDir });
    const job = (transfers: number): Job => ({
      kind: 'tftp',
      serverIp: '10.250.0.1',
      file: 'ipxe.efi',
      sha256: a.ipxeSha256,
      size: SIZES.tftp,
      transfers,
      blksize: 1468,
      timeoutMs: 1000,
      deadlineMs: 300_000,
    });
    const contenders = [
      { name: 'metalboot', pair: mbPair, servers: [mb] as Running[] },
      { name: 'tftpd-hpa', pair: refPair, servers: [hpa] as Running[] },
    ];
    for (const c of contenders) await runJob<TftpResult>(c.pair, job(T), c.servers, 360_000);
    const rounds = await alternate(
      R,
      contenders.map((c) => ({ name: c.name, run: () => runJob<TftpResult>(c.pair, job(T), c.servers, 360_000) })),
      (name, r, m) =>
        say(
          `tftp round ${r + 1} ${name}: wall ${fmt(m.result.wallMs)} ms, ${fmt(m.result.mbitPerSec)} Mbit/s, ${m.result.failed} failed, UDP drops server ${m.udpDrops.server} client ${m.udpDrops.client}, server CPU ${sumRes(m.resources).cpuSeconds} s`,
        ),
    );
    await mbPair.stop(mb.child);
    const mbW = medianOf(rounds.metalboot!, (m) => m.result.wallMs);
    const hpaW = medianOf(rounds['tftpd-hpa']!, (m) => m.result.wallMs);
    const failed = rounds.metalboot!.reduce((s, m) => s + m.result.failed, 0);
    const ratio = mbW / hpaW;
    const misses: string[] = [];
    if (ratio > 1) misses.push(`wall ${fmt(mbW)} vs ${fmt(hpaW)} ms = ${ratio.toFixed(2)}× (goal ≤ 1.0×)`);
    if (failed) misses.push(`${failed} transfers failed`);
    return {
      scenario: 'tftp',
      goal: `${T} concurrent 1 MiB transfers: wall ≤ 1.0 × tftpd-hpa`,
      met: misses.length === 0,
      rows: [
        {
          metric: `wall ms, ${T} × 1 MiB`,
          metalboot: mbW,
          reference: hpaW,
          referenceName: 'tftpd-hpa',
          ratio,
          goal: '≤ 1.00',
          met: ratio <= 1 && failed === 0,
        },
      ],
      misses,
      details: Object.fromEntries(
        Object.entries(rounds).map(([k, v]) => [
          k,
          v.map((m) => ({
            wallMs: round2(m.result.wallMs),
            mbitPerSec: round2(m.result.mbitPerSec),
            failed: m.result.failed,
            latency: m.result.latency,
            resources: m.resources,
          })),
        ]),
      ),
      profile: await profileOf(prof),
    };
  } finally {
    await mbPair.destroy();
    await refPair.destroy();
  }
}

// ---- dhcp -----------------------------------------------------------------------------------

async function dhcp(): Promise<ScenarioReport> {
  const COUNT = num('machines', QUICK ? 1000 : 5000);
  const R = num('rounds', QUICK ? 1 : 3);
  const CONC = num('concurrency', 64);
  say(`dhcp: DORA/s with ${COUNT} distinct MACs per round (UEFI PXE DISCOVER/REQUEST), ${CONC} in flight, ${R} rounds`);
  const compare = flags.has('compare') ? path.resolve(flags.get('compare') as string) : undefined;
  const pairs: Record<string, Pair> = { metalboot: createPair(), dnsmasq: createPair(), kea: createPair() };
  if (compare) pairs.variant = createPair();
  const prof = profileDir('dhcp');
  try {
    const servers: Record<string, Running> = {
      metalboot: await startMetalboot(pairs.metalboot!, {
        productRoot: PRODUCT,
        name: 'mb-dhcp',
        root: WORK,
        assetsDir: assets().dir,
        token: TOKEN,
        port: 8080,
        dhcp: true,
        tftp: true,
        profileDir: prof,
      }),
      dnsmasq: await startDnsmasq(pairs.dnsmasq!, { name: 'dnsmasq-dhcp', root: WORK, dhcp: true }),
      kea: await startKea(pairs.kea!, { name: 'kea', root: WORK }),
    };
    if (compare)
      servers.variant = await startMetalboot(pairs.variant!, {
        productRoot: compare,
        name: 'mb-dhcp-variant',
        root: WORK,
        assetsDir: assets().dir,
        token: TOKEN,
        port: 8080,
        dhcp: true,
        tftp: true,
      });
    // Distinct MACs everywhere: every DORA allocates a new lease (the expensive path).
    let next = 1_000_000;
    const job = (count: number): Job => {
      const first = next;
      next += count;
      return { kind: 'dhcp', first, count, concurrency: CONC, timeoutsMs: [1000, 2000, 4000], deadlineMs: 300_000 };
    };
    const names = Object.keys(servers);
    for (const n of names) await runJob<DhcpResult>(pairs[n]!, job(Math.min(500, COUNT)), [servers[n]!], 360_000);
    const rounds = await alternate(
      R,
      names.map((n) => ({ name: n, run: () => runJob<DhcpResult>(pairs[n]!, job(COUNT), [servers[n]!], 360_000) })),
      (name, r, m) =>
        say(
          `dhcp round ${r + 1} ${name}: ${fmt(m.result.doraPerSec)} DORA/s, p50 ${m.result.latency.p50} ms p99 ${m.result.latency.p99} ms, ${m.result.failed} failed, ${m.result.retries} retries, UDP drops server ${m.udpDrops.server} client ${m.udpDrops.client}, server CPU ${sumRes(m.resources).cpuSeconds} s${m.result.failures.length ? `; ${m.result.failures[0]?.error}` : ''}`,
        ),
    );
    await pairs.metalboot!.stop(servers.metalboot!.child);
    const rate = (n: string) => medianOf(rounds[n]!, (m) => m.result.doraPerSec);
    const cpuMs = (n: string) =>
      medianOf(rounds[n]!, (m) => (sumRes(m.resources).cpuSeconds * 1000) / Math.max(1, m.result.ok));
    const ratio = rate('metalboot') / rate('dnsmasq');
    const failed = rounds.metalboot!.reduce((s, m) => s + m.result.failed, 0);
    const misses: string[] = [];
    if (ratio < 1)
      misses.push(
        `${fmt(rate('metalboot'))} vs ${fmt(rate('dnsmasq'))} DORA/s = ${ratio.toFixed(2)}× dnsmasq (goal ≥ 1.0×)`,
      );
    if (failed) misses.push(`${failed} DORAs failed`);
    return {
      scenario: 'dhcp',
      goal: `DORA/s with ${COUNT} distinct MACs ≥ 1.0 × dnsmasq (Kea reported)`,
      met: misses.length === 0,
      rows: [
        {
          metric: `DORA/s, ${COUNT} new MACs, ${CONC} in flight`,
          metalboot: rate('metalboot'),
          reference: rate('dnsmasq'),
          referenceName: 'dnsmasq',
          ratio,
          goal: '≥ 1.00',
          met: ratio >= 1 && failed === 0,
        },
        {
          metric: 'DORA/s (Kea, for reference)',
          metalboot: rate('metalboot'),
          reference: rate('kea'),
          referenceName: 'kea-dhcp4',
          ratio: rate('metalboot') / rate('kea'),
          goal: 'report',
          met: null,
        },
        {
          metric: 'server CPU ms per DORA',
          metalboot: cpuMs('metalboot'),
          reference: cpuMs('dnsmasq'),
          referenceName: 'dnsmasq',
          ratio: cpuMs('metalboot') / cpuMs('dnsmasq'),
          goal: 'report',
          met: null,
        },
        {
          metric: 'server CPU ms per DORA',
          metalboot: cpuMs('metalboot'),
          reference: cpuMs('kea'),
          referenceName: 'kea-dhcp4',
          ratio: cpuMs('metalboot') / cpuMs('kea'),
          goal: 'report',
          met: null,
        },
        ...(compare
          ? [
              {
                metric: `A/B: ${compare} DORA/s (the metalboot column)`,
                metalboot: rate('variant'),
                reference: rate('metalboot'),
                referenceName: 'metalboot (this build)',
                ratio: rate('variant') / rate('metalboot'),
                goal: 'report',
                met: null,
              },
            ]
          : []),
      ],
      misses,
      details: Object.fromEntries(
        Object.entries(rounds).map(([k, v]) => [
          k,
          v.map((m) => ({
            doraPerSec: round2(m.result.doraPerSec),
            wallMs: round2(m.result.wallMs),
            ok: m.result.ok,
            failed: m.result.failed,
            retries: m.result.retries,
            latency: m.result.latency,
            strayReplies: m.result.strayReplies,
            udpDrops: m.udpDrops,
            failures: m.result.failures.slice(0, 3),
            resources: m.resources,
          })),
        ]),
      ),
      profile: await profileOf(prof, [
        /^handle(Unchecked|Authoritative)? /,
        /^discover /,
        /^request /,
        /^record /,
        /^allocate /,
        /^commit /,
        /^lookup /,
        /^reservedIps /,
        /^append /,
        /^encodeDhcp /,
        /^decodeDhcp /,
      ]),
    };
  } finally {
    for (const p of Object.values(pairs)) await p.destroy();
  }
}

// ---- perfdhcp --------------------------------------------------------------------------------

async function perfdhcp(): Promise<ScenarioReport> {
  const SECONDS = num('duration', QUICK ? 3 : 5);
  const CLIENTS = 20_000;
  say(
    `perfdhcp: rising DORA rate (×1.2 per step from 1,000/s), ${SECONDS} s per step, ${CLIENTS} random MACs, metalboot and kea-dhcp4 in turn`,
  );
  const compare = flags.has('compare') ? path.resolve(flags.get('compare') as string) : undefined;
  const pairs: Record<string, Pair> = { metalboot: createPair(), kea: createPair() };
  if (compare) pairs.variant = createPair();
  const logDir = path.join(WORK, 'perfdhcp');
  fs.mkdirSync(logDir, { recursive: true });
  const prof = profileDir('perfdhcp');
  try {
    const servers: Record<string, Running> = {
      metalboot: await startMetalboot(pairs.metalboot!, {
        productRoot: PRODUCT,
        name: 'mb-perfdhcp',
        root: WORK,
        assetsDir: assets().dir,
        token: TOKEN,
        port: 8080,
        dhcp: true,
        tftp: false,
        profileDir: prof,
      }),
      kea: await startKea(pairs.kea!, { name: 'kea-perfdhcp', root: WORK }),
    };
    if (compare)
      servers.variant = await startMetalboot(pairs.variant!, {
        productRoot: compare,
        name: 'mb-perfdhcp-variant',
        root: WORK,
        assetsDir: assets().dir,
        token: TOKEN,
        port: 8080,
        dhcp: true,
        tftp: false,
      });
    const held = await ramp(
      Object.keys(servers).map((name) => ({ name, pair: pairs[name]!, server: servers[name]! })),
      { start: num('start-rate', 1000), factor: 1.2, max: 40_000, seconds: SECONDS, clients: CLIENTS, logDir, say },
    );
    await pairs.metalboot!.stop(servers.metalboot!.child); // writes its --cpu-prof
    const mb = held.metalboot!.held;
    const kea = held.kea!.held;
    const ratio = kea ? mb / kea : 0;
    // CPU per completed DORA over every step: how much server each exchange costs, which moves
    // far less with the machine's background load than the rate held does.
    const cpuMs = (n: string) => {
      const steps = held[n]!.steps;
      return (
        (steps.reduce((a, st) => a + st.serverCpuSeconds, 0) * 1000) /
        Math.max(
          1,
          steps.reduce((a, st) => a + st.completed, 0),
        )
      );
    };
    const misses =
      ratio < 1
        ? [
            `metalboot held ${fmt(mb)} DORA/s with ≤ 1 % lost, kea-dhcp4 ${fmt(kea)} (${ratio.toFixed(2)}×, goal ≥ 1.0×)`,
          ]
        : [];
    return {
      scenario: 'perfdhcp',
      goal: 'highest perfdhcp DORA rate with ≤ 1 % lost ≥ 1.0 × kea-dhcp4',
      met: misses.length === 0,
      rows: [
        {
          metric: `perfdhcp DORA/s held with ≤ 1 % lost (${CLIENTS} MACs, ${SECONDS} s steps)`,
          metalboot: mb,
          reference: kea,
          referenceName: 'kea-dhcp4',
          ratio,
          goal: '≥ 1.00',
          met: ratio >= 1,
        },
        {
          metric: 'perfdhcp: server CPU ms per completed DORA',
          metalboot: cpuMs('metalboot'),
          reference: cpuMs('kea'),
          referenceName: 'kea-dhcp4',
          ratio: cpuMs('metalboot') / cpuMs('kea'),
          goal: 'report',
          met: null,
        },
        ...(compare
          ? [
              {
                metric: `A/B: ${compare} perfdhcp DORA/s held (the metalboot column)`,
                metalboot: held.variant!.held,
                reference: mb,
                referenceName: 'metalboot (this build)',
                ratio: mb ? held.variant!.held / mb : 0,
                goal: 'report',
                met: null,
              },
              {
                metric: `A/B: ${compare} server CPU ms per DORA (the metalboot column)`,
                metalboot: cpuMs('variant'),
                reference: cpuMs('metalboot'),
                referenceName: 'metalboot (this build)',
                ratio: cpuMs('variant') / cpuMs('metalboot'),
                goal: 'report',
                met: null,
              },
            ]
          : []),
      ],
      misses,
      details: held,
      profile: await profileOf(prof, [
        /^handle(Unchecked|Authoritative)? /,
        /^discover /,
        /^request /,
        /^record /,
        /^allocate /,
        /^commit /,
        /^lookup /,
        /^forBoot /,
        /^isReserved /,
        /^encodeDhcp /,
        /^decodeDhcp /,
        /^flushed /,
      ]),
    };
  } finally {
    for (const p of Object.values(pairs)) await p.destroy();
  }
}

// ---- render and registry scale --------------------------------------------------------------

async function renderAndScale(which: 'render' | 'scale' | 'both'): Promise<ScenarioReport[]> {
  const SMALL = num('machines', QUICK ? 1000 : 10_000);
  const LARGE = num('large', QUICK ? 10_000 : 100_000);
  const R = num('rounds', QUICK ? 1 : 5);
  const D = num('duration', QUICK ? 3 : 6);
  const CONN = num('connections', 10);
  const withHello = which !== 'scale';
  const withLarge = which !== 'render';
  say(
    `${which === 'both' ? 'render + scale' : which}: autocannon ${CONN} connections × ${D} s per round, /ipxe?mac= then its config URL (both counted), registry ${SMALL}${withLarge ? ` and ${LARGE}` : ''} machines, ${R} rounds${withHello ? ', fastify hello route as yardstick' : ''}`,
  );
  const a = assets();
  const pair = createPair();
  const prof = profileDir(which === 'scale' ? 'scale' : 'render');
  try {
    const seed = async (name: string, count: number, contract: BenchContract = 'v1.13') => {
      const dataDir = path.join(WORK, name, 'data');
      const ms = await seedRegistry(dataDir, a.dir, 0, count, contract);
      say(`seeded ${fmt(count)} machines for ${name} in ${fmt(ms)} ms`);
      return dataDir;
    };
    const servers: Record<string, Running & { base: string }> = {};
    const machines: Record<string, number> = {};
    const perf = PERF && which !== 'scale';
    if (perf && !perfAvailable()) throw new Error('--perf needs perf (Debian: apt-get install linux-perf)');
    servers.small = await startMetalboot(pair, {
      productRoot: PRODUCT,
      name: 'mb-render-10k',
      root: WORK,
      assetsDir: a.dir,
      token: TOKEN,
      port: 8080,
      dhcp: false,
      tftp: false,
      dataDir: await seed('mb-render-10k', SMALL),
      profileDir: which === 'scale' ? undefined : prof,
      perfMap: perf,
    });
    machines.small = SMALL;
    if (withLarge) {
      servers.large = await startMetalboot(pair, {
        productRoot: PRODUCT,
        name: 'mb-render-100k',
        root: WORK,
        assetsDir: a.dir,
        token: TOKEN,
        port: 8082,
        dhcp: false,
        tftp: false,
        dataDir: await seed('mb-render-100k', LARGE),
        profileDir: which === 'scale' ? prof : undefined,
      });
      machines.large = LARGE;
    }
    if (withHello) {
      servers.hello = await startHello(pair, { name: 'fastify-hello', root: WORK, port: 8081 });
      // The same registry on a Talos v1.14 cluster: 17 documents per config instead of 2.
      servers.v14 = await startMetalboot(pair, {
        productRoot: PRODUCT,
        name: 'mb-render-v114',
        root: WORK,
        assetsDir: a.dir,
        token: TOKEN,
        port: 8084,
        dhcp: false,
        tftp: false,
        dataDir: await seed('mb-render-v114', SMALL, 'v1.14'),
      });
      machines.v14 = SMALL;
    }
    // Unpinned, metalboot runs its default workers (one per CPU): the same registry in one process beside it.
    const workersAB = withHello && !pinning.server;
    if (workersAB) {
      servers.one = await startMetalboot(pair, {
        productRoot: PRODUCT,
        name: 'mb-render-1-worker',
        root: WORK,
        assetsDir: a.dir,
        token: TOKEN,
        port: 8085,
        dhcp: false,
        tftp: false,
        dataDir: await seed('mb-render-1-worker', SMALL),
        httpWorkers: 1,
      });
      machines.one = SMALL;
    }
    const compare = flags.has('compare') ? path.resolve(flags.get('compare') as string) : undefined;
    if (compare) {
      // A/B: another build (e.g. a candidate fix) on the same registry size, in the same alternation.
      servers.variant = await startMetalboot(pair, {
        productRoot: compare,
        name: 'mb-render-variant',
        root: WORK,
        assetsDir: a.dir,
        token: TOKEN,
        port: 8083,
        dhcp: false,
        tftp: false,
        dataDir: await seed('mb-render-variant', SMALL),
      });
      machines.variant = SMALL;
    }
    const job = (k: string, durationS: number): Job => ({
      kind: 'render',
      base: servers[k]!.base,
      mode: k === 'hello' ? 'hello' : 'pair',
      first: 0,
      machines: machines[k] ?? 0,
      connections: CONN,
      durationS,
    });
    const names = Object.keys(servers);
    for (const k of names) await runJob<RenderResult>(pair, job(k, Math.min(3, D)), [servers[k]!], 120_000);
    const rounds = await alternate(
      R,
      names.map((k) => ({
        name: k,
        run: () => runJob<RenderResult>(pair, job(k, D), [servers[k]!], D * 1000 + 120_000),
      })),
      (name, r, m) => {
        const x = m.result;
        const per = x.script
          ? ` (script p50 ${x.script.p50} p99 ${x.script.p99} ms; config p50 ${x.config?.p50} p99 ${x.config?.p99} ms)`
          : '';
        say(
          `${name} round ${r + 1}: ${fmt(x.reqPerSec)} req/s, p50 ${x.latency.p50} ms, p99 ${x.latency.p99} ms, ${x.errors} errors, ${x.non2xx} non-2xx, ${x.bad} bad${per}, server CPU ${sumRes(m.resources).cpuCores} cores, RSS ${fmt(sumRes(m.resources).rssMaxMb)} MB`,
        );
      },
    );
    // Not one of the counted rounds: perf's sampling costs the server a little.
    const perfReport = perf ? await perfRound(pair, servers.small!, job('small', D), D) : undefined;
    for (const k of ['small', 'large', 'variant', 'v14', 'one']) if (servers[k]) await pair.stop(servers[k]!.child);
    const rps = (k: string) => medianOf(rounds[k]!, (m) => m.result.reqPerSec);
    const p99 = (k: string) => medianOf(rounds[k]!, (m) => m.result.latency.p99);
    const lat = (k: string, f: (r: RenderResult) => number) => medianOf(rounds[k]!, (m) => f(m.result));
    /** Server CPU milliseconds per request: what the box would sustain per core, whatever else runs on it. */
    const cpuMs = (k: string) =>
      medianOf(rounds[k]!, (m) => (sumRes(m.resources).cpuSeconds * 1000) / Math.max(1, m.result.requests));
    const summary = (k: string) => ({
      reqPerSec: round2(rps(k)),
      cpuMsPerRequest: round2(cpuMs(k)),
      p99: p99(k),
      rounds: rounds[k]!.map((m) => ({ ...m.result, resources: m.resources })),
    });
    const reports: ScenarioReport[] = [];
    const profile = await profileOf(prof, INCLUSIVE);
    if (compare) {
      const row = (metric: string, f: (k: string) => number) => ({
        metric,
        metalboot: f('variant'),
        reference: f('small'),
        referenceName: 'metalboot (this build)',
        ratio: f('variant') / f('small'),
        goal: 'report',
        met: null,
      });
      reports.push({
        scenario: 'render',
        goal: `A/B: ${compare} vs this build, ${fmt(SMALL)} machines (the "metalboot" column is the variant)`,
        met: true,
        rows: [
          row('variant req/s', rps),
          row('variant p99 ms', p99),
          row('variant script p50 ms', (k) => lat(k, (r) => r.script?.p50 ?? NaN)),
          row('variant config p50 ms', (k) => lat(k, (r) => r.config?.p50 ?? NaN)),
          row('variant server CPU ms per request', cpuMs),
        ],
        misses: [],
        details: { variant: compare, variantSummary: summary('variant'), base: summary('small') },
      });
    }
    if (withHello) {
      const ratio = rps('small') / rps('hello');
      const bad = rounds.small!.reduce((s, m) => s + m.result.bad + m.result.errors + m.result.non2xx, 0);
      const misses: string[] = [];
      if (rps('small') < 5000) misses.push(`${fmt(rps('small'))} req/s (goal ≥ 5,000)`);
      if (p99('small') > 20) misses.push(`p99 ${p99('small')} ms (goal ≤ 20 ms)`);
      if (ratio < 0.3) misses.push(`${ratio.toFixed(2)} × the fastify hello route (goal ≥ 0.3×)`);
      if (bad) misses.push(`${bad} failed or unexpected responses`);
      const v14Ratio = rps('v14') / rps('small');
      const bad14 = rounds.v14!.reduce((s, m) => s + m.result.bad + m.result.errors + m.result.non2xx, 0);
      if (v14Ratio < 0.8)
        misses.push(`the v1.14 cluster renders at ${v14Ratio.toFixed(2)} × the v1.13 one (goal ≥ 0.8×)`);
      if (bad14) misses.push(`${bad14} failed or unexpected responses from the v1.14 cluster`);
      const workersRatio = workersAB ? rps('small') / rps('one') : NaN;
      if (workersAB && workersRatio < 1.6)
        misses.push(`default HTTP workers render at ${workersRatio.toFixed(2)} × one process (goal ≥ 1.6×)`);
      reports.push({
        scenario: 'render',
        goal: `/ipxe?mac= + config, ${SMALL} machines: ≥ 5,000 req/s, p99 ≤ 20 ms, ≥ 0.3 × fastify hello; a Talos v1.14 cluster ≥ 0.8 × a v1.13 one`,
        met: misses.length === 0,
        rows: [
          {
            metric: `req/s, script+config pairs, ${fmt(SMALL)} machines`,
            metalboot: rps('small'),
            reference: rps('hello'),
            referenceName: 'fastify hello',
            ratio,
            goal: '≥ 5,000 and ≥ 0.30',
            met: rps('small') >= 5000 && ratio >= 0.3,
          },
          {
            metric: 'p99 latency ms (autocannon)',
            metalboot: p99('small'),
            reference: p99('hello'),
            referenceName: 'fastify hello',
            ratio: p99('small') / p99('hello'),
            goal: 'metalboot ≤ 20 ms',
            met: p99('small') <= 20,
          },
          {
            metric: 'server CPU ms per request',
            metalboot: cpuMs('small'),
            reference: cpuMs('hello'),
            referenceName: 'fastify hello',
            ratio: cpuMs('small') / cpuMs('hello'),
            goal: 'report',
            met: null,
          },
          {
            metric: `req/s, Talos v1.14 cluster (17 documents), ${fmt(SMALL)} machines`,
            metalboot: rps('v14'),
            reference: rps('small'),
            referenceName: 'metalboot, v1.13 cluster',
            ratio: v14Ratio,
            goal: '≥ 0.80',
            met: v14Ratio >= 0.8,
          },
          ...(workersAB
            ? [
                {
                  metric: `req/s, default HTTP workers (${machineInfo().cpus}) vs one process, unpinned`,
                  metalboot: rps('small'),
                  reference: rps('one'),
                  referenceName: 'metalboot --http-workers 1',
                  ratio: workersRatio,
                  goal: '≥ 1.60',
                  met: workersRatio >= 1.6,
                },
              ]
            : []),
          {
            metric: 'server CPU ms per request, v1.14 cluster',
            metalboot: cpuMs('v14'),
            reference: cpuMs('small'),
            referenceName: 'metalboot, v1.13 cluster',
            ratio: cpuMs('v14') / cpuMs('small'),
            goal: 'report',
            met: null,
          },
        ],
        misses,
        details: {
          connections: CONN,
          durationS: D,
          metalboot: summary('small'),
          hello: summary('hello'),
          v14: summary('v14'),
          ...(workersAB ? { oneWorker: summary('one') } : {}),
          ...(perfReport ? { perf: perfReport } : {}),
        },
        profile,
      });
    }
    if (withLarge) {
      const sp50 = lat('large', (r) => r.script?.p50 ?? NaN) / lat('small', (r) => r.script?.p50 ?? NaN);
      const cp50 = lat('large', (r) => r.config?.p50 ?? NaN) / lat('small', (r) => r.config?.p50 ?? NaN);
      const mean = lat('large', (r) => r.latency.mean) / lat('small', (r) => r.latency.mean);
      const p99r = p99('large') / p99('small');
      const misses: string[] = [];
      if (sp50 > 1.2) misses.push(`script p50 ${sp50.toFixed(2)}× the ${fmt(SMALL)} case`);
      if (cp50 > 1.2) misses.push(`config p50 ${cp50.toFixed(2)}× the ${fmt(SMALL)} case`);
      if (mean > 1.2) misses.push(`mean latency ${mean.toFixed(2)}× the ${fmt(SMALL)} case`);
      reports.push({
        scenario: 'scale',
        goal: `script/config latency with ${fmt(LARGE)} machines within 1.2 × of ${fmt(SMALL)}`,
        met: misses.length === 0,
        rows: [
          {
            metric: `script p50 ms, ${fmt(LARGE)} vs ${fmt(SMALL)} machines`,
            metalboot: lat('large', (r) => r.script?.p50 ?? NaN),
            reference: lat('small', (r) => r.script?.p50 ?? NaN),
            referenceName: `metalboot ${fmt(SMALL)}`,
            ratio: sp50,
            goal: '≤ 1.20',
            met: sp50 <= 1.2,
          },
          {
            metric: 'config p50 ms',
            metalboot: lat('large', (r) => r.config?.p50 ?? NaN),
            reference: lat('small', (r) => r.config?.p50 ?? NaN),
            referenceName: `metalboot ${fmt(SMALL)}`,
            ratio: cp50,
            goal: '≤ 1.20',
            met: cp50 <= 1.2,
          },
          {
            metric: 'mean ms (autocannon, both)',
            metalboot: lat('large', (r) => r.latency.mean),
            reference: lat('small', (r) => r.latency.mean),
            referenceName: `metalboot ${fmt(SMALL)}`,
            ratio: mean,
            goal: '≤ 1.20',
            met: mean <= 1.2,
          },
          {
            metric: 'p99 ms (autocannon, both; noisy, see README)',
            metalboot: p99('large'),
            reference: p99('small'),
            referenceName: `metalboot ${fmt(SMALL)}`,
            ratio: p99r,
            goal: 'report',
            met: null,
          },
          {
            metric: 'server CPU ms per request',
            metalboot: cpuMs('large'),
            reference: cpuMs('small'),
            referenceName: `metalboot ${fmt(SMALL)}`,
            ratio: cpuMs('large') / cpuMs('small'),
            goal: 'report',
            met: null,
          },
        ],
        misses,
        details: { connections: CONN, durationS: D, small: summary('small'), large: summary('large') },
        profile: withHello ? undefined : profile,
      });
    }
    return reports;
  } finally {
    await pair.destroy();
  }
}

/** One more round of `job` with `perf record` on the server: where its CPU goes, SQLite's C and the kernel included. */
async function perfRound(pair: Pair, server: Running, job: Job, seconds: number) {
  fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const dataFile = path.join(WORK, 'render.perf.data');
  const { result, breakdown, scriptFile } = await perfDuring(server.pid, seconds, dataFile, () =>
    runJob<RenderResult>(pair, job, [server], seconds * 1000 + 120_000),
  );
  const lines = [
    `perf round (not counted): ${fmt(result.result.reqPerSec)} req/s, server CPU ${sumRes(result.resources).cpuCores} cores; ${fmt(breakdown.samples)} samples of the server's threads`,
    ...breakdown.shares.map(({ category, share }) => `${(share * 100).toFixed(1).padStart(6)} %  ${category}`),
  ];
  const summaryFile = path.join(PROFILE_DIR, 'render-perf.txt');
  fs.writeFileSync(summaryFile, `${lines.join('\n')}\n`);
  for (const l of lines) say(l);
  say(
    `perf summary: ${path.relative(PROJECT_ROOT, summaryFile)} (perf script output: ${scriptFile}, kept with --keep)`,
  );
  return { reqPerSec: result.result.reqPerSec, samples: breakdown.samples, shares: breakdown.shares };
}

// ---- report ---------------------------------------------------------------------------------

/** Versions of what was measured, for the results file. */
function versions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5_000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  };
  return {
    node: process.version,
    dnsmasq: first('dnsmasq', ['--version']),
    kea: first('kea-dhcp4', ['-v']),
    nginx: first('nginx', ['-v']),
    tftpdHpa: first('dpkg-query', ['-W', '-f=${Version}', 'tftpd-hpa']),
    metalbootCommit: first('git', ['-C', PROJECT_ROOT, 'rev-parse', '--short', 'HEAD']),
  };
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? '?',
    memoryGb: round2(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadavg: os.loadavg().map(round2),
  };
}

function table(reports: ScenarioReport[]): string {
  const lines = [
    '| scenario | metric | metalboot | reference | ratio | goal | met |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  const v = (x: number) => (Math.abs(x) >= 100 ? fmt(x) : fmt(x, Math.abs(x) >= 10 ? 1 : 2));
  for (const r of reports) {
    for (const row of r.rows) {
      lines.push(
        `| ${r.scenario} | ${row.metric} | ${v(row.metalboot)} | ${v(row.reference)} (${row.referenceName}) | ${Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : 'n/a'} | ${row.goal} | ${row.met === null ? '—' : row.met ? 'yes' : '**no**'} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Per-phase latency of the storm's median rounds, metalboot and reference side by side. */
function phaseTable(r: ScenarioReport): string {
  type Side = {
    phasesOfMedianRound: Record<
      string,
      { p50: number; p95: number; p99: number; max: number; retries: number; failures: number }
    >;
  };
  const mb = (r.details.metalboot as Side).phasesOfMedianRound;
  const ref = (r.details.reference as Side).phasesOfMedianRound;
  const s = (x: number) => (x >= 1000 ? `${fmt(x / 1000, 1)} s` : `${fmt(x)} ms`);
  const lines = [
    '| storm phase (median round) | metalboot p50 / p95 / p99 / max | retries | dnsmasq+nginx p50 / p95 / p99 / max | retries |',
    '|---|---|---:|---|---:|',
  ];
  for (const [phase, m] of Object.entries(mb)) {
    const f = ref[phase];
    if (!f) continue;
    lines.push(
      `| ${phase} | ${s(m.p50)} / ${s(m.p95)} / ${s(m.p99)} / ${s(m.max)} | ${m.retries} | ${s(f.p50)} / ${s(f.p95)} / ${s(f.p99)} / ${s(f.max)} | ${f.retries} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!canUseNetns()) throw new Error('the benchmark needs root and iproute2 (it creates network namespaces)');
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build (npm run bench does)`);
  const which: Scenario[] =
    scenarioArg === 'all' ? [...IN_ALL] : SCENARIOS.includes(scenarioArg as Scenario) ? [scenarioArg as Scenario] : [];
  if (which.length === 0) {
    console.error(
      `usage: npm run bench -- <${SCENARIOS.join('|')}|all> [--machines N] [--rounds R] [--profile] [--quick]`,
    );
    process.exit(2);
  }
  const started = new Date();
  const machine = machineInfo();
  // Servers on the last CPU, the load generator on the others (see pinning in lib/netns.ts).
  if (!flags.has('no-pin') && machine.cpus >= 2) {
    pinning.server = String(machine.cpus - 1);
    pinning.client = machine.cpus === 2 ? '0' : `0-${machine.cpus - 2}`;
  }
  say(
    `machine: ${machine.cpus} × ${machine.model}, ${machine.memoryGb} GB, ${machine.kernel}, Node ${machine.node}, load ${machine.loadavg.join(' ')}; client ${CLIENT_IP}, work dir ${WORK}; ${pinning.server ? `servers pinned to CPU ${pinning.server}, load generator to CPU ${pinning.client}` : 'no CPU pinning'}`,
  );
  const reports: ScenarioReport[] = [];
  const runRenderScale = which.includes('render') || which.includes('scale');
  for (const s of which) {
    if (s === 'storm') reports.push(await storm());
    else if (s === 'http-bulk') reports.push(await httpBulk());
    else if (s === 'tftp') reports.push(await tftp());
    else if (s === 'dhcp') reports.push(await dhcp());
    else if (s === 'perfdhcp') reports.push(await perfdhcp());
    else if (s === 'hostile') {
      const durationS = num('duration', QUICK ? 10 : 300);
      reports.push(
        await hostile({
          work: WORK,
          assetsDir: assets().dir,
          token: TOKEN,
          productRoot: PRODUCT,
          durationS,
          connections: num('connections', 10),
          randomShare: num('random-share', 0.5),
          walBoundMb: 64,
          rssBoundMb: 300,
          say,
          createPair,
          runJob,
        }),
      );
    } else if (s === 'postgres')
      reports.push(
        await postgresScenario({
          work: WORK,
          assetsDir: assets().dir,
          token: TOKEN,
          productRoot: PRODUCT,
          machines: num('machines', QUICK ? 1000 : 10_000),
          rounds: num('rounds', QUICK ? 1 : 5),
          durationS: num('duration', QUICK ? 3 : 6),
          connections: num('connections', 10),
          stormMachines: num('storm-machines', QUICK ? 20 : 200),
          stormRounds: num('storm-rounds', QUICK ? 1 : 3),
          spreadMs: num('spread-ms', 1000),
          pgSync: flags.get('pg-sync') === 'on' ? 'on' : 'off',
          cpus: machine.cpus,
          pinned: Boolean(pinning.server),
          say,
          createPair,
          runJob,
        }),
      );
  }
  if (runRenderScale)
    reports.push(
      ...(await renderAndScale(
        which.includes('render') && which.includes('scale') ? 'both' : which.includes('render') ? 'render' : 'scale',
      )),
    );
  const finished = new Date();
  const result = {
    date: started.toISOString(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 1000),
    command: `npm run bench -- ${argv.join(' ')}`,
    machine: { ...machine, loadavgEnd: os.loadavg().map(round2) },
    pinning: { ...pinning },
    versions: versions(),
    reports,
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = started.toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const name = scenarioArg === 'all' ? `${stamp}.json` : `${stamp}-${scenarioArg}.json`;
  fs.writeFileSync(path.join(RESULTS_DIR, name), `${JSON.stringify(result, null, 2)}\n`);
  console.log('');
  console.log(table(reports));
  const stormReport = reports.find((r) => r.scenario === 'storm');
  if (stormReport) console.log(`\n${phaseTable(stormReport)}`);
  console.log('');
  for (const r of reports) console.log(`${r.scenario}: ${r.met ? 'goal met' : `goal MISSED — ${r.misses.join('; ')}`}`);
  console.log(
    `\nratio = metalboot ÷ reference, medians of alternating rounds; ${machine.cpus} cores shared with other jobs (load ${machine.loadavg.join(' ')} → ${result.machine.loadavgEnd.join(' ')}).`,
  );
  console.log(`results: bench/results/${name}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
