/**
 * metalboot's DHCP server as a child process inside a test network namespace (started by
 * dhcp-lab.ts through Netns.spawnNode). Real SQLite lease store (a file, so restarts keep
 * leases), a stub core with reservations, and a line protocol on stdout for the test:
 *   READY                      listening
 *   OBS {json}                 one DhcpObservation
 *   STATS {json}               on SIGTERM, before exiting
 * Log lines go to stderr as JSON.
 */
import { startDhcpServer, type DhcpServerOptions } from '../../src/dhcp/server.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { DhcpCore, DhcpLogger } from '../../src/dhcp/types.js';

export interface ChildConfig {
  server: Omit<DhcpServerOptions, 'core' | 'leases' | 'logger'>;
  dbFile: string;
  reservations?: Record<string, string>;
  overrides?: Record<string, string>;
}

const log =
  (level: string) =>
  (obj: object, msg?: string): void => {
    process.stderr.write(
      `${JSON.stringify({ level, msg, ...obj }, (_k, v: unknown) => (v instanceof Error ? v.message : v))}\n`,
    );
  };
const logger: DhcpLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

export async function main(configJson: string): Promise<void> {
  const cfg = JSON.parse(configJson) as ChildConfig;
  const store = new SqliteStore(cfg.dbFile);
  const core: DhcpCore = {
    async lookup(mac) {
      const reservedIp = cfg.reservations?.[mac];
      const bootFileOverride = cfg.overrides?.[mac];
      return { known: reservedIp !== undefined || bootFileOverride !== undefined, reservedIp, bootFileOverride };
    },
    async isReserved(ip) {
      return Object.values(cfg.reservations ?? {}).includes(ip);
    },
    async record(obs) {
      process.stdout.write(`OBS ${JSON.stringify(obs)}\n`);
    },
    flushed: () => store.flushed(),
  };
  let server: Awaited<ReturnType<typeof startDhcpServer>>;
  try {
    server = await startDhcpServer({ ...cfg.server, core, leases: store.leases, logger });
  } catch (err) {
    process.stdout.write(`FAILED ${(err as Error).message}\n`);
    await store.close();
    process.exit(2);
  }
  const stop = async () => {
    await server.close();
    process.stdout.write(`STATS ${JSON.stringify(server.stats)}\n`);
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.stdout.write('READY\n');
}
