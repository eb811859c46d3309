import { Counter, type Registry } from 'prom-client';
import type { Core } from '../core/index.js';
import type { TalosCounters } from '../core/progress/tracker.js';

type Key = keyof TalosCounters;

/**
 * The Talos listeners count what they receive in `core.progress.counters` (plain numbers, always
 * growing). They are copied into Prometheus counters at scrape time rather than mirrored on every
 * increment, so the core stays free of Prometheus.
 *
 * Totals and their breakdowns are separate metrics: putting "received" beside "duplicate" under
 * one label would make `sum()` count every event twice.
 */
export function talosCounterSamples(core: Core, registers: Registry[]): void {
  const read = (k: Key): number => {
    const v = core.progress?.counters?.[k];
    return typeof v === 'number' && v > 0 ? v : 0;
  };
  const plain = (name: string, help: string, key: Key) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(key));
      },
    });
  const split = (name: string, help: string, label: string, keys: Record<string, Key>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [value, key] of Object.entries(keys)) this.inc({ [label]: value }, read(key));
      },
    });

  plain('metalboot_talos_events_received_total', 'Talos machine events received by the event sink', 'eventsReceived');
  split('metalboot_talos_events_total', 'Talos machine events by what became of them', 'outcome', {
    recorded: 'eventsRecorded',
    duplicate: 'eventsDuplicate',
    unattributed: 'eventsUnattributed',
    'unknown-type': 'eventsUnknownType',
    malformed: 'eventsMalformed',
    oversized: 'eventsOversized',
    failed: 'eventsFailed',
  });
  plain('metalboot_talos_kmsg_connections_total', 'Kernel-log stream connections from Talos', 'kmsgConnections');
  plain('metalboot_talos_kmsg_lines_total', 'Kernel-log lines received', 'kmsgLines');
  plain(
    'metalboot_talos_kmsg_lines_unattributed_total',
    'Kernel-log lines from an address no machine is known by',
    'kmsgUnattributed',
  );
  split('metalboot_talos_kmsg_rejected_total', 'Kernel-log lines dropped, by reason', 'reason', {
    garbage: 'kmsgGarbage',
    oversized: 'kmsgOversized',
  });
}
