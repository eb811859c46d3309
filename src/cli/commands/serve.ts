/**
 * `metalboot serve`: settings from flags, METALBOOT_* variables and `metalboot.yaml`
 * (flag > environment > file > default; see config-file.ts), then the server.
 */
import { Command, Option } from 'commander';
import pino from 'pino';
import { createLogger, parseLogFormat } from '../../support/logging.js';
import { DEFAULT_CONFIG_BINDING, formatConfigBinding, parseConfigBinding } from '../../core/binding/config-binding.js';
import { parseStallDeadlines } from '../../core/progress/stall.js';
import { parseWolBroadcast } from '../../power/index.js';
import { parseTalosListen } from '../../talos/index.js';
import { growthOptions, parseGrowthSettings } from '../../settings/growth-settings.js';
import {
  interfaceAddress,
  parseDhcpMode,
  parseIpv4,
  parseIpv4List,
  parseRange,
  parseRelaySubnet,
} from '../../settings/network-settings.js';
import { CONNECTION_LIMIT_DEFAULTS as LIMITS, parseConnectionLimits } from '../../settings/limit-settings.js';
import {
  defaultTemplatesDir,
  deriveAdvertiseUrl,
  normaliseAdvertiseUrl,
  parseListen,
  type Settings,
} from '../../settings/settings.js';
import { DEFAULT_CONFIG_FILE, fillFromSettingsFile, loadSettingsFile, settingKeys } from '../config-file.js';

const opt = (flags: string, description: string, env: string, def?: string) => {
  const o = new Option(flags, description).env(env);
  return def === undefined ? o : o.default(def);
};

export const configOption = () =>
  new Option(
    '--config <file>',
    `settings file (default: ./${DEFAULT_CONFIG_FILE} when present; flags and METALBOOT_* win over it)`,
  ).env('METALBOOT_CONFIG');

