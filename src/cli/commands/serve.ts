/**
 * `metalboot serve`: settings from flags, METALBOOT_* variables and `metalboot.yaml`
 * (flag > environment > file > default; see config-file.ts), then the server. The options
 * themselves are in serve-options.ts.
 */
import type { Command } from 'commander';
import pino from 'pino';
import { createLogger, parseLogFormat } from '../../support/logging.js';
import { parseConfigBinding } from '../../core/binding/config-binding.js';
import { parseStallDeadlines } from '../../core/progress/stall.js';
import { parseWolBroadcast } from '../../power/index.js';
import { parseTalosListen } from '../../talos/index.js';
import { parseGrowthSettings } from '../../settings/growth-settings.js';
import {
  interfaceAddress,
  parseAnswerDelay,
  parseDhcpMode,
  parseIpv4,
  parseIpv4List,
  parseRange,
  parseRelaySubnet,
} from '../../settings/network-settings.js';
import { parseConnectionLimits } from '../../settings/limit-settings.js';
import {
  deriveAdvertiseUrl,
  normaliseAdvertiseUrl,
  parseDatabase,
  parseHttpWorkers,
  parseListen,
  type Settings,
} from '../../settings/settings.js';
import { fillFromSettingsFile, loadSettingsFile } from '../config-file.js';
import { SERVE_SETTING_KEYS, serveOptions } from './serve-options.js';

export function serveCommand(): Command {
  return serveOptions().action(async (_: unknown, cmd: Command) => {
    let o: Record<string, string | undefined>;
    try {
      fillFromSettingsFile(cmd, loadSettingsFile(cmd.opts().config, SERVE_SETTING_KEYS));
      o = cmd.opts();
    } catch (err) {
      const hint = (err as { hint?: string }).hint;
      pino().fatal(hint ? `${(err as Error).message} (${hint})` : (err as Error).message);
      process.exit(1);
    }
    let logger: pino.Logger;
    try {
      logger = createLogger({ level: o.logLevel ?? 'info', format: parseLogFormat(o.logFormat) });
    } catch (err) {
      pino().fatal((err as Error).message);
      process.exit(1);
    }
    try {
      const listen = parseListen(o.listen!);
      const dhcpMode = parseDhcpMode(o.dhcp!);
      const leaseTimeSec = positiveInt(o.dhcpLeaseTime!, 'dhcp-lease-time');
      const dns = o.dhcpDns ? parseIpv4List(o.dhcpDns, 'dhcp-dns') : undefined;
      const relays = (o.dhcpRelaySubnet as unknown as string[] | undefined) ?? [];
      let advertiseUrl: string;
      if (o.advertiseUrl) advertiseUrl = normaliseAdvertiseUrl(o.advertiseUrl);
      else if (dhcpMode !== 'off' && o.interface && (listen.host === '0.0.0.0' || listen.host === '::')) {
        // Machines reach us on the interface we answer DHCP on.
        advertiseUrl = `http://${interfaceAddress(o.interface).address}:${listen.port}`;
      } else {
        const d = deriveAdvertiseUrl(listen);
        advertiseUrl = d.url;
        if (d.guessed)
          logger.warn(
            `--advertise-url not set; machines will be told ${advertiseUrl} (set it if that address is not on the provisioning network)`,
          );
      }
      const settings: Settings = {
        dataDir: o.dataDir!,
        database: parseDatabase(o.database),
        assetsDir: o.assetsDir!,
        templatesDir: o.templatesDir!,
        listen,
        advertiseUrl,
        apiToken: process.env.METALBOOT_API_TOKEN || undefined,
        configTokenTtlSeconds: positiveInt(o.configTokenTtl!, 'config-token-ttl'),
        configBinding: parseConfigBinding(o.configBinding!),
        discoveryRetrySeconds: positiveInt(o.discoveryRetry!, 'discovery-retry'),
        logLevel: o.logLevel!,
        logFormat: parseLogFormat(o.logFormat),
        httpWorkers: parseHttpWorkers(o.httpWorkers),
        dhcp: {
          mode: dhcpMode,
          interface: o.interface,
          range: o.dhcpRange ? parseRange(o.dhcpRange) : undefined,
          router: o.dhcpRouter ? parseIpv4(o.dhcpRouter, 'dhcp-router') : undefined,
          dns,
          leaseTimeSec,
          relaySubnets: relays.map((r) => parseRelaySubnet(r, leaseTimeSec, dns)),
          answerDelayMs: parseAnswerDelay(o.dhcpAnswerDelay ?? '0'),
        },
        tftp:
          o.tftpListen === 'off'
            ? null
            : { ...parseListen(o.tftpListen ?? '0.0.0.0:69', 'tftp-listen'), explicit: o.tftpListen !== undefined },
        eventsListen: parseTalosListen(o.eventsListen ?? '0.0.0.0:4002', 'events-listen'),
        kmsgListen: parseTalosListen(o.kmsgListen ?? '0.0.0.0:4001', 'kmsg-listen'),
        talosListenExplicit: { events: o.eventsListen !== undefined, kmsg: o.kmsgListen !== undefined },
        wol: o.wolInterface
          ? { interface: o.wolInterface, ...(o.wolBroadcast ? parseWolBroadcast(o.wolBroadcast) : { port: 9 }) }
          : o.wolBroadcast
            ? parseWolBroadcast(o.wolBroadcast)
            : null,
        metricsRequireToken: Boolean(o.metricsRequireToken),
        stallDeadlines: o.stallDeadlines ? parseStallDeadlines(o.stallDeadlines) : undefined,
        limits: parseConnectionLimits(o),
        walMaxBytes: positiveInt(o.walMaxMb!, 'wal-max-mb') * 1024 * 1024,
        ...parseGrowthSettings(o),
      };
      const deadlineEnv = process.env.METALBOOT_SHUTDOWN_DEADLINE_MS;
      const deadlineMs = deadlineEnv
        ? positiveInt(deadlineEnv, 'METALBOOT_SHUTDOWN_DEADLINE_MS', '')
        : SHUTDOWN_DEADLINE_MS;
      // Loaded here so the other commands do not pay for fastify, SQLite and the DHCP stack at start-up.
      const { startServer } = await import('../../server.js');
      const server = await startServer(settings, logger);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return; // SIGINT then SIGTERM: one shutdown
        stopping = true;
        logger.info(`${signal}: shutting down`);
        // Transfers in flight get a deadline, not forever: a stuck client must not block a restart.
        // Past it the open connections are cut, so the store still closes and checkpoints its WAL;
        // only if even that hangs does the process leave without it.
        const deadline = setTimeout(() => {
          logger.warn('shutdown deadline passed; closing the transfers still open');
          server.abortConnections();
          setTimeout(() => {
            logger.error('shutdown did not finish after the deadline; exiting without closing the store');
            process.exit(1);
          }, SHUTDOWN_GRACE_MS).unref();
        }, deadlineMs);
        await server.close();
        clearTimeout(deadline);
        logger.info('shut down');
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    } catch (err) {
      logger.fatal((err as Error).message);
      process.exit(1);
    }
  });
}

/** How long transfers in flight may take to finish after SIGTERM (container runtimes wait longer: see docker-compose.yml). */
const SHUTDOWN_DEADLINE_MS = 10_000;
/** After the deadline, how long the cut connections and the store may take to close. */
const SHUTDOWN_GRACE_MS = 5_000;

function positiveInt(v: string, name: string, prefix = '--'): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${prefix}${name} must be a positive integer, got "${v}"`);
  return n;
}
