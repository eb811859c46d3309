import { timelineObserver } from './tftp/timeline-observer.js';
import { bmcDriverFactory, powerDriverFrom } from './power/index.js';
import type { FastifyInstance } from 'fastify';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from './support/logging.js';
import { ensureApiToken } from './support/api-token.js';
import { bindingWarnings, DEFAULT_CONFIG_BINDING } from './core/binding/config-binding.js';
import { createCore, type Core } from './core/index.js';
import { loadTemplates } from './core/boot/templates.js';
import { startDhcpServer, type DhcpServer } from './dhcp/server.js';
import { buildHttpApp } from './http/app.js';
import { type HttpListening, listenHttp } from './http/workers/listen.js';
import type { HttpWorkers } from './http/workers/supervisor.js';
import { DEFAULT_CONNECTION_LIMITS, describeConnectionLimits } from './settings/limit-settings.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { ProcNeighbourTable } from './net/neighbours.js';
import { interfaceAddress, localPool } from './settings/network-settings.js';
import type { Settings } from './settings/settings.js';
import { describePostgresUrl, PostgresStore } from './store/postgres/store.js';
import { PostgresLeadership } from './store/postgres/leader.js';
import { SqliteStore } from './store/sqlite/store.js';
import { loadSecretBox } from './support/secret-box.js';
import { startTalosListeners, TalosEndpointProviders, type TalosListeners } from './talos/index.js';
import { startTftpServer, type TftpServer } from './tftp/server.js';

const STALL_CHECK_INTERVAL_MS = 30_000;
/** Housekeeping (discovered expiry, retention): each pass deletes in small batches, so often and short. */
const HOUSEKEEPING_INTERVAL_MS = 5 * 60_000;

export interface RunningServer {
  core: Core;
  http: FastifyInstance;
  httpAddress: string;
  dhcp?: DhcpServer;
  tftp?: TftpServer;
  /** Stop listening, let transfers in flight finish, close the protocol servers, then the store (WAL checkpoint). */
  close(): Promise<void>;
  /** Cut the HTTP connections still open (a shutdown past its deadline), so close() can finish. */
  abortConnections(): void;
  /** The HTTP worker processes (`--http-workers` above 1). */
  httpWorkers?: HttpWorkers;
}

