// The load generator. Runs inside the client namespace of a pair (bench/lib/netns.ts), started by
// the orchestrator with a job file; prints `START` when the load begins and `RESULT <json>` at the
// end. Every loop is bounded in count and time (the job's deadline).
//
//   ip netns exec <client ns> node --import=@tapjs/typescript/import bench/lib/generator.ts job.json
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { tftpGet } from '../../src/tftp/client.js';
import { DhcpClient, machineIdentity } from './dhcp-client.js';
import { get, machineAgent } from './http-client.js';
import type {
  DhcpJob,
  DhcpResult,
  Failure,
  HttpBulkJob,
  HttpBulkResult,
  Job,
  JobResult,
  PhaseStats,
  RegisterJob,
  RegisterResult,
  RenderJob,
  RenderResult,
  StormJob,
  StormResult,
  TftpJob,
  TftpResult,
} from './jobs.js';
import { percentiles } from './stats.js';
import { tftpFetch } from './tftp-client.js';
import { hostileLoad } from './hostile-load.js';

const MAX_FAILURES_KEPT = 20;

class Phases {
  private readonly times = new Map<string, number[]>();
  private readonly retries = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  add(phase: string, ms: number, retries = 0): void {
    (this.times.get(phase) ?? this.times.set(phase, []).get(phase)!).push(ms);
    this.retries.set(phase, (this.retries.get(phase) ?? 0) + retries);
  }
  fail(phase: string, retries = 0): void {
    this.failures.set(phase, (this.failures.get(phase) ?? 0) + 1);
    this.retries.set(phase, (this.retries.get(phase) ?? 0) + retries);
  }
  totalRetries(): number {
    return [...this.retries.values()].reduce((a, b) => a + b, 0);
  }
  report(order: string[]): Record<string, PhaseStats> {
    const out: Record<string, PhaseStats> = {};
    for (const p of order)
      out[p] = {
        ...percentiles(this.times.get(p) ?? []),
        retries: this.retries.get(p) ?? 0,
        failures: this.failures.get(p) ?? 0,
      };
    return out;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300);
const retriesOf = (err: unknown) => Number((err as { retries?: number } | undefined)?.retries ?? 0);

/** iPXE fills in its variables in the chain URL of /boot.ipxe. */
function chainUrl(script: string, vars: Record<string, string>): string {
  const line = script.split('\n').find((l) => /^\s*chain\s/.test(l));
  if (!line) throw new Error(`no chain line in boot script: ${script.slice(0, 200)}`);
  const url = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .find((t) => !t.startsWith('--'));
  if (!url) throw new Error(`no URL on the chain line: ${line}`);
  return url.replace(/\$\{([^}]+)\}/g, (_, name: string) => vars[name] ?? '');
}

/** kernel URL, initrd URL and talos.config URL of a per-machine install script. */
function installUrls(script: string): { kernel: string; initrd: string; config: string } {
  const kernelLine = script.split('\n').find((l) => /^\s*kernel\s/.test(l));
  const initrdLine = script.split('\n').find((l) => /^\s*initrd\s/.test(l));
  const kernel = kernelLine?.trim().split(/\s+/)[1];
  const initrd = initrdLine?.trim().split(/\s+/).pop();
  const config = /talos\.config=(\S+)/.exec(kernelLine ?? '')?.[1];
  if (!kernel || !initrd || !config) throw new Error(`not an install script: ${script.slice(0, 300)}`);
  return { kernel, initrd, config };
}

/** HTTP GET with iPXE-like persistence: up to `attempts` tries, 1 s apart. */
async function fetchWithRetry(
  url: string,
  agent: http.Agent,
  phases: Phases,
  phase: string,
  check: (r: Awaited<ReturnType<typeof get>>) => string | undefined,
  attempts = 3,
) {
  let retries = 0;
  let last = '';
  for (let a = 0; a < attempts; a++) {
    if (a > 0) {
      retries++;
      await sleep(1000);
    }
    try {
      const r = await get(url, agent, { keepBody: 256 * 1024 });
      const bad = r.status !== 200 ? `HTTP ${r.status}${r.body ? `: ${r.body.slice(0, 200)}` : ''}` : check(r);
      if (!bad) {
        phases.add(phase, r.ms, retries);
        return r;
      }
      last = bad;
    } catch (err) {
      last = errText(err);
    }
  }
  phases.fail(phase, retries);
  throw Object.assign(new Error(`${phase}: ${last}`), { phaseRecorded: true });
}

