// The perfdhcp scenario: ISC's own DHCP load generator (Debian kea-admin) against metalboot and
// kea-dhcp4, each on its own namespace pair, in one run. perfdhcp offers a fixed rate of DORA
// exchanges (-r) for a few seconds; the rate rises step by step, both servers taking each step in
// turn (alternating who goes first), until a server loses more than 1 % of the exchanges it was
// offered. The figure is the highest rate a server held with ≤ 1 % lost.
//
// perfdhcp always acts as a relay agent: giaddr is its own address (10.250.0.2), inside the
// served 10.250.0.0/16, so both servers answer from their local pool to giaddr:67 (NOTES.md).
import fs from 'node:fs';
import path from 'node:path';
import { CLIENT_IP, SERVER_IP, type Pair } from './lib/netns.js';
import { Sampler } from './lib/proc.js';
import type { Running } from './lib/servers.js';

const PERFDHCP = '/usr/sbin/perfdhcp';

export interface PerfdhcpStep {
  rate: number;
  /** DISCOVERs sent: rate × seconds when perfdhcp kept up. */
  sent: number;
  /** ACKs received: completed exchanges. */
  completed: number;
  lost: number;
  lostShare: number;
  /** Replies that came after perfdhcp's 1 s drop time (counted as lost), DO + RA. */
  late: number;
  /** Slowest answer perfdhcp saw, DO or RA, ms. */
  maxDelayMs: number;
  /** Datagrams the server namespace's kernel dropped (UDP InErrors: receive buffer full). */
  udpDrops: number;
  serverCpuSeconds: number;
}

/** perfdhcp's final report: per exchange (DO first, then RA) sent/received/orphans/max delay. */
export function parseReport(text: string): { discovers: number; acks: number; late: number; maxDelayMs: number } {
  const all = (re: RegExp) => [...text.matchAll(re)].map((m) => Number(m[1]));
  const sent = all(/sent packets: (\d+)/g);
  const received = all(/received packets: (\d+)/g);
  const late = all(/orphans: (\d+)/g).reduce((a, b) => a + b, 0);
  const maxDelayMs = Math.max(0, ...all(/max delay: ([\d.]+) ms/g));
  return { discovers: sent[0] ?? 0, acks: received[1] ?? 0, late, maxDelayMs };
}

function udpInErrors(pair: Pair): number {
  try {
    const lines = pair
      .run(pair.server, ['cat', '/proc/net/snmp'])
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const head = lines[0]?.split(/\s+/) ?? [];
    return Number(lines[1]?.split(/\s+/)[head.indexOf('InErrors')] ?? 0);
  } catch {
    return 0;
  }
}

let attempts = 0;

/** One step: `rate` DORA/s for `seconds` from `clients` random MACs. */
export async function perfdhcpStep(
  pair: Pair,
  server: Running,
  rate: number,
  seconds: number,
  clients: number,
  logDir: string,
): Promise<PerfdhcpStep> {
  const dropsBefore = udpInErrors(pair);
  const sampler = new Sampler(server.pid);
  // One file per attempt: a retried step must not read the report of the attempt before it.
  const log = path.join(logDir, `perfdhcp-${server.name}-${rate}-${++attempts}.txt`);
  const argv = [
    PERFDHCP,
    '-4',
    '-l',
    CLIENT_IP,
    '-R',
    String(clients),
    '-r',
    String(rate),
    '-p',
    String(seconds),
    '-W',
    '1000000',
    SERVER_IP,
  ];
  const child = pair.spawn(pair.client, argv, { logFile: log });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), (seconds + 30) * 1000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const res = sampler.stop();
  const { discovers, acks, late, maxDelayMs } = parseReport(fs.readFileSync(log, 'utf8'));
  const lost = Math.max(0, discovers - acks);
  const udpDrops = udpInErrors(pair) - dropsBefore;
  return {
    rate,
    sent: discovers,
    completed: acks,
    lost,
    lostShare: discovers ? lost / discovers : 1,
    late,
    maxDelayMs,
    udpDrops,
    serverCpuSeconds: res.cpuSeconds,
  };
}

export interface RampResult {
  /** Highest rate held with ≤ 1 % lost (0 when the first step failed). */
  held: number;
  steps: PerfdhcpStep[];
}

/**
 * Raises the rate by `factor` from `start` until each server has failed a step twice in a row
 * (a failed step is retried once: this machine is shared, one slow second should not decide).
 * Servers take each rate in turn, the order alternating per step.
 */
export async function ramp(
  contenders: Array<{ name: string; pair: Pair; server: Running }>,
  o: {
    start: number;
    factor: number;
    max: number;
    seconds: number;
    clients: number;
    logDir: string;
    say: (s: string) => void;
  },
): Promise<Record<string, RampResult>> {
  const out: Record<string, RampResult> = Object.fromEntries(contenders.map((c) => [c.name, { held: 0, steps: [] }]));
  // Not counted: metalboot's JIT warms up, Kea's lease file and both ARP caches fill.
  for (const c of contenders) await perfdhcpStep(c.pair, c.server, Math.round(o.start / 2), 2, o.clients, o.logDir);
  const active = new Set(contenders.map((c) => c.name));
  let step = 0;
  for (let rate = o.start; rate <= o.max && active.size > 0; rate = Math.round(rate * o.factor), step++) {
    const order = step % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      if (!active.has(c.name)) continue;
      let s = await perfdhcpStep(c.pair, c.server, rate, o.seconds, o.clients, o.logDir);
      if (s.lostShare > 0.01) {
        o.say(`perfdhcp ${c.name} ${rate}/s: ${(s.lostShare * 100).toFixed(2)} % lost, retrying once`);
        out[c.name]!.steps.push(s);
        s = await perfdhcpStep(c.pair, c.server, rate, o.seconds, o.clients, o.logDir);
      }
      out[c.name]!.steps.push(s);
      o.say(
        `perfdhcp ${c.name} ${rate}/s: ${s.completed}/${s.sent} DORAs completed, ${(s.lostShare * 100).toFixed(2)} % lost (${s.late} late, slowest ${s.maxDelayMs} ms, ${s.udpDrops} UDP drops in the server's kernel), server CPU ${s.serverCpuSeconds} s`,
      );
      // perfdhcp itself must have offered the rate, or the step measured the generator.
      const offeredShare = s.sent / (rate * o.seconds);
      if (s.lostShare <= 0.01 && offeredShare >= 0.95) out[c.name]!.held = rate;
      else active.delete(c.name);
      if (offeredShare < 0.95)
        o.say(`perfdhcp could not offer ${rate}/s (${s.sent} sent in ${o.seconds} s): the generator is the limit here`);
    }
  }
  return out;
}
