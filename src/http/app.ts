import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createServer, type ServerResponse } from 'node:http';
import type { BootNetwork } from '../core/boot/boot-service.js';
import type { Core } from '../core/index.js';
import { connectionSamples } from '../metrics/connections.js';
import { createMetrics, installHttpMetrics, type Metrics } from '../metrics/index.js';
import { bearerAuth, trustForwardedClient } from './auth.js';
import { BootFastPath } from './boot-fast-path.js';
import {
  applyHttpTimeouts,
  ConnectionGate,
  DEFAULT_HTTP_LIMITS,
  validateHttpLimits,
  type HttpLimits,
} from './connection-limits.js';
import { installErrorHandler } from './errors.js';
import { genReqId, httpLogger, installRequestIds, OneLineRequestLog } from './request-log.js';
import { assetRoutes, coreLedger } from './routes/assets.js';
import { auditRoutes } from './routes/audit.js';
import { bootRoutes } from './routes/boot.js';
import { clusterRoutes } from './routes/clusters.js';
import { registerDocs } from './routes/docs.js';
import { eventsStreamRoutes } from './routes/events-stream.js';
import { fleetRoutes } from './routes/fleet.js';
import { healthRoutes } from './routes/health.js';
import { machineProgressRoutes } from './routes/machine-progress.js';
import { machineRoutes } from './routes/machines.js';
import { metricsRoutes } from './routes/metrics.js';
import { powerRoutes } from './routes/power.js';
import { bmcRoutes } from './routes/bmc.js';
import { serverStatusRoutes } from './routes/server-status.js';
import { uiRoutes } from './routes/ui.js';
import { VERSION } from './ui/index.js';

export interface HttpOptions {
  core: Core;
  apiToken: string;
  assetsDir: string;
  /** A pino logger; none in tests. */
  logger?: FastifyBaseLogger;
  /** Largest accepted request body; cluster configs are ~30 KiB, so 1 MiB is generous. */
  bodyLimit?: number;
  /** Shared with the DHCP/TFTP wiring when the server counts those (see Metrics); else one is made here. */
  metrics?: Metrics;
  /** Require the API token on /metrics (default: open, like most exporters). */
  metricsRequireToken?: boolean;
  /**
   * Whether TFTP runs and how DHCP is answered, for boot previews. A function: TFTP starts after
   * HTTP. Default: neither (an HTTP app on its own).
   */
  bootNetwork?: () => BootNetwork;
  /** Timeouts and connection caps of this listener (connection-limits.ts); default DEFAULT_HTTP_LIMITS. */
  limits?: HttpLimits;
  /**
   * The app listens only for HTTP workers (src/http/workers/), on the internal socket: each request
   * must name its client (FORWARDED_CLIENT_HEADER), which is believed here and nowhere else; the
   * workers cap connections on the public port, so this server has no connection gate.
   */
  behindWorkers?: boolean;
}

const NO_BOOT_NETWORK = (): BootNetwork => ({ tftp: false, dhcpMode: 'off' });
const NO_CONNECTIONS = { open: 0, refused: { total: 0, 'per-source': 0 } };
/** The internal listener's idle keep-alive: longer than the workers' agents keep an idle socket. */
export const INTERNAL_KEEP_ALIVE_MS = 120_000;

function refuseUnforwarded(res: ServerResponse): void {
  const body = JSON.stringify({
    error: 'bad_request',
    message: 'the internal listener takes requests from HTTP workers only',
  });
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The HTTP adapter: admin API under /api/v1 (token), boot routes and assets (no token). */
export async function buildHttpApp(opts: HttpOptions): Promise<FastifyInstance> {
  let fastPath: BootFastPath | undefined; // made once the logger and metrics exist, before listen
  const limits = validateHttpLimits({ ...(opts.limits ?? DEFAULT_HTTP_LIMITS) });
  let gate: ConnectionGate | undefined;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: httpLogger(opts.logger) } : { logger: false }),
    // Our own server, so the boot fast path sees each request first; what fastify would set on the
    // server it makes is set here.
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (opts.behindWorkers && !trustForwardedClient(req)) return refuseUnforwarded(res);
        if (!fastPath?.handle(req, res)) handler(req, res);
      });
      // Timeouts like nginx's, never a total time (a kernel download may take minutes), and caps on
      // connections so one host cannot take every socket (connection-limits.ts).
      applyHttpTimeouts(server, limits);
      // The workers' pooled connections outlive their own idle timer (60 s), so none is cut under a request.
      if (opts.behindWorkers) server.keepAliveTimeout = INTERNAL_KEEP_ALIVE_MS;
      else {
        gate = new ConnectionGate(limits, opts.logger);
        gate.install(server);
      }
      return server;
    },
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // Fastify's default Ajv silently drops unknown body fields; an API that ignores a typo'd
    // field is worse than one that refuses it.
    // No type coercion either: with it, `null` in an anyOf of string|null becomes "" (query
    // parameters that are numbers are declared as digit strings and converted in the route).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    logController: new OneLineRequestLog(),
    requestIdHeader: false, // genReqId reads x-request-id itself, keeping only sane values
    genReqId,
  });
  installErrorHandler(app);
  installRequestIds(app);
  // The store commits writes in batches: nothing is answered before what it did is durable
  // (a config token, a delivery on the audit log, an operator's change).
  const core = opts.core;
  app.addHook('onSend', async () => {
    await core.flushed();
  });
  await registerDocs(app, { version: VERSION }); // before the routes: it learns them as they are added
  const metrics = opts.metrics ?? createMetrics(opts.core);
  if (!opts.metrics) app.addHook('onClose', async () => metrics.close());
  installHttpMetrics(app, metrics);
  // Behind workers the public connections are theirs: they report them, summed into /metrics.
  connectionSamples(() => gate?.stats() ?? NO_CONNECTIONS, [metrics.registry]);
  fastPath = new BootFastPath(opts.core, app.log, metrics);
  app.decorate('bootFastPath', fastPath);
  if (gate) app.decorate('connectionGate', gate);
  await app.register(metricsRoutes, { metrics, apiToken: opts.apiToken, requireToken: opts.metricsRequireToken });
  await app.register(uiRoutes);
  await app.register(healthRoutes, { core: opts.core });
  await app.register(bootRoutes, { core: opts.core });
  await app.register(assetRoutes, {
    ledger: coreLedger(opts.core),
    assetsDir: opts.assetsDir,
    sendTimeoutMs: limits.sendTimeoutMs,
  });
  await app.register(
    async (api) => {
      api.addHook('onRequest', bearerAuth(opts.apiToken));
      await api.register(clusterRoutes, { core: opts.core, assetsDir: opts.assetsDir });
      await api.register(machineRoutes, {
        core: opts.core,
        assetsDir: opts.assetsDir,
        bootNetwork: opts.bootNetwork ?? NO_BOOT_NETWORK,
      });
      await api.register(auditRoutes, { core: opts.core });
      await api.register(serverStatusRoutes, { core: opts.core });
      await api.register(machineProgressRoutes, { core: opts.core });
      await api.register(powerRoutes, { core: opts.core });
      await api.register(bmcRoutes, { core: opts.core });
      await api.register(eventsStreamRoutes, { core: opts.core });
      await api.register(fleetRoutes, { core: opts.core, assetsDir: opts.assetsDir });
    },
    { prefix: '/api/v1' },
  );
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The connection caps in front of this app's server (connection-limits.ts); absent behind workers. */
    connectionGate: ConnectionGate;
  }
}