async function storm(job: StormJob): Promise<StormResult> {
  const dhcp = new DhcpClient();
  await dhcp.open();
  const phases = new Phases();
  const failures: Failure[] = [];
  let ok = 0;
  let bytes = 0;
  const deadline = Date.now() + job.deadlineMs;
  const order = [
    'dhcp-pxe',
    'tftp',
    'dhcp-ipxe',
    'boot-script',
    'machine-script',
    'kernel',
    'initramfs',
    'config',
    'total',
  ];
  const pxeTimeouts = [4000, 8000, 16000, 32000]; // what PXE ROMs use

  const boot = async (n: number): Promise<void> => {
    const i = job.first + n;
    const id = machineIdentity(i);
    const ip = job.ips[n]!;
    // Power-on offset: the same for machine n in every round and for every server (Weyl sequence).
    if (job.spreadMs > 0) await sleep(((n * 0.6180339887498949) % 1) * job.spreadMs);
    const started = performance.now();
    let phase = 'dhcp-pxe';
    const agent = machineAgent(ip);
    try {
      // 1. UEFI PXE firmware: DORA, must get its reserved address and the TFTP boot file.
      const d1 = await dhcp.dora(id, 'uefi-pxe', { timeoutsMs: pxeTimeouts }).catch((err) => {
        phases.fail('dhcp-pxe', retriesOf(err));
        throw Object.assign(err as Error, { phaseRecorded: true });
      });
      if (d1.ip !== ip || !d1.bootFile.endsWith(job.tftpFile)) {
        phases.fail('dhcp-pxe', d1.retries);
        throw Object.assign(new Error(`got ${d1.ip} / "${d1.bootFile}", expected ${ip} / ${job.tftpFile}`), {
          phaseRecorded: true,
        });
      }
      phases.add('dhcp-pxe', d1.doraMs, d1.retries);
      // 2. TFTP of the iPXE binary, tsize probe first (as OVMF does).
      phase = 'tftp';
      const t = await tftpFetch({
        server: d1.siaddr !== '0.0.0.0' ? d1.siaddr : job.serverIp,
        localAddress: ip,
        file: d1.bootFile,
        blksize: job.blksize,
        probe: true,
        timeoutMs: 2000,
        retries: 5,
      }).catch((err) => {
        phases.fail('tftp', retriesOf(err));
        throw Object.assign(err as Error, { phaseRecorded: true });
      });
      if (t.bytes !== job.sizes.tftp) {
        phases.fail('tftp', t.retries);
        throw Object.assign(new Error(`${t.bytes} bytes, expected ${job.sizes.tftp}`), { phaseRecorded: true });
      }
      phases.add('tftp', t.ms, t.retries);
      bytes += t.bytes;
      // 3. iPXE starts and asks DHCP again; it must now be sent to /boot.ipxe over HTTP.
      phase = 'dhcp-ipxe';
      const d2 = await dhcp.dora(id, 'ipxe', { timeoutsMs: pxeTimeouts }).catch((err) => {
        phases.fail('dhcp-ipxe', retriesOf(err));
        throw Object.assign(err as Error, { phaseRecorded: true });
      });
      if (d2.ip !== ip || !/^http:\/\/.*\/boot\.ipxe$/.test(d2.bootFile)) {
        phases.fail('dhcp-ipxe', d2.retries);
        throw Object.assign(new Error(`got ${d2.ip} / "${d2.bootFile}", expected ${ip} / http://…/boot.ipxe`), {
          phaseRecorded: true,
        });
      }
      phases.add('dhcp-ipxe', d2.doraMs, d2.retries);
      // 4. The generic script, then this machine's script.
      phase = 'boot-script';
      const b = await fetchWithRetry(d2.bootFile, agent, phases, phase, (r) =>
        /chain/.test(r.body ?? '') ? undefined : 'no chain line',
      );
      const vars = {
        'netX/mac': encodeURIComponent(id.mac),
        uuid: id.uuid,
        serial: '',
        buildarch: 'x86_64',
        platform: 'efi',
      };
      phase = 'machine-script';
      const s = await fetchWithRetry(chainUrl(b.body ?? '', vars), agent, phases, phase, (r) =>
        /talos\.config=/.test(r.body ?? '') ? undefined : `not an install script: ${(r.body ?? '').slice(0, 200)}`,
      );
      const urls = installUrls(s.body ?? '');
      // 5. Kernel and initramfs, on the same connection, as iPXE does.
      phase = 'kernel';
      const k = await fetchWithRetry(urls.kernel, agent, phases, phase, (r) =>
        r.bytes === job.sizes.kernel ? undefined : `${r.bytes} bytes, expected ${job.sizes.kernel}`,
      );
      phase = 'initramfs';
      const rd = await fetchWithRetry(urls.initrd, agent, phases, phase, (r) =>
        r.bytes === job.sizes.initramfs ? undefined : `${r.bytes} bytes, expected ${job.sizes.initramfs}`,
      );
      bytes += k.bytes + rd.bytes;
      agent.destroy();
      // 6. Talos boots and fetches its config: a new client, same address.
      phase = 'config';
      const talos = new http.Agent({ keepAlive: false, localAddress: ip });
      const hostname = job.hostnames[n]!;
      await fetchWithRetry(urls.config, talos, phases, phase, (r) =>
        (r.body ?? '').includes(hostname) ? undefined : `config without hostname ${hostname}`,
      );
      talos.destroy();
      phases.add('total', performance.now() - started);
      ok++;
    } catch (err) {
      agent.destroy();
      if (!(err as { phaseRecorded?: boolean }).phaseRecorded) phases.fail(phase, retriesOf(err));
      if (failures.length < MAX_FAILURES_KEPT) failures.push({ machine: i, phase, error: errText(err) });
    }
  };

  console.log('START');
  const started = performance.now();
  const all = Promise.all(Array.from({ length: job.machines }, (_, n) => boot(n)));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), Math.max(0, deadline - Date.now())))),
  ]);
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  dhcp.close();
  if (timedOut) failures.push({ phase: 'deadline', error: `round not finished after ${job.deadlineMs} ms` });
  return {
    kind: 'storm',
    wallMs,
    machines: job.machines,
    ok,
    failed: job.machines - ok,
    retries: phases.totalRetries(),
    phases: phases.report(order),
    failures,
    bytes,
  };
}

