import type { Store } from './store/types.js';
import { BootService, type BootSettings } from './boot/boot-service.js';
import { ClusterService } from './registry/clusters.js';
import type { DiscoveryLimits } from './registry/discovery.js';
import { DEFAULT_RETENTION, Housekeeping, type RetentionSettings } from './registry/housekeeping.js';
import { ConfigBinder, DEFAULT_CONFIG_BINDING, DhcpSightings, NO_NEIGHBOURS, type ConfigBinding, type NeighbourTable } from './binding/config-binding.js';
import { ConfigGuard } from './binding/config-guard.js';
import { KernelLogBuffer } from './progress/kernel-log.js';
import { PowerService } from './power/power-service.js';
import type { PowerDriver } from './power/power-driver.js';
import { MachineService } from './registry/machines.js';
import { ProgressTracker } from './progress/tracker.js';
import { DhcpTftpObserver } from './network/dhcp-tftp-observer.js';
import { ConfigRenderer } from './config/render.js';
import type { TemplateSet } from './boot/templates.js';
import { StallDetector } from './progress/stall.js';
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
}

/** The transport-agnostic core: every adapter (HTTP, DHCP, TFTP, Talos events) talks to this. */
export interface Core {
  store: Store;
  timeline: Timeline;
  renderer: ConfigRenderer;
  clusters: ClusterService;
  machines: MachineService;
  boot: BootService;
  network: DhcpTftpObserver;
  /** Talos's own reports (event sink, kernel log) applied to machines. */
  progress: ProgressTracker;
  kernelLogs: KernelLogBuffer;
  stall: StallDetector;
  power: PowerService;
  /** The background job that keeps the store bounded (discovered expiry, retention). */
  housekeeping: Housekeeping;
  /** Config binding, refusal audit and conflicts (binding/config-guard.ts). */
  guard: ConfigGuard;
}

export function createCore(opts: CoreOptions): Core {
  const timeline = new Timeline(opts.store, opts.clock ?? (() => new Date()));
  const renderer = new ConfigRenderer(opts.assetsDir);
  const clusters = new ClusterService(opts.store, timeline, renderer);
  const machines = new MachineService(opts.store, timeline, renderer, opts.discovery);
  // Who used which address in DHCP: DhcpTftpObserver notes, the binding reads.
  const sightings = new DhcpSightings();
  const guard = new ConfigGuard(opts.store, timeline, new ConfigBinder(opts.configBinding ?? DEFAULT_CONFIG_BINDING, opts.neighbours ?? NO_NEIGHBOURS, sightings));
  const boot = new BootService(opts.store, timeline, machines, renderer, opts.templates, opts, guard);
  const network = new DhcpTftpObserver(opts.store, timeline, machines, undefined, sightings);
  const kernelLogs = new KernelLogBuffer();
  const progress = new ProgressTracker(opts.store, timeline, machines, kernelLogs);
  const stall = new StallDetector(opts.store, timeline, progress, opts.stallDeadlines);
  const power = new PowerService(opts.store, timeline, opts.powerDriver ?? null);
  const housekeeping = new Housekeeping(opts.store, timeline, machines.discoveryLimits, opts.retention ?? DEFAULT_RETENTION);
  return { store: opts.store, timeline, renderer, clusters, machines, boot, network, progress, kernelLogs, stall, power, housekeeping, guard };
}
