import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Core } from '../core/index.js';
import { bearerAuth } from './auth.js';
import { installErrorHandler } from './errors.js';
import { assetRoutes } from './routes/assets.js';
import { auditRoutes } from './routes/audit.js';
import { bootRoutes } from './routes/boot.js';
import { clusterRoutes } from './routes/clusters.js';
import { healthRoutes } from './routes/health.js';
import { machineRoutes } from './routes/machines.js';

export interface HttpOptions {
  core: Core;
  apiToken: string;
  assetsDir: string;
  /** A pino logger; none in tests. */
  logger?: FastifyBaseLogger;
  /** Largest accepted request body; cluster configs are ~30 KiB, so 1 MiB is generous. */
  bodyLimit?: number;
}

/** The HTTP adapter: admin API under /api/v1 (token), boot routes and assets (no token). */
export async function buildHttpApp(opts: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // Fastify's default Ajv silently drops unknown body fields; an API that ignores a typo'd
    // field is worse than one that refuses it.
    // No type coercion either: with it, `null` in an anyOf of string|null becomes "" (query
    // parameters that are numbers are declared as digit strings and converted in the route).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Keep-alive long enough for iPXE fetching script, kernel and initramfs in one connection.
    keepAliveTimeout: 30_000,
    requestIdHeader: 'x-request-id',
  });
  installErrorHandler(app);
  await app.register(healthRoutes);
  await app.register(bootRoutes, { core: opts.core });
  await app.register(assetRoutes, { core: opts.core, assetsDir: opts.assetsDir });
  await app.register(
    async (api) => {
      api.addHook('onRequest', bearerAuth(opts.apiToken));
      await api.register(clusterRoutes, { core: opts.core });
      await api.register(machineRoutes, { core: opts.core });
      await api.register(auditRoutes, { core: opts.core });
    },
    { prefix: '/api/v1' },
  );
  return app;
}
