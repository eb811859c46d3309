// `--perf`: one extra round of a scenario under `perf record`, summarised by perf-breakdown.ts.
// perf samples the server's threads from the host namespace (pids are global); the server was
// started with --perf-basic-prof so JIT frames have names. Needs `perf` (Debian: linux-perf).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { breakdown, type Breakdown } from './perf-breakdown.js';
import { tree } from './proc.js';

export function perfAvailable(): boolean {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The node processes under `pid` (the spawn wrappers exec into node, but do not count on it). */
function nodePids(pid: number): number[] {
  return tree(pid).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false;
    }
  });
}

/**
 * Records `seconds` of the server's CPU while `load` runs (started once perf is attached), then
 * writes `perf script` output beside `dataFile` and returns its breakdown.
 */
export async function perfDuring<T>(
  pid: number,
  seconds: number,
  dataFile: string,
  load: () => Promise<T>,
): Promise<{ result: T; breakdown: Breakdown; scriptFile: string }> {
  const pids = nodePids(pid);
  if (pids.length === 0) throw new Error(`perf: no node process under pid ${pid}`);
  const rec = spawn(
    'perf',
    [
      'record',
      '-e',
      'cpu-clock',
      '-F',
      '1999',
      '-g',
      '-p',
      pids.join(','),
      '-o',
      dataFile,
      '--',
      'sleep',
      String(seconds),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  rec.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => rec.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 300)); // attached before the load starts
  const result = await load();
  const code = await exited;
  if (code !== 0) throw new Error(`perf record exited ${code}: ${err}`);
  const scriptFile = `${dataFile.replace(/\.data$/, '')}.script.txt`;
  const out = fs.openSync(scriptFile, 'w');
  try {
    const r = spawnSync('perf', ['script', '-i', dataFile], {
      stdio: ['ignore', out, 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`perf script exited ${r.status}: ${r.stderr?.toString().slice(-2000)}`);
  } finally {
    fs.closeSync(out);
  }
  return { result, breakdown: breakdown(fs.readFileSync(scriptFile, 'utf8')), scriptFile };
}
