/** metalboot's Prometheus registry: the counters fed by the timeline bus and the DHCP/TFTP port wrappers. */
import {
  AggregatorRegistry,
  Counter,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import { CONFIG_CONFLICT, CONFIG_REFUSAL, type ConfigRefusalSignal } from '../core/binding/config-guard.js';
import type { Core } from '../core/index.js';
import { EVENT_REPEATED } from '../core/timeline/timeline.js';
import type { MachineEvent } from '../core/types.js';
import type { DhcpCore, DhcpObservation } from '../dhcp/types.js';
import type { TftpObserver } from '../tftp/types.js';
import { scrapeGauges } from './scrape-gauges.js';
import { talosCounterSamples } from './talos.js';
import { configRefusalReason, fromTimelineEvent } from './timeline.js';

import { httpBootCounter } from './http.js';

export { httpBootCounter, installHttpMetrics } from './http.js';

/** Another process's registry as JSON (an HTTP worker's, src/http/workers/), summed into /metrics. */
export type PeerMetrics = () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>;

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop, GC) beside metalboot's own. Default true. */
  processMetrics?: boolean;
}

/**
 * metalboot's Prometheus metrics, one registry per server (not prom-client's global one, so
 * several apps in one process — tests — do not share or clash).
 *
 * Most counters are derived from the core's Timeline bus: every adapter already reports there,
 * so nothing in src/dhcp or src/tftp needs to know about Prometheus. The bus only carries what
 * belongs to a machine, though: DHCP from laptops or TFTP from addresses no machine is known by
 * never reaches it. `dhcpCore()` / `tftpObserver()` wrap the adapters' ports to count everything;
 * once a server wires one, the bus stops counting that protocol so nothing is counted twice.
 */
export class Metrics {
  readonly registry = new Registry();
  private dhcpFromBus = true;
  private peers?: PeerMetrics;
  private tftpFromBus = true;
  private readonly withProcess: boolean;
  private readonly onEvent = (e: MachineEvent) => this.countEvent(e);
  /** A repeat counted on an earlier event happened all the same; it moved no state. */
  private readonly onRepeat = (e: MachineEvent) => this.countEvent({ ...e, state: null });
  private readonly onRefusal = (r: ConfigRefusalSignal) =>
    this.configRefusals.inc({ reason: configRefusalReason(r.reason) });
  private readonly onConflict = () => this.configConflicts.inc();

  readonly dhcpPackets: Counter<'type' | 'mode' | 'reply'>;
  readonly tftpStarted: Counter;
  readonly tftpCompleted: Counter;
  readonly tftpErrors: Counter<'kind'>;
  readonly tftpBytes: Counter;
  readonly httpBoot: Counter<'route' | 'status' | 'result'>;
  readonly configDeliveries: Counter;
  readonly configRefusals: Counter<'reason'>;
  readonly configConflicts: Counter;
  readonly timelineEvents: Counter<'kind'>;
  readonly stateChanges: Counter<'state'>;
  readonly powerActions: Counter<'driver' | 'action' | 'result'>;

  constructor(
    private readonly core: Core,
    opts: MetricsOptions = {},
  ) {
    const registers = [this.registry];
    this.dhcpPackets = new Counter({
      name: 'metalboot_dhcp_packets_total',
      help: 'DHCP packets handled, by message type, server mode and our reply (none: stayed silent)',
      labelNames: ['type', 'mode', 'reply'],
      registers,
    });
    this.tftpStarted = new Counter({
      name: 'metalboot_tftp_transfers_started_total',
      help: 'TFTP read transfers started',
      registers,
    });
    this.tftpCompleted = new Counter({
      name: 'metalboot_tftp_transfers_completed_total',
      help: 'TFTP read transfers completed',
      registers,
    });
    this.tftpErrors = new Counter({
      name: 'metalboot_tftp_transfer_errors_total',
      help: 'TFTP transfers that failed or were refused, by error kind (CLIENT_ABORTED with no data is usually a tsize probe; unknown: counted from the timeline)',
      labelNames: ['kind'],
      registers,
    });
    this.tftpBytes = new Counter({
      name: 'metalboot_tftp_sent_bytes_total',
      help: 'Bytes of completed TFTP transfers',
      registers,
    });
    this.httpBoot = httpBootCounter(registers);
    this.configDeliveries = new Counter({
      name: 'metalboot_config_deliveries_total',
      help: 'Machine configs served',
      registers,
    });
    this.configRefusals = new Counter({
      name: 'metalboot_config_refusals_total',
      help: 'Config requests refused or not served, and install scripts refused to requests not tied to their machine (not-tied), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.configConflicts = new Counter({
      name: 'metalboot_config_conflicts_total',
      help: 'Requests from a second source for a machine config already delivered this boot (a security event: on the timeline in red and in the audit log)',
      registers,
    });
    this.timelineEvents = new Counter({
      name: 'metalboot_events_total',
      help: 'Machine timeline events recorded, by kind (DHCP, TFTP, HTTP boot, Talos reports, API actions)',
      labelNames: ['kind'],
      registers,
    });
    this.stateChanges = new Counter({
      name: 'metalboot_state_changes_total',
      help: 'Machine state transitions, by the state entered',
      labelNames: ['state'],
      registers,
    });
    this.powerActions = new Counter({
      name: 'metalboot_power_actions_total',
      help: 'Power actions and boot-device changes through a driver (ipmi, redfish, wol), by result (ok, or the failure: auth, unreachable, timeout, tls, …)',
      labelNames: ['driver', 'action', 'result'],
      registers,
    });
    scrapeGauges(core, registers);
    talosCounterSamples(core, registers);
    this.withProcess = opts.processMetrics ?? true;
    core.timeline.bus.on('event', this.onEvent);
    core.timeline.bus.on(EVENT_REPEATED, this.onRepeat);
    core.timeline.bus.on(CONFIG_REFUSAL, this.onRefusal);
    core.timeline.bus.on(CONFIG_CONFLICT, this.onConflict);
  }

