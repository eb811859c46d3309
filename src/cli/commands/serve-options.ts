/** `metalboot serve`'s options (flags, METALBOOT_* variables, defaults), without its action. */
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_BINDING, formatConfigBinding } from '../../core/binding/config-binding.js';
import { growthOptions } from '../../settings/growth-settings.js';
import { CONNECTION_LIMIT_DEFAULTS as LIMITS } from '../../settings/limit-settings.js';
import { defaultTemplatesDir } from '../../settings/settings.js';
import { DEFAULT_CONFIG_FILE, settingKeys } from '../config-file.js';

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
        '--database <url>',
        'postgres://user:password@host:port/db (or postgresql://…, ?sslmode=…) to use PostgreSQL; default: SQLite in <data-dir>/metalboot.db',
        'METALBOOT_DATABASE',
      ),
    )
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
      opt(
        '--dhcp-answer-delay <ms>',
        'authoritative: a standby instance on a shared database waits this long (0-10000) before answering a DISCOVER, and stays silent when another instance offered meanwhile',
        'METALBOOT_DHCP_ANSWER_DELAY',
        '0',
      ),
    )
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
        '--http-workers <n>',
        'HTTP: processes serving downloads and boot requests on the listen port (default 1: a single process; auto: one per CPU; each worker ~70 MB)',
        'METALBOOT_HTTP_WORKERS',
      ),
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
