// `hostile`: what one host on the provisioning network can do to metalboot's disk and memory by
// asking for boot scripts as fast as it can (issue 20) — /ipxe?mac= for the one registered machine
// (an install script: token, last-seen facts, timeline entry) or for a MAC never seen before
// (a discovered machine). While it runs, the WAL file, the database file and the server's RSS are
// sampled every second; /metrics' WAL counter before and after gives the WAL bytes per request.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HostileJob, HostileResult, Job, JobResult } from '../lib/jobs.js';
import type { Pair } from '../lib/netns.js';
import { sampleTree, type ResourceReport } from '../lib/proc.js';
import { seedRegistry } from '../lib/registry.js';
import { startMetalboot, type Running } from '../lib/servers.js';
import { fmt } from '../lib/stats.js';

export interface HostileOptions {
  work: string;
  assetsDir: string;
  token: string;
  productRoot?: string;
  durationS: number;
  connections: number;
  /** Share of requests with random MACs. */
  randomShare: number;
  walBoundMb: number;
  rssBoundMb: number;
  say: (line: string) => void;
  createPair: () => Pair;
  runJob: <R extends JobResult>(
    pair: Pair,
    job: Job,
    servers: Running[],
    timeoutMs: number,
  ) => Promise<{ result: R; resources: Record<string, ResourceReport> }>;
}

interface Sample {
  s: number;
  walMb: number;
  dbMb: number;
  rssMb: number;
}

const MB = 1024 * 1024;
const fileBytes = (f: string) => {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
};

/** A counter from /metrics, read from the client namespace; undefined when the build has none. */
function scrapeCounter(pair: Pair, base: string, name: string): number | undefined {
  const text = pair.run(pair.client, ['curl', '-sf', '--max-time', '10', `${base}/metrics`]);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

export async function hostile(o: HostileOptions) {
  o.say(
    `hostile: /ipxe?mac= at full speed for ${o.durationS} s, ${o.connections} connections from one address; ${Math.round(o.randomShare * 100)} % random MACs, the rest the one registered machine; WAL, database and RSS sampled every second`,
  );
  const pair = o.createPair();
  try {
    const dataDir = path.join(o.work, 'mb-hostile', 'data');
    await seedRegistry(dataDir, o.assetsDir, 0, 1);
    const db = path.join(dataDir, 'metalboot.db');
    const server = await startMetalboot(pair, {
      productRoot: o.productRoot,
      name: 'mb-hostile',
      root: o.work,
      assetsDir: o.assetsDir,
      token: o.token,
      port: 8080,
      dhcp: false,
      tftp: false,
      dataDir,
    });
    const counter = 'metalboot_store_wal_written_bytes_total';
    const walWrittenBefore = scrapeCounter(pair, server.base, counter);
    const walFileBefore = fileBytes(`${db}-wal`);
    const dbBefore = fileBytes(db);
    const samples: Sample[] = [];
    const t0 = Date.now();
    const sample = () =>
      samples.push({
        s: Math.round((Date.now() - t0) / 1000),
        walMb: fileBytes(`${db}-wal`) / MB,
        dbMb: fileBytes(db) / MB,
        rssMb: sampleTree(server.pid).rssMb,
      });
    sample();
    const timer = setInterval(sample, 1000);
    let m: { result: HostileResult; resources: Record<string, ResourceReport> };
    try {
      const job: HostileJob = {
        kind: 'hostile',
        base: server.base,
        registered: 0,
        randomShare: o.randomShare,
        connections: o.connections,
        durationS: o.durationS,
      };
      m = await o.runJob<HostileResult>(pair, job, [server], o.durationS * 1000 + 120_000);
    } finally {
      clearInterval(timer);
    }
    sample();
    const walWrittenAfter = scrapeCounter(pair, server.base, counter);
    const walFileAfter = fileBytes(`${db}-wal`);
    await pair.stop(server.child as ChildProcess); // SIGTERM: the store closes and checkpoints its WAL
    const dbAfter = fileBytes(db) + fileBytes(`${db}-wal`);
    const r = m.result;
    // With the counter: bytes that went through the WAL. Without it (an older build, --product):
    // the WAL file's growth, which is the same while nothing restarts the log.
    const walPerRequest =
      walWrittenBefore !== undefined && walWrittenAfter !== undefined
        ? {
            bytes: (walWrittenAfter - walWrittenBefore) / Math.max(1, r.requests),
            method: 'metalboot_store_wal_written_bytes_total',
          }
        : {
            bytes: (walFileAfter - walFileBefore) / Math.max(1, r.requests),
            method: 'WAL file growth (no counter in this build)',
          };
    const walMax = Math.max(...samples.map((x) => x.walMb));
    const rssMax = Math.max(...samples.map((x) => x.rssMb), ...Object.values(m.resources).map((x) => x.rssMaxMb));
    const dbGrowthMb = (dbAfter - dbBefore) / MB;
    o.say(
      `hostile: ${fmt(r.requests)} requests (${fmt(r.reqPerSec)} req/s; ${fmt(r.registered)} registered, ${fmt(r.random)} random MACs), ${r.errors} errors, ${r.non2xx} non-2xx, ${r.bad} bad; WAL max ${walMax.toFixed(1)} MB, RSS max ${rssMax.toFixed(0)} MB, database +${dbGrowthMb.toFixed(1)} MB, ${fmt(walPerRequest.bytes)} WAL bytes per request (${walPerRequest.method})`,
    );
    const misses: string[] = [];
    if (walMax > o.walBoundMb)
      misses.push(`WAL reached ${walMax.toFixed(1)} MB (goal ≤ ${o.walBoundMb} MB at every sample)`);
    if (rssMax > o.rssBoundMb) misses.push(`RSS reached ${rssMax.toFixed(0)} MB (goal ≤ ${o.rssBoundMb} MB)`);
    if (r.bad + r.errors)
      misses.push(`${r.bad + r.errors} failed requests or registered-machine answers without a config URL`);
    const bound = (metric: string, value: number, limit: number, unit: string) => ({
      metric,
      metalboot: value,
      reference: limit,
      referenceName: unit,
      ratio: value / limit,
      goal: `≤ ${limit} ${unit}`,
      met: value <= limit,
    });
    const report = (metric: string, value: number) => ({
      metric,
      metalboot: value,
      reference: NaN,
      referenceName: '—',
      ratio: NaN,
      goal: 'report',
      met: null,
    });
    return {
      scenario: 'hostile' as const,
      goal: `${o.durationS} s of /ipxe at full speed: WAL ≤ ${o.walBoundMb} MB at every sample, RSS ≤ ${o.rssBoundMb} MB, no failed request`,
      met: misses.length === 0,
      rows: [
        bound('WAL file max MB (sampled every second)', walMax, o.walBoundMb, 'MB bound'),
        bound('server RSS max MB', rssMax, o.rssBoundMb, 'MB bound'),
        report(
          `WAL bytes per /ipxe request (${walPerRequest.method.startsWith('metalboot') ? 'WAL counter' : 'WAL file growth'})`,
          walPerRequest.bytes,
        ),
        report(`database growth MB over ${o.durationS} s`, dbGrowthMb),
        report('req/s (/ipxe, registered + random MACs)', r.reqPerSec),
      ],
      misses,
      details: {
        ...o,
        say: undefined,
        createPair: undefined,
        runJob: undefined,
        result: r,
        resources: m.resources,
        walPerRequest,
        samples,
      },
    };
  } finally {
    await pair.destroy();
  }
}
