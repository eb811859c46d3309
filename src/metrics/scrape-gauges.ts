/** Metrics read at scrape time from the core's services: machines by state, stalled machines, leadership, refused discoveries, the WAL. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Core } from '../core/index.js';
import type { WalStats } from '../core/ports/types.js';
import { MACHINE_STATES } from '../core/types.js';

/** Values read at scrape time: the store is the truth, so these cannot drift from it. */
export function scrapeGauges(core: Core, registers: Registry[]): void {
  const machines = core.machines;
  new Gauge({
    name: 'metalboot_machines',
    help: 'Machines by state (every state is reported, zeros included, so alerts see a 0 not an absent series)',
    labelNames: ['state'],
    registers,
    async collect() {
      // Counted by SQLite: reading every machine per scrape grew with the registry (40,000 machines).
      const counts = await machines.countByState();
      for (const state of MACHINE_STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });
  walSamples(() => core.walStats(), registers);
  new Gauge({
    name: 'metalboot_machines_stalled',
    help: 'Machines marked stalled: silent in a state for longer than its deadline',
    registers,
    async collect() {
      this.set((await machines.countByState()).get('stalled') ?? 0);
    },
  });
  new Gauge({
    name: 'metalboot_bmcs',
    help: 'BMCs by whether the last call to them since start succeeded (reachable="false": wrong password, unreachable, timeout, …)',
    labelNames: ['reachable'],
    registers,
    collect() {
      const r = core.power.bmcReachability();
      this.set({ reachable: 'true' }, r.reachable);
      this.set({ reachable: 'false' }, r.failing);
    },
  });
  new Gauge({
    name: 'metalboot_leader',
    help: '1 while this instance runs the stall detector and housekeeping (on PostgreSQL the one holding the leader lock; always 1 on SQLite), else 0',
    registers,
    collect() {
      this.set(core.singletons.leadership.isLeader() ? 1 : 0);
    },
  });
  const refused = core.machines.discoveryRefused;
  new Counter({
    name: 'metalboot_discovery_refused_total',
    help: 'Boots of unknown MACs not recorded as discovered: not a NIC address (zero, broadcast, multicast), or over the per-source rate',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      this.inc({ reason: 'not-station' }, refused.notStation);
      this.inc({ reason: 'rate-limited' }, refused.rateLimited);
    },
  });
}

/** The store's write-ahead log, read at scrape time (a store without one reports nothing). */
function walSamples(wal: () => WalStats | undefined, registers: Registry[]): void {
  new Gauge({
    name: 'metalboot_store_wal_max_bytes',
    help: 'The bound the database write-ahead log is kept under (--wal-max-mb)',
    registers,
    collect() {
      const s = wal();
      if (s) this.set(s.maxBytes);
    },
  });
  // Counters the store keeps itself: read at scrape time (reset, then the store's running total).
  const walCounter = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof wal>>) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const s = wal();
        if (!s) return;
        this.reset();
        this.inc(read(s));
      },
    });
  walCounter(
    'metalboot_store_wal_written_bytes_total',
    'Bytes written to the database write-ahead log since start (what requests cost in WAL)',
    (s) => s.bytesWritten,
  );
  walCounter(
    'metalboot_store_wal_restarts_total',
    'Checkpoints that copied the whole WAL into the database so it starts again from its beginning',
    (s) => s.restarts,
  );
}
