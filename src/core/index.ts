import type { Store } from '../store/types.js';
import { BootService, type BootSettings } from './boot.js';
import { ClusterService } from './clusters.js';
import { MachineService } from './machines.js';
import { NetworkService } from './network.js';
import { ConfigRenderer } from './render.js';
import type { TemplateSet } from './templates.js';
import { Timeline, type Clock } from './timeline.js';

export interface CoreOptions extends BootSettings {
  store: Store;
  templates: TemplateSet;
  /** Where `talos/<version>/config.schema.json` lives (the assets directory). */
  assetsDir: string;
  clock?: Clock;
}

/** The transport-agnostic core: every adapter (HTTP, DHCP, TFTP, Talos events) talks to this. */
export interface Core {
  store: Store;
  timeline: Timeline;
  renderer: ConfigRenderer;
  clusters: ClusterService;
  machines: MachineService;
  boot: BootService;
  network: NetworkService;
}

export function createCore(opts: CoreOptions): Core {
  const timeline = new Timeline(opts.store, opts.clock ?? (() => new Date()));
  const renderer = new ConfigRenderer(opts.assetsDir);
  const clusters = new ClusterService(opts.store, timeline, renderer);
  const machines = new MachineService(opts.store, timeline, renderer);
  const boot = new BootService(opts.store, timeline, machines, renderer, opts.templates, opts);
  const network = new NetworkService(opts.store, timeline, machines);
  return { store: opts.store, timeline, renderer, clusters, machines, boot, network };
}
