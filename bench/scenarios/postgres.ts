// `postgres` (issue 15): metalboot on PostgreSQL against metalboot on SQLite, and two instances on
// one PostgreSQL against one — three comparisons in one run, the rounds alternating:
//
// 1. render, one instance on PostgreSQL ÷ one on SQLite (goal ≥ 0.5× req/s);
// 2. render, two instances on one PostgreSQL, each on its own CPU with its own half of the load
//    generator (its own half of the registry) ÷ one instance on PostgreSQL (goal ≥ 1.7× req/s;
//    ÷ one on SQLite reported beside it);
// 3. the storm, spread over two instances on one PostgreSQL by segment — each instance on its own
//    namespace pair (10.250.0.0/16 and 10.251.0.0/16) with its own DHCP range and half the
//    machines, as a second segment's boot server is deployed — ÷ one instance on SQLite with all
//    of them (goal: 0 failed, wall ≤ 1.1×). Never two authoritative DHCP servers on one segment.
//
// PostgreSQL is started by the bench (lib/postgres.ts) and reached over its unix socket.
import path from 'node:path';
import type { Job, RenderResult } from '../lib/jobs.js';
import { pinning, type Pair } from '../lib/netns.js';
import { seedPostgres, startBenchPostgres, type BenchPostgres } from '../lib/postgres.js';
import { seedRegistry } from '../lib/registry.js';
import { startMetalboot, type Running } from '../lib/servers.js';
import { fmt, median } from '../lib/stats.js';
import {
  cpuOf,
  cpuPlan,
  type PartReport,
  pgRunning,
  type Plan,
  type PostgresScenarioOptions,
  round2,
  sum,
} from './postgres-common.js';
import { stormPart } from './postgres-storm.js';

export { cpuPlan, type PostgresScenarioOptions } from './postgres-common.js';

export async function postgresScenario(o: PostgresScenarioOptions) {
  const plan = cpuPlan(o.cpus, o.pinned);
  const savedClient = pinning.client;
  if (plan.gen) pinning.client = plan.gen;
  o.say(`postgres: ${plan.note}; synchronous_commit=${o.pgSync}`);
  const pairs: Pair[] = [];
  const newPair = () => {
    const p = o.createPair();
    pairs.push(p);
    return p;
  };
  const pg = await startBenchPostgres({ root: o.work, cpus: plan.pg, synchronousCommit: o.pgSync });
  o.say(`postgres: PostgreSQL ${pg.version} started (pid ${pg.pid})`);
  try {
    const render = await renderPart(o, plan, pg, newPair);
    const storm = await stormPart(o, plan, pg, newPair);
    const rows = [...render.rows, ...storm.rows];
    const misses = [...render.misses, ...storm.misses];
    return {
      scenario: 'postgres' as const,
      goal: 'render on PostgreSQL ≥ 0.5 × SQLite; two instances ≥ 1.7 × one; storm over two instances: 0 failed, wall ≤ 1.1 × SQLite',
      met: misses.length === 0,
      rows,
      misses,
      details: {
        plan,
        postgres: pg.version,
        synchronousCommit: o.pgSync,
        render: render.details,
        storm: storm.details,
      },
    };
  } finally {
    pinning.client = savedClient;
    for (const p of pairs) await p.destroy();
    pg.stop();
  }
}

