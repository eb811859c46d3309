import type { Store, StoreHealth, WalStats } from './ports/types.js';
import type { LeaseRepo } from './ports/leases.js';
import { BootService, type BootSettings, type KernelArgProvider } from './boot/boot-service.js';
import { ClusterService } from './registry/clusters.js';
import type { DiscoveryLimits } from './registry/discovery.js';
import { DEFAULT_RETENTION, Housekeeping, type RetentionSettings } from './registry/housekeeping.js';
import {
  ConfigBinder,
  DEFAULT_CONFIG_BINDING,
  DhcpSightings,
  NO_NEIGHBOURS,
  type ConfigBinding,
  type NeighbourTable,
} from './binding/config-binding.js';
import { ConfigGuard } from './binding/config-guard.js';
import { KernelLogBuffer } from './progress/kernel-log.js';
import { PowerService } from './power/power-service.js';
import type { BmcDriverFactory, PowerDriver } from './power/power-driver.js';
import { PowerBatches } from './power/power-batch.js';
import { followWipeWithPxe, type PoweredReimage, reimageWithPower } from './power/reimage-with-power.js';
import type { Actor } from './registry/clusters.js';
import { MachineService } from './registry/machines.js';
import { ProgressTracker } from './progress/tracker.js';
import { BmcService, type SecretSealer } from './power/bmc.js';
import { DhcpTftpObserver } from './network/dhcp-tftp-observer.js';
import { ConfigRenderer, type DocumentProvider } from './config/render.js';
import { FleetService } from './fleet/fleet-service.js';
import type { TemplateSet } from './boot/templates.js';
import { StallDetector } from './progress/stall.js';
import { alwaysLeader, Singletons } from './progress/singletons.js';
import type { Leadership } from './ports/leadership.js';
import { History } from './timeline/history.js';
import { Timeline, type Clock } from './timeline/timeline.js';
import type { MachineState } from './types.js';

export interface CoreOptions extends BootSettings {
  store: Store;
  templates: TemplateSet;
  /** Where `talos/<version>/config.schema.json` lives (the assets directory). */
  assetsDir: string;
  clock?: Clock;
  /** The power driver (Wake-on-LAN, built by the composition root); without it, power requests are refused. */
  powerDriver?: PowerDriver | null;
  /** Builds a driver for a machine's BMC (ipmitool, Redfish: server.ts); without it BMCs are stored but unused. */
  bmcDrivers?: BmcDriverFactory | null;
  /** Per-state stall deadlines in ms (default DEFAULT_STALL_DEADLINES). */
  stallDeadlines?: Partial<Record<MachineState, number>>;
  /** Discovered machines: cap, expiry, rate per source (default DEFAULT_DISCOVERY_LIMITS). */
  discovery?: DiscoveryLimits;
  /** Timeline and audit retention (default DEFAULT_RETENTION). */
  retention?: RetentionSettings;
  /** Which requests may get an install script with a config token (default DEFAULT_CONFIG_BINDING). */
  configBinding?: ConfigBinding;
  /** The kernel's neighbour table (src/net/neighbours.ts); without it the `neighbour` signal never ties. */
  neighbours?: NeighbourTable;
  /**
   * Kernel arguments other parts of metalboot add to install boots, and config documents they add
   * to every config (the Talos listeners' event sink and kernel-log endpoints: server.ts). Fixed
   * here; a provider whose answer is known only later (a listener's port) reads it when called.
   */
  kernelArgProviders?: readonly KernelArgProvider[];
  /** Seals BMC passwords at rest (a key in the data dir: server.ts); without it none can be stored. */
  secrets?: SecretSealer | null;
  documentProviders?: readonly DocumentProvider[];
  /** Errors of work the core does on its own (e.g. the BMC step after a wipe boot): the server logs them. */
  onBackgroundError?: (err: unknown) => void;
  /** Who runs the singletons among instances on one database (default: this one, always: SQLite). */
  leadership?: Leadership;
  /** What the store is, for the operator (the server status route); default 'sqlite'. */
  storeKind?: 'sqlite' | 'postgresql';
}

/**
 * The transport-agnostic core: every adapter (HTTP, DHCP, TFTP, Talos events, metrics) talks to
 * these services and nothing else. The store is not part of it: the composition root (server.ts)
 * built it, keeps it, and closes it.
 */
