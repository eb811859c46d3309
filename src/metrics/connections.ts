import { Counter, Gauge, type Registry } from 'prom-client';

/** What the HTTP connection gate (src/http/connection-limits.ts) counts, read at scrape time. */
export interface ConnectionCounts {
  open: number;
  refused: { total: number; 'per-source': number };
}

/**
 * Open HTTP connections and those refused at a cap. Copied from the gate's plain numbers when
 * scraped, as the Talos counters are: the gate stays free of Prometheus, and a flood of refusals
 * costs an increment, not a metric update each.
 */
export function connectionSamples(read: () => ConnectionCounts, registers: Registry[]): void {
  new Gauge({
    name: 'metalboot_http_connections_open',
    help: 'HTTP connections open now (counted against --http-max-connections)',
    registers,
    collect() {
      this.set(read().open);
    },
  });
  new Counter({
    name: 'metalboot_http_connections_refused_total',
    help: 'HTTP connections answered 503 at a cap: total (--http-max-connections) or per-source (--http-max-connections-per-source)',
    labelNames: ['cap'],
    registers,
    collect() {
      const { refused } = read();
      this.reset();
      this.inc({ cap: 'total' }, refused.total);
      this.inc({ cap: 'per-source' }, refused['per-source']);
    },
  });
}
