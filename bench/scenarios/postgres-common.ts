// What the `postgres` scenario's parts share: its options, who runs on which CPU, small sums.
import type { Job, JobResult } from '../lib/jobs.js';
import type { Pair } from '../lib/netns.js';
import type { BenchPostgres } from '../lib/postgres.js';
import type { ResourceReport } from '../lib/proc.js';
import type { Running } from '../lib/servers.js';

export interface PostgresScenarioOptions {
  work: string;
  assetsDir: string;
  token: string;
  productRoot?: string;
  /** Render registry size, render rounds, seconds and connections per render round (per instance). */
  machines: number;
  rounds: number;
  durationS: number;
  connections: number;
  /** Storm machines (split in halves over the two segments), rounds, power-on window. */
  stormMachines: number;
  stormRounds: number;
  spreadMs: number;
  /** PostgreSQL's synchronous_commit (lib/postgres.ts says why `off` is the default). */
  pgSync: 'on' | 'off';
  cpus: number;
  pinned: boolean;
  say: (line: string) => void;
  createPair: () => Pair;
  runJob: <R extends JobResult>(
    pair: Pair,
    job: Job,
    servers: Running[],
    timeoutMs: number,
  ) => Promise<{ result: R; resources: Record<string, ResourceReport> }>;
}

/**
 * Who runs where. The single instance (SQLite or PostgreSQL) always gets `a`; the second instance
 * `b`; PostgreSQL `pg`; the load generators `gen`. Meaningful only with ≥ 4 CPUs: on 2, both
 * instances share CPU 1 and the two-instance figures show the cost of sharing a core, not scaling.
 */
export function cpuPlan(cpus: number, pinned: boolean) {
  if (!pinned || cpus < 2)
    return { note: 'no CPU pinning' } as { a?: string; b?: string; pg?: string; gen?: string; note: string };
  if (cpus >= 4)
    return {
      a: String(cpus - 1),
      b: String(cpus - 2),
      pg: String(cpus - 3),
      gen: cpus === 4 ? '0' : `0-${cpus - 4}`,
      note: `instances on CPUs ${cpus - 1} and ${cpus - 2}, PostgreSQL on ${cpus - 3}, load generator on the rest`,
    };
  if (cpus === 3)
    return { a: '2', b: '1', gen: '0', note: 'instances on CPUs 2 and 1, load generator on 0, PostgreSQL not pinned' };
  return {
    a: '1',
    b: '1',
    gen: '0',
    note: 'only 2 CPUs: both instances share CPU 1, PostgreSQL is not pinned — the two-instance ratios are not a scaling measurement here (run on ≥ 4 CPUs)',
  };
}

export type Plan = ReturnType<typeof cpuPlan>;

export const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const cpuOf = (r: Record<string, ResourceReport>) => sum(Object.values(r).map((x) => x.cpuSeconds));

/** The PostgreSQL server as a sampled "server" of a round (its backends are the postmaster's children). */
export const pgRunning = (pg: BenchPostgres): Running =>
  ({ name: 'postgres', pid: pg.pid, dir: '', log: '' }) as unknown as Running;

/** One part's rows for the report table, what it missed, and its details. */
export interface PartReport {
  rows: Array<{
    metric: string;
    metalboot: number;
    reference: number;
    referenceName: string;
    ratio: number;
    goal: string;
    met: boolean | null;
  }>;
  misses: string[];
  details: Record<string, unknown>;
}