/** serve's options without an action: doctor reads the same settings file against these keys. */
export function serveOptions(): Command {
  const cmd = new Command('serve')
    .description('run the provisioning server (HTTP on; DHCP off unless --dhcp is given)')
    .addOption(opt('--data-dir <dir>', 'database, API token', 'METALBOOT_DATA_DIR', 'data'))
    .addOption(
      opt(
        '--assets-dir <dir>',
        'Talos kernels/initramfs/schemas (talos/<version>/) and iPXE binaries (ipxe/)',
        'METALBOOT_ASSETS_DIR',
        'assets',
      ),
    )
    .addOption(
      opt(
        '--templates-dir <dir>',
        'iPXE script templates (ipxe/*.ipxe.hbs); default ./templates when present, else the bundled ones',
        'METALBOOT_TEMPLATES_DIR',
        defaultTemplatesDir(),
      ),
    )
    .addOption(opt('--listen <host:port>', 'HTTP listen address', 'METALBOOT_LISTEN', '0.0.0.0:8080'))
    .addOption(
      opt(
        '--advertise-url <url>',
        'URL machines use to reach this server (default: derived from --listen)',
        'METALBOOT_ADVERTISE_URL',
      ),
    )
    .addOption(
      opt(
        '--config-token-ttl <seconds>',
        'how long a boot may fetch its config',
        'METALBOOT_CONFIG_TOKEN_TTL',
        '10800',
      ),
    )
    .addOption(
      opt(
        '--config-binding <how>',
        "which /ipxe requests get a config token: a comma list of neighbour (the kernel's ARP entry for the source carries the MAC), dhcp (metalboot saw the MAC use the address in DHCP), reservation (the source is the machine's reserved IP); or first-request (anyone who knows the MAC: unsafe)",
        'METALBOOT_CONFIG_BINDING',
        formatConfigBinding(DEFAULT_CONFIG_BINDING),
      ),
    )
    .addOption(
      opt(
        '--discovery-retry <seconds>',
        'how long an unknown machine waits before asking again',
        'METALBOOT_DISCOVERY_RETRY',
        '30',
      ),
    )
    .addOption(opt('--log-level <level>', 'trace, debug, info, warn, error', 'METALBOOT_LOG_LEVEL', 'info'))
    .addOption(
      opt(
        '--dhcp <mode>',
        'off | proxy (beside an existing DHCP server) | authoritative (hand out addresses)',
        'METALBOOT_DHCP',
        'off',
      ),
    )
    .addOption(
      opt(
        '--interface <name>',
        'the one network interface DHCP answers on; its address is the server id and next-server',
        'METALBOOT_INTERFACE',
      ),
    )
    .addOption(
      opt('--dhcp-range <first-last>', 'authoritative: address pool on the interface subnet', 'METALBOOT_DHCP_RANGE'),
    )
    .addOption(opt('--dhcp-router <ip>', 'authoritative: default gateway (option 3)', 'METALBOOT_DHCP_ROUTER'))
    .addOption(opt('--dhcp-dns <ip,ip>', 'authoritative: DNS servers (option 6)', 'METALBOOT_DHCP_DNS'))
    .addOption(opt('--dhcp-lease-time <seconds>', 'authoritative: lease time', 'METALBOOT_DHCP_LEASE_TIME', '3600'))
    .addOption(
      new Option(
        '--dhcp-relay-subnet <cidr,first-last[,router]>',
        'authoritative: a subnet behind a DHCP relay (repeatable; env: ; separated)',
      )
        .env('METALBOOT_DHCP_RELAY_SUBNETS')
        .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(';').filter(Boolean)]),
    )
    .addOption(
      opt(
        '--tftp-listen <host:port|off>',
        'TFTP for legacy PXE (serves <assets-dir>/ipxe); default 0.0.0.0:69',
        'METALBOOT_TFTP_LISTEN',
      ),
    )
    .addOption(
      opt(
        '--events-listen <host:port|off>',
        'gRPC event sink Talos reports to; default 0.0.0.0:4002',
        'METALBOOT_EVENTS_LISTEN',
      ),
    )
    .addOption(
      opt(
        '--kmsg-listen <host:port|off>',
        'TCP receiver for Talos kernel logs; default 0.0.0.0:4001',
        'METALBOOT_KMSG_LISTEN',
      ),
    )
    .addOption(
      opt(
        '--stall-deadlines <state=minutes,...>',
        'how long a machine may stay silent in a state before it shows as stalled, over the defaults (e.g. installing=30,kubelet-running=60; <state>=off: never)',
        'METALBOOT_STALL_DEADLINES',
      ),
    )
    .addOption(
      opt(
        '--wol-broadcast <addr[:port]>',
        'Wake-on-LAN target, e.g. 255.255.255.255:9 (power-on is refused until this or --wol-interface is set)',
        'METALBOOT_WOL_BROADCAST',
      ),
    )
    .addOption(
      opt('--wol-interface <name>', "send Wake-on-LAN to this interface's subnet broadcast", 'METALBOOT_WOL_INTERFACE'),
    )
    .addOption(
      opt(
        '--log-format <format>',
        'auto (pretty on a terminal, JSON otherwise), json, pretty',
        'METALBOOT_LOG_FORMAT',
        'auto',
      ),
    )
    .addOption(
      new Option('--metrics-require-token', 'require the API token on /metrics').env('METALBOOT_METRICS_REQUIRE_TOKEN'),
    )
    .addOption(
      opt(
        '--http-header-timeout <seconds>',
        "HTTP: time to send the request headers, from the connection's opening (408 past it)",
        'METALBOOT_HTTP_HEADER_TIMEOUT',
        LIMITS.httpHeaderTimeout,
      ),
    )
    .addOption(
      opt(
        '--http-body-timeout <seconds>',
        'HTTP: a request body (or an ordinary response) idle this long closes the connection',
        'METALBOOT_HTTP_BODY_TIMEOUT',
        LIMITS.httpBodyTimeout,
      ),
    )
    .addOption(
      opt(
        '--http-keepalive-timeout <seconds>',
        'HTTP: an idle keep-alive connection is closed after this (at most 75)',
        'METALBOOT_HTTP_KEEPALIVE_TIMEOUT',
        LIMITS.httpKeepaliveTimeout,
      ),
    )
    .addOption(
      opt(
        '--http-send-timeout <seconds>',
        'HTTP: a download the client reads nothing of for this long is cut (never a limit on its total time)',
        'METALBOOT_HTTP_SEND_TIMEOUT',
        LIMITS.httpSendTimeout,
      ),
    )
    .addOption(
      opt(
        '--http-max-connections <n>',
        'HTTP: open connections in all; past it 503 + Retry-After',
        'METALBOOT_HTTP_MAX_CONNECTIONS',
        LIMITS.httpMaxConnections,
      ),
    )
    .addOption(
      opt(
        '--http-max-connections-per-source <n>',
        'HTTP: open connections from one address; past it 503 + Retry-After',
        'METALBOOT_HTTP_MAX_CONNECTIONS_PER_SOURCE',
        LIMITS.httpMaxConnectionsPerSource,
      ),
    )
    .addOption(
      opt(
        '--tftp-max-transfers-per-source <n>',
        'TFTP: concurrent transfers from one address; past it an error packet',
        'METALBOOT_TFTP_MAX_TRANSFERS_PER_SOURCE',
        LIMITS.tftpMaxTransfersPerSource,
      ),
    )
    .addOption(
      opt(
        '--wal-max-mb <MiB>',
        'the database write-ahead log is kept under this size, whatever the write rate (at least 1)',
        'METALBOOT_WAL_MAX_MB',
        '64',
      ),
    );
  for (const o of growthOptions()) cmd.addOption(o);
  return cmd.addOption(configOption());
}

export const SERVE_SETTING_KEYS = settingKeys(serveOptions(), ['config']);

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
        assetsDir: o.assetsDir!,
        templatesDir: o.templatesDir!,
        listen,
        advertiseUrl,
        apiToken: process.env.METALBOOT_API_TOKEN || undefined,
        configTokenTtlSeconds: positiveInt(o.configTokenTtl!, 'config-token-ttl'),
        configBinding: parseConfigBinding(o.configBinding!),
        discoveryRetrySeconds: positiveInt(o.discoveryRetry!, 'discovery-retry'),
        logLevel: o.logLevel!,
        dhcp: {
          mode: dhcpMode,
          interface: o.interface,
          range: o.dhcpRange ? parseRange(o.dhcpRange) : undefined,
          router: o.dhcpRouter ? parseIpv4(o.dhcpRouter, 'dhcp-router') : undefined,
          dns,
          leaseTimeSec,
          relaySubnets: relays.map((r) => parseRelaySubnet(r, leaseTimeSec, dns)),
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
