/**
 * An HTTP worker's app: `/assets/` (GET, HEAD) served here by the same route and file sender as
 * in one process; every other request forwarded to the primary (proxy.ts) before fastify sees it.
 * The connection gate and timeouts are the public port's, with this worker's share of the caps.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { connectionSamples } from '../../metrics/connections.js';
import { httpBootCounter, installHttpMetrics } from '../../metrics/http.js';
import { applyHttpTimeouts, ConnectionGate, type HttpLimits, validateHttpLimits } from '../connection-limits.js';
import { installErrorHandler } from '../errors.js';
import { genReqId, httpLogger, installRequestIds, OneLineRequestLog } from '../request-log.js';
import { type AssetLedger, assetRoutes } from '../routes/assets.js';
import { forward, type Upstream } from './proxy.js';

export interface WorkerAppOptions {
  ledger: AssetLedger;
  assetsDir: string;
  limits: HttpLimits;
  /** The primary's internal listener, and the pooled connections to it. */
  upstream: Upstream;
  registry: Registry;
  logger: FastifyBaseLogger;
  /** Name this process in an x-metalboot-worker header (tests). */
  pidHeader?: boolean;
}

/** Requests served here rather than forwarded: what the asset route answers for itself. */
function servedHere(method: string | undefined, url: string | undefined): boolean {
  return (method === 'GET' || method === 'HEAD') && url !== undefined && url.startsWith('/assets/');
}

export async function buildWorkerApp(opts: WorkerAppOptions): Promise<FastifyInstance> {
  const limits = validateHttpLimits({ ...opts.limits });
  let gate: ConnectionGate | undefined;
  const log = opts.logger;
  const pid = String(process.pid);
  const app = Fastify({
    loggerInstance: httpLogger(opts.logger),
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (opts.pidHeader) res.setHeader('x-metalboot-worker', pid);
        if (servedHere(req.method, req.url)) handler(req, res);
        else forward(req, res, opts.upstream, log);
      });
      applyHttpTimeouts(server, limits);
      gate = new ConnectionGate(limits, opts.logger);
      gate.install(server);
      return server;
    },
    logController: new OneLineRequestLog(),
    requestIdHeader: false,
    genReqId,
  });
  installErrorHandler(app);
  installRequestIds(app);
  const httpBoot = httpBootCounter([opts.registry]);
  installHttpMetrics(app, { httpBoot });
  connectionSamples(() => gate!.stats(), [opts.registry]);
  await app.register(assetRoutes, {
    ledger: opts.ledger,
    assetsDir: opts.assetsDir,
    sendTimeoutMs: limits.sendTimeoutMs,
  });
  return app;
}
