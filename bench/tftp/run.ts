// Benchmark: N concurrent downloads of a 1 MiB file (blksize 1468) from
// metalboot's TFTP server and from tftpd-hpa (in.tftpd), same client for both.
// Not part of `npm test`. Usage and measured numbers: bench/tftp/README.md.
//
//   TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import bench/tftp/run.ts \
//     [--transfers 100] [--size 1048576] [--blksize 1468] [--windowsize 1] [--rounds 5]
//
// Both servers run as separate processes on 127.0.0.1 (high ports), so the
// client process never shares an event loop with the server it measures.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tftpGet } from '../../src/tftp/client.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(String(process.argv[i]).replace(/^--/, ''), String(process.argv[i + 1]));
const TRANSFERS = Number(args.get('transfers') ?? 100);
const SIZE = Number(args.get('size') ?? 1024 * 1024);
const BLKSIZE = Number(args.get('blksize') ?? 1468);
const WINDOWSIZE = Number(args.get('windowsize') ?? 1); // tftpd-hpa has no RFC 7440: keep 1 to compare
const ROUNDS = Number(args.get('rounds') ?? 5);
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const children: ChildProcess[] = [];
const cleanup = (): void => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

/** Resolves once `child` prints a line matching `pattern` (bounded). */
function ready(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready after 20 s: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

/**
 * CPU seconds used so far by a server process: /proc/<pid>/stat utime+stime
 * in USER_HZ ticks (100 on Linux). Only meaningful for metalboot: in.tftpd's
 * per-transfer children are never waited for, so their CPU is not accounted.
 */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startMetalboot(root: string, port: number): Promise<number> {
  const serverUrl = pathToFileURL(path.join(PROJECT_ROOT, 'src/tftp/server.ts')).href;
  const code = `
    const { startTftpServer } = await import(${JSON.stringify(serverUrl)});
    // One client address for every transfer: no per-source cap.
    await startTftpServer({ host: '127.0.0.1', port: ${port}, root: ${JSON.stringify(root)}, maxTransfersPerSource: 1000 });
    console.log('READY');`;
  const loader = import.meta.resolve('@tapjs/typescript/import');
  const child = spawn(process.execPath, [`--import=${loader}`, '--input-type=module', '-e', code], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  await ready(child, /READY/, 'metalboot');
  return child.pid as number;
}

async function startTftpdHpa(root: string, port: number): Promise<number> {
  // -L foreground, -s chroot into root, -u nobody (default user, drops root).
  const child = spawn('in.tftpd', ['-L', '-s', root, '-a', `127.0.0.1:${port}`, '-u', 'nobody'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  // in.tftpd prints nothing when ready: poll with a real download (bounded).
  for (let i = 0; i < 50; i++) {
    const ok = await tftpGet({
      host: '127.0.0.1',
      port,
      file: 'file.bin',
      blksize: BLKSIZE,
      timeoutMs: 200,
      retries: 0,
    }).then(
      () => true,
      () => false,
    );
    if (ok) return child.pid as number;
    if (child.exitCode !== null) throw new Error(`in.tftpd exited with ${child.exitCode}`);
  }
  throw new Error('in.tftpd did not answer within 10 s');
}

/** One round: TRANSFERS concurrent downloads; returns wall time in ms. */
async function round(port: number, expected: string): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: TRANSFERS }, () =>
      tftpGet({
        host: '127.0.0.1',
        port,
        file: 'file.bin',
        blksize: BLKSIZE,
        windowsize: WINDOWSIZE > 1 ? WINDOWSIZE : undefined,
        timeoutMs: 1000,
      }),
    ),
  );
  const elapsed = performance.now() - started;
  const bad = results.filter((r) => r.sha256 !== expected).length;
  if (bad > 0) throw new Error(`${bad} downloads corrupted`);
  return elapsed;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function report(name: string, times: number[], cpu: number): number {
  const m = median(times);
  const mbps = (TRANSFERS * SIZE * 8) / (m / 1000) / 1e6;
  const cpuPerRound = cpu > 0 ? `${(cpu / times.length).toFixed(2)} s/round` : 'n/a';
  console.log(
    `${name.padEnd(10)} median ${m.toFixed(0)} ms, ${mbps.toFixed(0)} Mbit/s, server CPU ${cpuPerRound} (rounds: ${times.map((x) => x.toFixed(0)).join(', ')} ms)`,
  );
  return m;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tftp-bench-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755); // in.tftpd drops to "nobody"
  const content = randomBytes(SIZE);
  fs.writeFileSync(path.join(dir, 'file.bin'), content, { mode: 0o644 });
  const expected = createHash('sha256').update(content).digest('hex');
  console.log(
    `${TRANSFERS} concurrent transfers x ${SIZE} bytes, blksize ${BLKSIZE}, windowsize ${WINDOWSIZE}, ${ROUNDS} rounds each after a warm-up`,
  );
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, ${os.type()} ${os.release()}`,
  );

  const metalbootPort = await freeUdpPort();
  const metalbootPid = await startMetalboot(dir, metalbootPort);
  const hpaPort = await freeUdpPort();
  const hpaPid = await startTftpdHpa(dir, hpaPort);
  const servers = [
    { name: 'metalboot', port: metalbootPort, pid: metalbootPid, times: [] as number[], cpu: 0, uncounted: false },
    { name: 'tftpd-hpa', port: hpaPort, pid: hpaPid, times: [] as number[], cpu: 0, uncounted: true },
  ];
  for (const server of servers) await round(server.port, expected); // warm-up: page cache, JIT
  // Alternate the servers round by round so that background load on the
  // machine hits both alike instead of skewing one block of rounds.
  for (let i = 0; i < ROUNDS; i++) {
    for (const server of i % 2 === 0 ? servers : [...servers].reverse()) {
      const cpuBefore = cpuSeconds(server.pid);
      server.times.push(await round(server.port, expected));
      if (!server.uncounted) server.cpu += cpuSeconds(server.pid) - cpuBefore;
    }
  }
  const [metalboot, hpa] = servers.map((s) => report(s.name, s.times, s.cpu)) as [number, number];
  cleanup();
  console.log(`ratio metalboot / tftpd-hpa = ${(metalboot / hpa).toFixed(2)}x (goal <= 1.00x)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
