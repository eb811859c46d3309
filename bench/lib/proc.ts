// Server resource samples from /proc: RSS and CPU of a process and its descendants (nginx
// workers, in.tftpd's per-transfer children). Namespaces do not hide pids, so the orchestrator
// in the host namespace can read them.
import fs from 'node:fs';

const TICK = 100; // USER_HZ

interface ProcStat {
  /** utime + stime + cutime + cstime, in seconds (children that were waited for count too). */
  cpu: number;
  /** The kernel's share of `cpu` (stime + cstime). */
  sys: number;
  rssMb: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21) pages
    const cpu = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
    const rssMb = (Number(f[21]) * 4096) / 1024 / 1024;
    return { cpu, sys: (Number(f[12]) + Number(f[14])) / TICK, rssMb };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean))
        out.push(Number(c));
    } catch {
      // raced with exit
    }
  }
  return out;
}

/** The process and all its live descendants. */
export function tree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length && all.length < 10_000; i++) all.push(...childrenOf(all[i] as number));
  return all;
}

export interface TreeSample {
  cpu: number;
  rssMb: number;
}

export function sampleTree(pid: number): TreeSample {
  let cpu = 0;
  let rssMb = 0;
  for (const p of tree(pid)) {
    const s = readStat(p);
    if (!s) continue;
    cpu += s.cpu;
    rssMb += s.rssMb;
  }
  return { cpu, rssMb };
}

export interface ResourceReport {
  /** CPU seconds used by the server (tree) during the measured window. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds: 1.0 = one core busy. */
  cpuCores: number;
  /** Kernel (system) CPU seconds within cpuSeconds. */
  sysSeconds: number;
  rssMaxMb: number;
  rssStartMb: number;
  samples: number;
}

/**
 * Samples every `intervalMs` until stopped. CPU of children that exited without being waited for
 * (in.tftpd's transfer processes) is only seen while they live: the reported CPU is a lower
 * bound for such servers.
 */
export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private start: TreeSample;
  private readonly startedAt = performance.now();
  private rssMax = 0;
  private n = 0;
  /** CPU of descendants seen alive, by pid: a child that exits between samples keeps its last value. */
  private readonly seen = new Map<number, { cpu: number; sys: number }>();
  private readonly seenAtStart = new Map<number, { cpu: number; sys: number }>();

  constructor(
    private readonly pid: number,
    intervalMs = 200,
  ) {
    this.start = sampleTree(pid);
    for (const p of tree(pid)) this.seenAtStart.set(p, readStat(p) ?? { cpu: 0, sys: 0 });
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
    this.timer.unref();
  }

  private take(): void {
    let rss = 0;
    for (const p of tree(this.pid)) {
      const s = readStat(p);
      if (!s) continue;
      rss += s.rssMb;
      this.seen.set(p, { cpu: s.cpu, sys: s.sys });
    }
    this.rssMax = Math.max(this.rssMax, rss);
    this.n++;
  }

  stop(): ResourceReport {
    this.take();
    if (this.timer) clearInterval(this.timer);
    const wall = (performance.now() - this.startedAt) / 1000;
    let cpu = 0;
    let sys = 0;
    for (const [p, c] of this.seen) {
      cpu += c.cpu - (this.seenAtStart.get(p)?.cpu ?? 0);
      sys += c.sys - (this.seenAtStart.get(p)?.sys ?? 0);
    }
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      cpuSeconds: round(cpu),
      cpuCores: round(cpu / wall),
      sysSeconds: round(sys),
      rssMaxMb: round(this.rssMax),
      rssStartMb: round(this.start.rssMb),
      samples: this.n,
    };
  }
}