export interface Core {
  timeline: Timeline;
  /** The timeline and audit log read back (SSE replay, audit pages, a machine's last events). */
  history: History;
  renderer: ConfigRenderer;
  clusters: ClusterService;
  machines: MachineService;
  /** A fleet file (clusters and machines as documents) planned and applied; the registry exported as one. */
  fleet: FleetService;
  boot: BootService;
  network: DhcpTftpObserver;
  /**
   * DHCP's leases (allocate, commit, release, decline…): the DHCP adapter's one way to them. Each
   * is one atomic store operation with its rules in the port (ports/leases.ts), so the core hands
   * the port through rather than wrapping each method.
   */
  leases: LeaseRepo;
  /** Talos's own reports (event sink, kernel log) applied to machines. */
  progress: ProgressTracker;
  kernelLogs: KernelLogBuffer;
  stall: StallDetector;
  power: PowerService;
  /** Power a selection on (or off) one machine after another. */
  powerBatches: PowerBatches;
  /** Reimage with no hand on the machine: PXE once through its BMC, then power cycle (or on). */
  reimageWithPower(mac: string, wipe: 'system' | 'disk', actor: Actor): Promise<PoweredReimage>;
  /** Each machine's BMC: shown without its password, which is stored sealed. */
  bmc: BmcService;
  /** The background job that keeps the store bounded (discovered expiry, retention). */
  housekeeping: Housekeeping;
  /** The stall detector and housekeeping, run while this instance is the leader (`singletons.leadership`). */
  singletons: Singletons;
  storeKind: 'sqlite' | 'postgresql';
  /** Config binding, refusal audit and conflicts (binding/config-guard.ts). */
  guard: ConfigGuard;
  /** Resolves once everything written so far is durable: nothing is answered before it. */
  flushed(): Promise<void>;
  /** The store's write-ahead-log figures, when it keeps any (metrics). */
  walStats(): WalStats | undefined;
  /** Can the store be used now (`/healthz`, `/readyz`)? Cheap: a server-backed store asks at most once a second. */
  storeHealth(): Promise<StoreHealth>;
}

export function createCore(opts: CoreOptions): Core {
  const timeline = new Timeline(opts.store, opts.clock ?? (() => new Date()));
  const renderer = new ConfigRenderer(opts.assetsDir, { documentProviders: opts.documentProviders ?? [] });
  const clusters = new ClusterService(opts.store, timeline, renderer);
  const machines = new MachineService(opts.store, timeline, renderer, opts.discovery);
  // Who used which address in DHCP: DhcpTftpObserver notes, the binding reads.
  const sightings = new DhcpSightings();
  const guard = new ConfigGuard(
    opts.store,
    timeline,
    new ConfigBinder(opts.configBinding ?? DEFAULT_CONFIG_BINDING, opts.neighbours ?? NO_NEIGHBOURS, sightings),
  );
  const boot = new BootService(
    opts.store,
    timeline,
    machines,
    renderer,
    opts.templates,
    opts,
    guard,
    opts.kernelArgProviders ?? [],
  );
  const network = new DhcpTftpObserver(opts.store, timeline, machines, undefined, sightings);
  const kernelLogs = new KernelLogBuffer();
  const progress = new ProgressTracker(opts.store, timeline, machines, kernelLogs);
  const stall = new StallDetector(opts.store, timeline, progress, opts.stallDeadlines);
  const bmc = new BmcService(opts.store, timeline, opts.secrets ?? null);
  const power = new PowerService(opts.store, timeline, bmc, opts.powerDriver ?? null, opts.bmcDrivers ?? null);
  followWipeWithPxe(timeline, power, opts.onBackgroundError ?? (() => undefined));
  const housekeeping = new Housekeeping(
    opts.store,
    timeline,
    machines.discoveryLimits,
    opts.retention ?? DEFAULT_RETENTION,
  );
  const store = opts.store;
  return {
    timeline,
    history: new History(store),
    renderer,
    clusters,
    machines,
    fleet: new FleetService(clusters, machines, renderer, timeline),
    boot,
    network,
    leases: store.leases,
    progress,
    kernelLogs,
    stall,
    power,
    powerBatches: new PowerBatches(store, timeline, power),
    reimageWithPower: (mac, wipe, actor) => reimageWithPower(machines, power, mac, wipe, actor),
    bmc,
    housekeeping,
    singletons: new Singletons(opts.leadership ?? alwaysLeader(), stall, housekeeping),
    storeKind: opts.storeKind ?? 'sqlite',
    guard,
    flushed: () => store.flushed(),
    walStats: () => store.walStats?.(),
    storeHealth: () => store.health?.() ?? Promise.resolve({ kind: 'memory', ok: true }),
  };
}