/** Compose metalboot from its settings: store → core → protocol adapters. */
export async function startServer(
  settings: Settings,
  logger: Logger = createLogger({ level: settings.logLevel }),
): Promise<RunningServer> {
  const templates = loadTemplates(settings.templatesDir);
  prepareDataDir(settings.dataDir);
  const { token, created, file } = ensureApiToken(settings.dataDir, settings.apiToken);
  // PostgreSQL when --database names it (unreachable: the start fails here, saying where it tried);
  // else the embedded SQLite file in the data directory.
  const store = settings.database
    ? await PostgresStore.open(settings.database, {
        feed: { onTrouble: (what, err) => logger.warn({ err }, `timeline events across instances: ${what}`) },
      })
    : new SqliteStore(prepareSqliteFile(settings.dataDir), { walMaxBytes: settings.walMaxBytes });
  const storeText = settings.database
    ? `PostgreSQL at ${describePostgresUrl(settings.database)}`
    : `SQLite in ${settings.dataDir}`;
  // Several instances on one PostgreSQL database: the singletons run where the advisory lock is held.
  const onError = (err: Error) => logger.warn({ err }, 'leadership: connection to PostgreSQL lost; reconnecting');
  const leadership = settings.database ? new PostgresLeadership(settings.database, { onError }) : undefined;
  await leadership?.ready;
  // The Talos listeners start after the core (they feed its progress tracker) and advertise their
  // endpoints here once bound: the kernel arguments and config documents that point machines at them.
  const talosEndpoints = new TalosEndpointProviders();
  const core = createCore({
    store,
    templates,
    assetsDir: settings.assetsDir,
    advertiseUrl: settings.advertiseUrl,
    configTokenTtlMs: settings.configTokenTtlSeconds * 1000,
    discoveryRetrySeconds: settings.discoveryRetrySeconds,
    powerDriver: powerDriverFrom({ wol: settings.wol }),
    bmcDrivers: bmcDriverFactory(),
    onBackgroundError: (err) => logger.error({ err }, 'background step failed'),
    secrets: loadSecretBox(settings.dataDir),
    stallDeadlines: settings.stallDeadlines,
    discovery: settings.discovery,
    retention: settings.retention,
    configBinding: settings.configBinding ?? DEFAULT_CONFIG_BINDING,
    neighbours: new ProcNeighbourTable(),
    kernelArgProviders: [talosEndpoints.kernelArgs],
    documentProviders: [talosEndpoints.documents],
    leadership,
    storeKind: settings.database ? 'postgresql' : 'sqlite',
  });
  const metrics = createMetrics(core);
  const limits = settings.limits ?? DEFAULT_CONNECTION_LIMITS;
  const httpWorkers = settings.httpWorkers ?? 1;
  let listening: HttpListening | undefined;
  let dhcp: DhcpServer | undefined;
  let tftp: TftpServer | undefined;
  let talos: TalosListeners | undefined;
  const http = await buildHttpApp({
    core,
    metrics,
    metricsRequireToken: settings.metricsRequireToken,
    apiToken: token,
    assetsDir: settings.assetsDir,
    logger: logger.child({ adapter: 'http' }),
    // Asked per preview: TFTP starts after HTTP (and may not start at all).
    bootNetwork: () => ({ tftp: !!tftp, dhcpMode: settings.dhcp.mode }),
    limits: limits.http, // the one HTTP listener: boot routes, assets and the admin API
    behindWorkers: httpWorkers > 1, // then the workers hold the public port and forward to it
  });
  const closers = [() => store.close(), async () => metrics.close(), () => core.singletons.leadership.close()];
  // Last started, first closed; once, however often it is asked (SIGINT then SIGTERM).
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const close of [...closers].reverse())
        await close().catch((err) => logger.error({ err }, 'shutdown step failed'));
    })());
  try {
    listening = await listenHttp(http, {
      listen: settings.listen,
      workers: httpWorkers,
      dataDir: settings.dataDir,
      assetsDir: settings.assetsDir,
      limits: limits.http,
      logLevel: settings.logLevel,
      logFormat: settings.logFormat,
      core,
      metrics,
      logger,
    });
    closers.push(listening.close);
    tftp = await startTftp(settings, core, metrics, logger, limits.tftpMaxTransfersPerSource);
    if (tftp) closers.push(() => tftp!.close());
    dhcp = await startDhcp(settings, core, metrics, !!tftp, logger);
    if (dhcp) closers.push(() => dhcp!.close());
    talos = await startTalos(settings, core, talosEndpoints, logger);
    if (talos) closers.push(() => talos!.close());
    // Whatever reports progress (HTTP, DHCP, TFTP, Talos), a machine that goes silent shows stalled;
    // in the states only Talos's reports end, only when the listener for them runs.
    core.stall.limitToReporters({ events: !!talos?.eventsAddress, kmsg: !!talos?.kmsgAddress });
    // Only while this instance leads (always on SQLite); started and stopped as leadership moves.
    core.singletons.start({
      stallIntervalMs: STALL_CHECK_INTERVAL_MS,
      housekeepingIntervalMs: HOUSEKEEPING_INTERVAL_MS,
      log: logger,
    });
    closers.push(() => core.singletons.stop());
    closers.push(async () => core.powerBatches.close());
  } catch (err) {
    await closeAll();
    throw err;
  }
  const httpAddress = listening.address;
  // At every start, not once: an unsafe binding must not scroll out of sight.
  for (const warning of bindingWarnings(core.guard.binder.binding)) logger.warn(warning);
  if (created) {
    // Printed once, on the terminal that started metalboot; afterwards only the file has it.
    process.stderr.write(`metalboot: generated an API token in ${file} (mode 0600): ${token}\n`);
  }
  const tftpAddress = tftp ? `${tftp.address().address}:${tftp.address().port}` : 'off';
  const dhcpText = settings.dhcp.mode === 'off' ? 'off' : `${settings.dhcp.mode} on ${settings.dhcp.interface}`;
  const events = talos?.eventsAddress ?? 'off';
  const kmsg = talos?.kmsgAddress ?? 'off';
  logger.info(
    {
      http: httpAddress,
      advertiseUrl: settings.advertiseUrl,
      dataDir: settings.dataDir,
      store: storeText,
      dhcp: dhcpText,
      tftp: tftpAddress,
      events,
      kmsg,
      limits: describeConnectionLimits(limits),
      httpWorkers: listening.workers?.pids ?? 'this process',
      httpInternal: listening.internal,
    },
    `metalboot ready: HTTP on ${httpAddress} (${httpWorkers > 1 ? `${httpWorkers} workers` : 'one process'}), DHCP ${dhcpText}, TFTP ${tftpAddress}, Talos events ${events}, kernel logs ${kmsg}, store ${storeText}; machines use ${settings.advertiseUrl}`,
  );
  return {
    core,
    http,
    httpAddress,
    dhcp,
    tftp,
    close: closeAll,
    abortConnections: () => listening!.abort(),
    httpWorkers: listening.workers,
  };
}

