// Summarises a V8 CPU profile (`node --cpu-prof`): top frames by self time, self time by module,
// and inclusive time of chosen frames. Usage: node … bench/lib/profile.ts <file.cpuprofile> [top]
import fs from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Frame {
  frame: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idlePct: number;
  top: Frame[];
  byModule: Frame[];
  /** Inclusive time of frames whose name matches, e.g. render/validate, as a share of busy time. */
  inclusive: Frame[];
  /** The heaviest caller chains of the top native frames (what calls `read`, `writeBuffer`, …). */
  callers: Frame[];
}

function short(url: string): string {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const dist = u.indexOf('/dist/');
  if (dist >= 0) return u.slice(dist + 1);
  return u.startsWith('node:') ? u : path.basename(u);
}

function moduleOf(url: string): string {
  if (!url) return '(native/gc)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? u);
  }
  const dist = u.indexOf('/dist/');
  if (dist >= 0)
    return u
      .slice(dist + 1)
      .split('/')
      .slice(0, 2)
      .join('/');
  if (u.startsWith('node:')) return u.split('/')[0] ?? u;
  return u;
}

/**
 * `windows`: [start, end] pairs in microseconds of CLOCK_MONOTONIC (process.hrtime.bigint() / 1000n,
 * the clock V8 stamps profiles with); only samples inside them count, so start-up and idle gaps
 * between rounds stay out of the shares.
 */
export function summariseProfile(
  file: string,
  top = 25,
  inclusivePatterns: RegExp[] = [],
  windows: Array<[number, number]> = [],
): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = p.startTime;
  const inWindow = (ts: number) => windows.length === 0 || windows.some(([a, b]) => ts >= a && ts <= b);
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (inWindow(t)) self.set(id, (self.get(id) ?? 0) + dt / 1000);
  });
  const total =
    windows.length === 0
      ? (p.endTime - p.startTime) / 1000
      : windows.reduce((s, [a, b]) => s + Math.max(0, Math.min(b, p.endTime) - Math.max(a, p.startTime)), 0) / 1000;
  let idle = 0;
  const frames = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const name = `${functionName || '(anonymous)'} ${short(url)}${url ? `:${lineNumber + 1}` : ''}`;
    frames.set(name, (frames.get(name) ?? 0) + ms);
    const mod = functionName.startsWith('(') ? functionName : moduleOf(url);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    if (!url && !functionName.startsWith('(')) {
      const chain: string[] = [];
      for (let cur = parent.get(id); cur !== undefined && chain.length < 5; cur = parent.get(cur)) {
        const f = byId.get(cur)?.callFrame;
        if (!f || f.functionName === '(root)') break;
        chain.push(`${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`);
      }
      const key = `${functionName} ← ${chain.join(' ← ')}`;
      callers.set(key, (callers.get(key) ?? 0) + ms);
    }
    // Inclusive: every matching ancestor frame (counted once per sample stack).
    if (inclusivePatterns.length) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const f = byId.get(cur)?.callFrame;
        if (!f) break;
        for (const re of inclusivePatterns) {
          const key = `${f.functionName} ${short(f.url)}`;
          if (re.test(key) && !seen.has(re.source)) {
            seen.add(re.source);
            inclusive.set(re.source, (inclusive.get(re.source) ?? 0) + ms);
          }
        }
      }
    }
  }
  const busy = Math.max(1, total - idle);
  const list = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([frame, ms]) => ({ frame, selfMs: Math.round(ms), selfPct: Math.round((ms / busy) * 1000) / 10 }));
  return {
    file,
    totalMs: Math.round(total),
    idlePct: Math.round((idle / total) * 1000) / 10,
    top: list(frames, top),
    byModule: list(modules, 15),
    inclusive: list(inclusive, 50),
    callers: list(callers, 8),
  };
}

export function printProfile(s: ProfileSummary): void {
  console.log(`profile ${s.file}: ${s.totalMs} ms, idle ${s.idlePct}% (shares below are of busy time)`);
  console.log('  top self time:');
  for (const f of s.top)
    console.log(`    ${String(f.selfPct).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.frame}`);
  console.log('  self time by module:');
  for (const f of s.byModule)
    console.log(`    ${String(f.selfPct).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.frame}`);
  console.log('  native frames by caller chain:');
  for (const f of s.callers)
    console.log(`    ${String(f.selfPct).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.frame}`);
  if (s.inclusive.length) {
    console.log('  inclusive:');
    for (const f of s.inclusive)
      console.log(`    ${String(f.selfPct).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.frame}`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile.ts <file.cpuprofile> [top] [inclusive-regex…]');
    process.exit(2);
  }
  const windowsFile = process.env.PROFILE_WINDOWS; // JSON [[startUs, endUs], …] written by bench/run.ts
  const windows = windowsFile ? (JSON.parse(fs.readFileSync(windowsFile, 'utf8')) as Array<[number, number]>) : [];
  printProfile(
    summariseProfile(
      file,
      Number(process.argv[3] ?? 25),
      process.argv.slice(4).map((r) => new RegExp(r)),
      windows,
    ),
  );
}