async function dhcpLoad(job: DhcpJob): Promise<DhcpResult> {
  const client = new DhcpClient();
  await client.open();
  const times: number[] = [];
  const failures: Failure[] = [];
  let retries = 0;
  let failed = 0;
  let next = 0;
  const deadline = Date.now() + job.deadlineMs;
  console.log('START');
  const started = performance.now();
  const worker = async () => {
    while (next < job.count && Date.now() < deadline) {
      const i = job.first + next++;
      try {
        const r = await client.dora(machineIdentity(i), 'uefi-pxe', { timeoutsMs: job.timeoutsMs });
        times.push(r.doraMs);
        retries += r.retries;
      } catch (err) {
        failed++;
        retries += retriesOf(err);
        if (failures.length < MAX_FAILURES_KEPT) failures.push({ machine: i, phase: 'dora', error: errText(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const wallMs = performance.now() - started;
  client.close();
  const unattempted = job.count - next;
  if (unattempted > 0)
    failures.push({ phase: 'deadline', error: `${unattempted} DORAs not attempted before the deadline` });
  return {
    kind: 'dhcp',
    wallMs,
    ok: times.length,
    failed: failed + unattempted,
    retries,
    doraPerSec: (times.length / wallMs) * 1000,
    latency: percentiles(times),
    failures,
    strayReplies: client.stray,
  };
}

async function tftpLoad(job: TftpJob): Promise<TftpResult> {
  const times: number[] = [];
  const failures: Failure[] = [];
  console.log('START');
  const started = performance.now();
  // The colleague's client (src/tftp/client.ts), as in bench/tftp/run.ts: sha256-checked.
  await Promise.all(
    Array.from({ length: job.transfers }, async (_, n) => {
      const t0 = performance.now();
      try {
        const r = await tftpGet({
          host: job.serverIp,
          port: 69,
          file: job.file,
          blksize: job.blksize,
          timeoutMs: job.timeoutMs,
        });
        if (r.sha256 !== job.sha256) throw new Error('corrupted download');
        times.push(performance.now() - t0);
      } catch (err) {
        if (failures.length < MAX_FAILURES_KEPT) failures.push({ machine: n, phase: 'tftp', error: errText(err) });
      }
    }),
  );
  const wallMs = performance.now() - started;
  const mbitPerSec = (times.length * job.size * 8) / (wallMs / 1000) / 1e6;
  return {
    kind: 'tftp',
    wallMs,
    ok: times.length,
    failed: job.transfers - times.length,
    latency: percentiles(times),
    failures,
    mbitPerSec,
  };
}

/** One download by a curl process: its status and size as curl reports them. */
function curlGet(url: string, deadlineMs: number): Promise<{ status: number; bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const args = [
      '-s',
      '-o',
      '/dev/null',
      '--max-time',
      String(Math.ceil(deadlineMs / 1000)),
      '-w',
      '%{http_code} %{size_download}',
      url,
    ];
    execFile('curl', args, { timeout: deadlineMs + 5_000 }, (err, stdout) => {
      if (err) return reject(new Error(`curl: ${err.message.slice(0, 200)}`));
      const [status, bytes] = stdout.trim().split(' ').map(Number);
      resolve({ status: status!, bytes: bytes!, ms: performance.now() - started });
    });
  });
}

async function httpBulk(job: HttpBulkJob): Promise<HttpBulkResult> {
  const times: number[] = [];
  const failures: Failure[] = [];
  let bytes = 0;
  console.log('START');
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async (_, n) => {
      const agent = new http.Agent({ keepAlive: false });
      try {
        const r = job.curl
          ? await curlGet(job.url, job.deadlineMs)
          : await get(job.url, agent, { keepBody: 0, totalTimeoutMs: job.deadlineMs });
        if (r.status !== 200 || r.bytes !== job.size) throw new Error(`HTTP ${r.status}, ${r.bytes} bytes`);
        bytes += r.bytes;
        times.push(r.ms);
      } catch (err) {
        if (failures.length < MAX_FAILURES_KEPT) failures.push({ machine: n, phase: 'download', error: errText(err) });
      } finally {
        agent.destroy();
      }
    }),
  );
  const wallMs = performance.now() - started;
  return {
    kind: 'http-bulk',
    wallMs,
    ok: times.length,
    failed: job.concurrency - times.length,
    bytes,
    mbytePerSec: bytes / 1024 / 1024 / (wallMs / 1000),
    latency: percentiles(times),
    failures,
  };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

async function render(job: RenderJob): Promise<RenderResult> {
  const { default: autocannon } = (await import('autocannon')) as unknown as {
    default: (opts: object, cb: (err: Error | null, r: AutocannonResult) => void) => unknown;
  };
  const script: number[] = [];
  const config: number[] = [];
  const hello: number[] = [];
  let bad = 0;
  let nextMachine = 0;
  type Ctx = { t0?: number; mac?: string; configPath?: string };
  const requests =
    job.mode === 'hello'
      ? [
          {
            method: 'GET',
            path: '/hello',
            setupRequest: (req: object, ctx: Ctx) => {
              ctx.t0 = performance.now();
              return req;
            },
            onResponse: (_s: number, _b: string, ctx: Ctx) => void hello.push(performance.now() - (ctx.t0 ?? 0)),
          },
        ]
      : [
          {
            // A machine nobody else is booting right now: each sequence takes the next one in turn,
            // so with machines >> connections no token is revoked by a concurrent /ipxe.
            method: 'GET',
            setupRequest: (req: Record<string, unknown>, ctx: Ctx) => {
              const id = machineIdentity(job.first + (nextMachine++ % job.machines));
              ctx.mac = id.mac;
              ctx.t0 = performance.now();
              return {
                ...req,
                path: `/ipxe?mac=${encodeURIComponent(id.mac)}&uuid=${id.uuid}&serial=&arch=x86_64&platform=efi`,
              };
            },
            onResponse: (status: number, body: string, ctx: Ctx) => {
              script.push(performance.now() - (ctx.t0 ?? 0));
              const url = /talos\.config=(\S+)/.exec(body)?.[1];
              if (status !== 200 || !url) bad++;
              ctx.configPath = url ? url.replace(/^https?:\/\/[^/]+/, '') : '/config/none';
            },
          },
          {
            method: 'GET',
            setupRequest: (req: Record<string, unknown>, ctx: Ctx) => {
              ctx.t0 = performance.now();
              return { ...req, path: ctx.configPath ?? '/config/none' };
            },
            onResponse: (status: number, body: string, ctx: Ctx) => {
              config.push(performance.now() - (ctx.t0 ?? 0));
              if (status !== 200 || !body.includes('hostname')) bad++;
            },
          },
        ];
  console.log('START');
  const r = await new Promise<AutocannonResult>((resolve, reject) => {
    autocannon(
      { url: job.base, connections: job.connections, duration: job.durationS, pipelining: 1, requests, timeout: 10 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
  return {
    kind: 'render',
    mode: job.mode,
    reqPerSec: r.requests.average,
    requests: r.requests.total,
    latency: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.average,
    },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    script: job.mode === 'pair' ? percentiles(script) : undefined,
    config: job.mode === 'pair' ? percentiles(config) : undefined,
    hello: job.mode === 'hello' ? percentiles(hello) : undefined,
    bad,
  };
}

async function register(job: RegisterJob): Promise<RegisterResult> {
  const started = performance.now();
  const headers = { authorization: `Bearer ${job.token}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${job.base}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (r.status !== 201) throw new Error(`POST ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
  };
  if (job.cluster) await post('/api/v1/clusters', job.cluster);
  let next = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.machines.length) await post('/api/v1/machines', job.machines[next++]);
    }),
  );
  return { kind: 'register', ms: performance.now() - started, registered: job.machines.length };
}

async function main(): Promise<void> {
  const job = JSON.parse(fs.readFileSync(process.argv[2] as string, 'utf8')) as Job;
  let result: JobResult;
  if (job.kind === 'storm') result = await storm(job);
  else if (job.kind === 'dhcp') result = await dhcpLoad(job);
  else if (job.kind === 'tftp') result = await tftpLoad(job);
  else if (job.kind === 'http-bulk') result = await httpBulk(job);
  else if (job.kind === 'register') result = await register(job);
  else if (job.kind === 'hostile') result = await hostileLoad(job);
  else result = await render(job);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
