#!/usr/bin/env node
import { Command, Option } from 'commander';
import pino from 'pino';
import { startServer } from '../server.js';
import { interfaceAddress, parseDhcpMode, parseIpv4, parseIpv4List, parseRange, parseRelaySubnet } from '../network-settings.js';
import { deriveAdvertiseUrl, normaliseAdvertiseUrl, parseListen, type Settings } from '../settings.js';

const program = new Command();
program.name('metalboot').description('Network-boot provisioning for bare-metal Talos Linux clusters');

const opt = (flags: string, description: string, env: string, def?: string) => {
  const o = new Option(flags, description).env(env);
  return def === undefined ? o : o.default(def);
};

program
  .command('serve')
  .description('run the provisioning server (HTTP on; DHCP off unless --dhcp is given)')
  .addOption(opt('--data-dir <dir>', 'database, API token', 'METALBOOT_DATA_DIR', 'data'))
  .addOption(opt('--assets-dir <dir>', 'Talos kernels/initramfs/schemas (talos/<version>/) and iPXE binaries (ipxe/)', 'METALBOOT_ASSETS_DIR', 'assets'))
  .addOption(opt('--templates-dir <dir>', 'iPXE script templates (ipxe/*.ipxe.hbs)', 'METALBOOT_TEMPLATES_DIR', 'templates'))
  .addOption(opt('--listen <host:port>', 'HTTP listen address', 'METALBOOT_LISTEN', '0.0.0.0:8080'))
  .addOption(opt('--advertise-url <url>', 'URL machines use to reach this server (default: derived from --listen)', 'METALBOOT_ADVERTISE_URL'))
  .addOption(opt('--config-token-ttl <seconds>', 'how long a boot may fetch its config', 'METALBOOT_CONFIG_TOKEN_TTL', '10800'))
  .addOption(opt('--discovery-retry <seconds>', 'how long an unknown machine waits before asking again', 'METALBOOT_DISCOVERY_RETRY', '30'))
  .addOption(opt('--log-level <level>', 'trace, debug, info, warn, error', 'METALBOOT_LOG_LEVEL', 'info'))
  .addOption(opt('--dhcp <mode>', 'off | proxy (beside an existing DHCP server) | authoritative (hand out addresses)', 'METALBOOT_DHCP', 'off'))
  .addOption(opt('--interface <name>', 'the one network interface DHCP answers on; its address is the server id and next-server', 'METALBOOT_INTERFACE'))
  .addOption(opt('--dhcp-range <first-last>', 'authoritative: address pool on the interface subnet', 'METALBOOT_DHCP_RANGE'))
  .addOption(opt('--dhcp-router <ip>', 'authoritative: default gateway (option 3)', 'METALBOOT_DHCP_ROUTER'))
  .addOption(opt('--dhcp-dns <ip,ip>', 'authoritative: DNS servers (option 6)', 'METALBOOT_DHCP_DNS'))
  .addOption(opt('--dhcp-lease-time <seconds>', 'authoritative: lease time', 'METALBOOT_DHCP_LEASE_TIME', '3600'))
  .addOption(
    new Option('--dhcp-relay-subnet <cidr,first-last[,router]>', 'authoritative: a subnet behind a DHCP relay (repeatable; env: ; separated)')
      .env('METALBOOT_DHCP_RELAY_SUBNETS')
      .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(';').filter(Boolean)]),
  )
  .addOption(opt('--tftp-listen <host:port|off>', 'TFTP for legacy PXE (serves <assets-dir>/ipxe)', 'METALBOOT_TFTP_LISTEN'))
  .action(async (o: Record<string, string | undefined>) => {
    const logger = pino({ level: o.logLevel ?? 'info' });
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
        if (d.guessed) logger.warn(`--advertise-url not set; machines will be told ${advertiseUrl} (set it if that address is not on the provisioning network)`);
      }
      const settings: Settings = {
        dataDir: o.dataDir!,
        assetsDir: o.assetsDir!,
        templatesDir: o.templatesDir!,
        listen,
        advertiseUrl,
        apiToken: process.env.METALBOOT_API_TOKEN || undefined,
        configTokenTtlSeconds: positiveInt(o.configTokenTtl!, 'config-token-ttl'),
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
        tftp: o.tftpListen === 'off' ? null : { ...parseListen(o.tftpListen ?? '0.0.0.0:69', 'tftp-listen'), explicit: o.tftpListen !== undefined },
      };
      const server = await startServer(settings, logger);
      const stop = async (signal: string) => {
        logger.info(`${signal}: shutting down`);
        await server.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    } catch (err) {
      logger.fatal((err as Error).message);
      process.exit(1);
    }
  });

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

await program.parseAsync(process.argv);