async function renderPart(
  o: PostgresScenarioOptions,
  plan: Plan,
  pg: BenchPostgres,
  newPair: () => Pair,
): Promise<PartReport> {
  const N = o.machines;
  const pair = newPair();
  const start = (
    name: string,
    port: number,
    cpus: string | undefined,
    extra: { dataDir?: string; database?: string },
  ) =>
    startMetalboot(pair, {
      productRoot: o.productRoot,
      name,
      root: o.work,
      assetsDir: o.assetsDir,
      token: o.token,
      port,
      dhcp: false,
      tftp: false,
      cpus,
      ...extra,
    });
  const sqliteDir = path.join(o.work, 'mb-pg-sqlite', 'data');
  o.say(
    `postgres render: seeded ${fmt(N)} machines into SQLite in ${fmt(await seedRegistry(sqliteDir, o.assetsDir, 0, N))} ms`,
  );
  const sqlite = await start('mb-pg-sqlite', 8080, plan.a, { dataDir: sqliteDir });
  const seeded = async () => {
    const url = await pg.createDatabase();
    o.say(
      `postgres render: seeded ${fmt(N)} machines into PostgreSQL in ${fmt(await seedPostgres(url, o.assetsDir, 0, N))} ms`,
    );
    return url;
  };
  const one = await start('mb-pg-one', 8082, plan.a, { database: await seeded() });
  const shared = await seeded();
  const twoA = await start('mb-pg-two-a', 8084, plan.a, { database: shared });
  const twoB = await start('mb-pg-two-b', 8086, plan.b, { database: shared });
  const job = (base: string, first: number, machines: number, durationS: number): Job => ({
    kind: 'render',
    base,
    mode: 'pair',
    first,
    machines,
    connections: o.connections,
    durationS,
  });
  const half = Math.floor(N / 2);
  const pgS = pgRunning(pg);
  type Round = { reqPerSec: number; errors: number; bad: number; cpuS: number; requests: number };
  const runOne = async (server: Running & { base: string }, withPg: boolean, d: number): Promise<Round> => {
    const m = await o.runJob<RenderResult>(
      pair,
      job(server.base, 0, N, d),
      withPg ? [server, pgS] : [server],
      d * 1000 + 120_000,
    );
    const r = m.result;
    return {
      reqPerSec: r.reqPerSec,
      errors: r.errors + r.non2xx,
      bad: r.bad,
      cpuS: cpuOf(m.resources),
      requests: r.requests,
    };
  };
  const runTwo = async (d: number): Promise<Round> => {
    // Each half of the generator boots its own half of the registry on its own instance.
    const [x, y] = await Promise.all([
      o.runJob<RenderResult>(pair, job(twoA.base, 0, half, d), [twoA, pgS], d * 1000 + 120_000),
      o.runJob<RenderResult>(pair, job(twoB.base, half, N - half, d), [twoB], d * 1000 + 120_000),
    ]);
    return {
      reqPerSec: x.result.reqPerSec + y.result.reqPerSec,
      errors: x.result.errors + x.result.non2xx + y.result.errors + y.result.non2xx,
      bad: x.result.bad + y.result.bad,
      cpuS: cpuOf(x.resources) + cpuOf(y.resources),
      requests: x.result.requests + y.result.requests,
    };
  };
  const contenders: Array<{ name: string; run: (d: number) => Promise<Round> }> = [
    { name: 'sqlite', run: (d) => runOne(sqlite, false, d) },
    { name: 'pg-one', run: (d) => runOne(one, true, d) },
    { name: 'pg-two', run: runTwo },
  ];
  for (const c of contenders) await c.run(Math.min(3, o.durationS)); // warm-up
  const rounds: Record<string, Round[]> = { sqlite: [], 'pg-one': [], 'pg-two': [] };
  for (let r = 0; r < o.rounds; r++) {
    for (const c of r % 2 === 0 ? contenders : [...contenders].reverse()) {
      const x = await c.run(o.durationS);
      rounds[c.name]!.push(x);
      o.say(
        `postgres render round ${r + 1} ${c.name}: ${fmt(x.reqPerSec)} req/s, ${x.errors} errors/non-2xx, ${x.bad} bad, server CPU ${round2(x.cpuS)} s${c.name === 'sqlite' ? '' : ' (metalboot + PostgreSQL)'}`,
      );
    }
  }
  const rps = (k: string) => median(rounds[k]!.map((x) => x.reqPerSec));
  const cpuMs = (k: string) => median(rounds[k]!.map((x) => (x.cpuS * 1000) / Math.max(1, x.requests)));
  const errors = (k: string) => sum(rounds[k]!.map((x) => x.errors + x.bad));
  const misses: string[] = [];
  const r1 = rps('pg-one') / rps('sqlite');
  const r2 = rps('pg-two') / rps('pg-one');
  if (r1 < 0.5)
    misses.push(
      `render on PostgreSQL ${fmt(rps('pg-one'))} vs SQLite ${fmt(rps('sqlite'))} req/s = ${r1.toFixed(2)}× (goal ≥ 0.5×)`,
    );
  if (r2 < 1.7)
    misses.push(
      `render, two instances ${fmt(rps('pg-two'))} vs one ${fmt(rps('pg-one'))} req/s = ${r2.toFixed(2)}× (goal ≥ 1.7×)`,
    );
  for (const k of Object.keys(rounds)) if (errors(k)) misses.push(`render ${k}: ${errors(k)} failed or wrong answers`);
  const row = (metric: string, a: number, b: number, ref: string, goal: string, met: boolean | null) => ({
    metric,
    metalboot: a,
    reference: b,
    referenceName: ref,
    ratio: a / b,
    goal,
    met,
  });
  return {
    rows: [
      row(
        `render req/s, PostgreSQL vs SQLite, one instance, ${fmt(N)} machines`,
        rps('pg-one'),
        rps('sqlite'),
        'metalboot on SQLite',
        '≥ 0.50',
        r1 >= 0.5,
      ),
      row(
        'render server CPU ms per request (PostgreSQL: metalboot + postgres)',
        cpuMs('pg-one'),
        cpuMs('sqlite'),
        'metalboot on SQLite',
        'report',
        null,
      ),
      row(
        'render req/s, two instances on one PostgreSQL vs one',
        rps('pg-two'),
        rps('pg-one'),
        'one instance on PostgreSQL',
        '≥ 1.70',
        r2 >= 1.7,
      ),
      row(
        'render req/s, two instances on one PostgreSQL vs one on SQLite',
        rps('pg-two'),
        rps('sqlite'),
        'one instance on SQLite',
        'report',
        null,
      ),
    ],
    misses,
    details: {
      machines: N,
      rounds: o.rounds,
      durationS: o.durationS,
      connectionsPerInstance: o.connections,
      perRound: rounds,
    },
  };
}