/**
 * The database holds every cluster's secrets: a data directory metalboot creates is 0700 and a new
 * database file 0600 (SQLite gives its -wal and -shm files the database's mode). Existing ones
 * keep the modes the operator gave them; `metalboot doctor` warns about loose ones. The directory
 * holds the API token and the secrets key whichever store is used.
 */
function prepareDataDir(dataDir: string): void {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

function prepareSqliteFile(dataDir: string): string {
  const dbFile = join(dataDir, 'metalboot.db');
  if (!existsSync(dbFile)) closeSync(openSync(dbFile, 'a', 0o600));
  return dbFile;
}

/** Talos's event sink and kernel-log receiver; like TFTP, a default port that is taken only warns. */
async function startTalos(
  settings: Settings,
  core: Core,
  advertise: TalosEndpointProviders,
  logger: Logger,
): Promise<TalosListeners | undefined> {
  if (!settings.eventsListen && !settings.kmsgListen) return undefined;
  const log = logger.child({ adapter: 'talos' });
  try {
    return await startTalosListeners({
      core,
      advertise,
      eventsListen: settings.eventsListen,
      kmsgListen: settings.kmsgListen,
      logger: log,
      optional: { events: !settings.talosListenExplicit?.events, kmsg: !settings.talosListenExplicit?.kmsg },
    });
  } catch (err) {
    throw new Error(`cannot start the Talos listeners: ${(err as Error).message}`);
  }
}

/** TFTP serves assets/ipxe/. On by default; a default port that cannot be bound is a warning. */
async function startTftp(
  settings: Settings,
  core: Core,
  metrics: Metrics,
  logger: Logger,
  maxTransfersPerSource: number,
): Promise<TftpServer | undefined> {
  if (!settings.tftp) return undefined;
  const root = join(settings.assetsDir, 'ipxe');
  mkdirSync(root, { recursive: true });
  if (readdirSync(root).length === 0)
    logger.warn(
      `${root} is empty: copy the iPXE binaries there (e.g. from /usr/lib/ipxe of Debian's ipxe package) for legacy PXE and UEFI PXE clients`,
    );
  const log = logger.child({ adapter: 'tftp' });
  try {
    return await startTftpServer({
      host: settings.tftp.host,
      port: settings.tftp.port,
      root,
      observer: metrics.tftpObserver(timelineObserver(core.network)),
      logger: log,
      maxTransfersPerSource,
    });
  } catch (err) {
    if (settings.tftp.explicit)
      throw new Error(`cannot start TFTP on ${settings.tftp.host}:${settings.tftp.port}: ${(err as Error).message}`);
    log.warn(
      `TFTP not started (${(err as Error).message}); run as root or with CAP_NET_BIND_SERVICE, or set --tftp-listen off`,
    );
    return undefined;
  }
}

async function startDhcp(
  settings: Settings,
  core: Core,
  metrics: Metrics,
  tftp: boolean,
  logger: Logger,
): Promise<DhcpServer | undefined> {
  const d = settings.dhcp;
  if (d.mode === 'off') return undefined;
  if (!d.interface)
    throw new Error(`--dhcp ${d.mode} needs --interface <name>: metalboot answers DHCP on one interface only`);
  const { address, netmask } = interfaceAddress(d.interface);
  const pool = d.mode === 'authoritative' ? localPool(d, netmask) : undefined;
  if (d.mode === 'authoritative' && !pool && d.relaySubnets.length === 0)
    throw new Error('--dhcp authoritative needs --dhcp-range <first>-<last> (or --dhcp-relay-subnet)');
  return startDhcpServer({
    mode: d.mode,
    interface: d.interface,
    serverIp: address,
    pool,
    relaySubnets: d.mode === 'authoritative' ? d.relaySubnets : undefined,
    advertiseUrl: settings.advertiseUrl,
    tftp,
    // Wrapped so every packet is counted, not only those of machines metalboot knows.
    core: metrics.dhcpCore(core.network),
    leases: core.leases,
    logger: logger.child({ adapter: 'dhcp' }),
    answerDelayMs: d.answerDelayMs,
  });
}
