// The `postgres` scenario's storm: the storm spread over two instances on one PostgreSQL by
// segment — each instance on its own namespace pair (10.250.0.0/16, and 10.251.0.0/16 for the
// second) with its own DHCP range and half the machines, as a second segment's boot server is
// deployed — against one instance on SQLite with all of them. Never two authoritative DHCP servers
// on one segment. Goal: 0 failed machines, wall ≤ 1.1×.
import type { Job, RegisterResult, StormResult } from '../lib/jobs.js';
import { CLIENT_IP, IFNAME, ipBatch, SERVER_IP, type Pair } from '../lib/netns.js';
import type { BenchPostgres } from '../lib/postgres.js';
import type { ResourceReport } from '../lib/proc.js';
import { clusterInput, hostnameOf, machineInput, SIZES } from '../lib/registry.js';
import { DHCP_POOL, startMetalboot } from '../lib/servers.js';
import { fmt, median } from '../lib/stats.js';
import {
  cpuOf,
  type PartReport,
  pgRunning,
  type Plan,
  type PostgresScenarioOptions,
  round2,
  sum,
} from './postgres-common.js';

const SEG_B = {
  serverIp: '10.251.0.1',
  clientIp: '10.251.0.2',
  range: { first: '10.251.16.1', last: '10.251.255.254' },
};
/** Storm machine i's reserved address on segment `octet` (10.250 or 10.251): 250 per /24, as stormIp. */
const segIp = (octet: number, i: number) => `10.${octet}.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

/** Re-address a fresh pair as the second segment (10.251.0.0/16): same shape, another subnet. */
function readdress(pair: Pair): void {
  // The limited-broadcast route (DHCP) is re-stated: removing an address can take routes with it.
  for (const [ns, from, to] of [
    [pair.server, SERVER_IP, SEG_B.serverIp],
    [pair.client, CLIENT_IP, SEG_B.clientIp],
  ] as const)
    ipBatch(ns, [
      `addr del ${from}/16 dev ${IFNAME}`,
      `addr add ${to}/16 dev ${IFNAME}`,
      `route replace 255.255.255.255/32 dev ${IFNAME}`,
    ]);
}

export async function stormPart(
  o: PostgresScenarioOptions,
  plan: Plan,
  pg: BenchPostgres,
  newPair: () => Pair,
): Promise<PartReport> {
  const N = o.stormMachines;
  const half = Math.floor(N / 2);
  o.say(
    `postgres storm: ${N} machines (DHCP → TFTP → iPXE → kernel ${SIZES.kernel >> 20} MiB → initramfs ${SIZES.initramfs >> 20} MiB → config): one instance on SQLite vs two on one PostgreSQL, one per segment with ${half} and ${N - half} machines, ${o.stormRounds} rounds`,
  );
  const single = newPair();
  const segA = newPair();
  const segB = newPair();
  readdress(segB);
  const ipsA = Array.from({ length: half }, (_, i) => segIp(250, i));
  const ipsB = Array.from({ length: N - half }, (_, n) => segIp(251, half + n));
  const ipsAll = Array.from({ length: N }, (_, i) => segIp(250, i));
  ipBatch(
    single.client,
    ipsAll.map((ip) => `addr add ${ip}/32 dev ${IFNAME}`),
  );
  ipBatch(
    segA.client,
    ipsA.map((ip) => `addr add ${ip}/32 dev ${IFNAME}`),
  );
  ipBatch(
    segB.client,
    ipsB.map((ip) => `addr add ${ip}/32 dev ${IFNAME}`),
  );
  const start = (pair: Pair, name: string, cpus: string | undefined, extra: object) =>
    startMetalboot(pair, {
      productRoot: o.productRoot,
      name,
      root: o.work,
      assetsDir: o.assetsDir,
      token: o.token,
      port: 8080,
      dhcp: true,
      tftp: true,
      cpus,
      ...extra,
    });
  const sqlite = await start(single, 'mb-pg-storm-sqlite', plan.a, {});
  const url = await pg.createDatabase();
  const a = await start(segA, 'mb-pg-storm-a', plan.a, { database: url, dhcpRange: DHCP_POOL });
  const b = await start(segB, 'mb-pg-storm-b', plan.b, {
    database: url,
    serverIp: SEG_B.serverIp,
    dhcpRange: SEG_B.range,
  });
  const register = async (pair: Pair, base: string, first: number, ips: string[], cluster: boolean) => {
    const r = await o.runJob<RegisterResult>(
      pair,
      {
        kind: 'register',
        base,
        token: o.token,
        cluster: cluster ? clusterInput() : undefined,
        machines: ips.map((ip, n) => machineInput(first + n, ip)),
        concurrency: 4,
      },
      [],
      600_000,
    );
    o.say(`postgres storm: registered ${r.result.registered} machines on ${base} in ${fmt(r.result.ms)} ms`);
  };
  await register(single, sqlite.base, 0, ipsAll, true);
  await register(segA, a.base, 0, ipsA, true);
  await register(segB, b.base, half, ipsB, false); // the cluster is in the shared database already
  const job = (serverIp: string, first: number, ips: string[]): Job => ({
    kind: 'storm',
    serverIp,
    first,
    machines: ips.length,
    ips,
    hostnames: ips.map((_, n) => hostnameOf(first + n)),
    tftpFile: 'ipxe.efi',
    blksize: 1468,
    sizes: SIZES,
    spreadMs: o.spreadMs,
    deadlineMs: 600_000,
  });
  type Round = { wallMs: number; failed: number; retries: number; cpuS: number; failures: string[] };
  const pgS = pgRunning(pg);
  const of = (ms: Array<{ result: StormResult; resources: Record<string, ResourceReport> }>): Round => ({
    wallMs: Math.max(...ms.map((m) => m.result.wallMs)),
    failed: sum(ms.map((m) => m.result.failed)),
    retries: sum(ms.map((m) => m.result.retries)),
    cpuS: sum(ms.map((m) => cpuOf(m.resources))),
    failures: ms.flatMap((m) => m.result.failures.slice(0, 3).map((f) => `#${f.machine} ${f.phase}: ${f.error}`)),
  });
  // `warm`: a few machines of each side (warm-up); else all of them.
  const cut = (ips: string[], warm: boolean) => (warm ? ips.slice(0, Math.min(10, ips.length)) : ips);
  const contenders = [
    {
      name: 'sqlite',
      run: async (warm: boolean) =>
        of([
          await o.runJob<StormResult>(
            single,
            job('10.250.0.1', 0, warm ? ipsAll.slice(0, Math.min(20, N)) : ipsAll),
            [sqlite],
            660_000,
          ),
        ]),
    },
    {
      name: 'pg-two',
      // Both segments power on at the same moment; the round's wall is the later one's.
      run: async (warm: boolean) =>
        of(
          await Promise.all([
            o.runJob<StormResult>(segA, job('10.250.0.1', 0, cut(ipsA, warm)), [a, pgS], 660_000),
            o.runJob<StormResult>(segB, job(SEG_B.serverIp, half, cut(ipsB, warm)), [b], 660_000),
          ]),
        ),
    },
  ];
  for (const c of contenders) {
    const w = await c.run(true);
    o.say(`postgres storm warm-up ${c.name}: ${fmt(w.wallMs)} ms, ${w.failed} failed ${w.failures.join(' | ')}`);
  }
  const rounds: Record<string, Round[]> = { sqlite: [], 'pg-two': [] };
  for (let r = 0; r < o.stormRounds; r++)
    for (const c of r % 2 === 0 ? contenders : [...contenders].reverse()) {
      const x = await c.run(false);
      rounds[c.name]!.push(x);
      o.say(
        `postgres storm round ${r + 1} ${c.name}: wall ${fmt(x.wallMs)} ms, ${x.failed} failed, ${x.retries} retries, server CPU ${round2(x.cpuS)} s${x.failures.length ? `; failures: ${x.failures.join(' | ')}` : ''}`,
      );
    }
  const wall = (k: string) => median(rounds[k]!.map((x) => x.wallMs));
  const failed = (k: string) => sum(rounds[k]!.map((x) => x.failed));
  const ratio = wall('pg-two') / wall('sqlite');
  const met = failed('pg-two') === 0 && ratio <= 1.1;
  const misses: string[] = [];
  if (failed('pg-two')) misses.push(`storm: ${failed('pg-two')} machines failed on the two PostgreSQL instances`);
  if (ratio > 1.1)
    misses.push(`storm wall ${fmt(wall('pg-two'))} vs ${fmt(wall('sqlite'))} ms = ${ratio.toFixed(2)}× (goal ≤ 1.1×)`);
  return {
    rows: [
      {
        metric: `storm wall s, ${N} machines over two segments, two instances on one PostgreSQL (failed: ${failed('pg-two')} vs ${failed('sqlite')})`,
        metalboot: wall('pg-two') / 1000,
        reference: wall('sqlite') / 1000,
        referenceName: 'one instance on SQLite',
        ratio,
        goal: '≤ 1.10, 0 failed',
        met,
      },
    ],
    misses,
    details: { machines: N, rounds: o.stormRounds, spreadMs: o.spreadMs, perRound: rounds },
  };
}