  /** The exposition text: metalboot's own metrics plus, unless turned off, the process's. */
  async scrape(): Promise<string> {
    const own = this.withProcess ? Registry.merge([processRegistry(), this.registry]) : this.registry;
    if (!this.peers) return own.metrics();
    // One process's view: each series summed over this process and the workers (prom-client's
    // aggregator; process metrics by their own rule, e.g. memory summed, versions taken once).
    const all = [await own.getMetricsAsJSON(), ...(await this.peers())];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  /** Sum other processes' metrics into scrape() (the primary of HTTP workers). */
  addPeers(peers: PeerMetrics): void {
    this.peers = peers;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private countEvent(e: MachineEvent): void {
    this.timelineEvents.inc({ kind: e.kind });
    if (e.state) this.stateChanges.inc({ state: e.state });
    const c = fromTimelineEvent(e);
    if (!c) return;
    switch (c.metric) {
      case 'dhcp':
        if (this.dhcpFromBus) this.dhcpPackets.inc(c.labels);
        break;
      case 'tftp-started':
        if (this.tftpFromBus) this.tftpStarted.inc();
        break;
      case 'tftp-completed':
        if (this.tftpFromBus) {
          this.tftpCompleted.inc();
          this.tftpBytes.inc(c.bytes);
        }
        break;
      case 'tftp-failed':
        if (this.tftpFromBus) this.tftpErrors.inc({ kind: 'unknown' });
        break;
      case 'config-delivered':
        this.configDeliveries.inc();
        break;
      case 'config-invalid':
        this.configRefusals.inc({ reason: 'invalid-config' });
        break;
      case 'power':
        this.powerActions.inc(c.labels);
        break;
    }
  }

  /** Wrap the DHCP adapter's port so every handled packet counts, not only known machines'. */
  dhcpCore(inner: DhcpCore): DhcpCore {
    this.dhcpFromBus = false;
    return {
      lookup: (mac, uuid) => inner.lookup(mac, uuid),
      isReserved: (ip) => inner.isReserved(ip),
      flushed: () => inner.flushed(),
      record: (o: DhcpObservation) => {
        this.dhcpPackets.inc({
          type: o.messageType.toLowerCase(),
          mode: o.mode,
          reply: (o.reply ?? 'none').toLowerCase(),
        });
        return inner.record(o);
      },
    };
  }

  /** Wrap the TFTP observer so transfers from any address count, with the error kind. */
  tftpObserver(inner: TftpObserver = {}): TftpObserver {
    this.tftpFromBus = false;
    return {
      onTransferStart: (e) => {
        this.tftpStarted.inc();
        inner.onTransferStart?.(e);
      },
      onTransferComplete: (e) => {
        this.tftpCompleted.inc();
        this.tftpBytes.inc(e.bytes);
        inner.onTransferComplete?.(e);
      },
      onTransferError: (e) => {
        this.tftpErrors.inc({ kind: e.error.kind });
        inner.onTransferError?.(e);
      },
    };
  }

  /** Stop listening to the bus (the registry stays readable). */
  close(): void {
    this.core.timeline.bus.off('event', this.onEvent);
    this.core.timeline.bus.off(EVENT_REPEATED, this.onRepeat);
    this.core.timeline.bus.off(CONFIG_REFUSAL, this.onRefusal);
    this.core.timeline.bus.off(CONFIG_CONFLICT, this.onConflict);
  }
}

/**
 * Process metrics (CPU, memory, event loop lag, GC) describe the process, not a server instance:
 * collected once, into one registry, however many apps a process builds (tests build many, and
 * each collector installs observers that are never removed).
 */
let processReg: Registry | undefined;
export function processRegistry(): Registry {
  if (!processReg) {
    processReg = new Registry();
    collectDefaultMetrics({ register: processReg, prefix: 'metalboot_' });
  }
  return processReg;
}

export function createMetrics(core: Core, opts?: MetricsOptions): Metrics {
  return new Metrics(core, opts);
}

export { configRefusalReason };
