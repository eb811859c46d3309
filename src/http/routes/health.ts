import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { UNAVAILABLE_RETRY_AFTER_S } from '../errors.js';

const database = {
  type: 'object',
  required: ['kind', 'ok'],
  properties: { kind: { type: 'string' }, ok: { type: 'boolean' }, error: { type: 'string' } },
} as const;
const health = {
  type: 'object',
  required: ['status', 'database'],
  properties: { status: { type: 'string' }, database },
} as const;

/**
 * Liveness and readiness, split so that an orchestrator does not restart a process that is only
 * waiting for its database (which would lose nothing but help nothing either):
 * - `/healthz`: the process answers. Always 200; `status` is `ok`, or `degraded` while the
 *   database is down (`database.ok: false` and why).
 * - `/readyz`: this instance can serve boots now. 503 with Retry-After while the database is
 *   down: a load balancer sends machines to another instance meanwhile.
 * The database is asked through the core, which asks it at most about once a second, however
 * many probes arrive (a flood of /healthz is not a flood of queries).
 */
export async function healthRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: health } } }, async () => {
    const db = await core.storeHealth();
    return { status: db.ok ? 'ok' : 'degraded', database: db };
  });
  app.get('/readyz', { schema: { response: { 200: health, 503: health } } }, async (_req, reply) => {
    const db = await core.storeHealth();
    if (db.ok) return { status: 'ready', database: db };
    return reply
      .code(503)
      .header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S))
      .send({ status: 'unavailable', database: db });
  });
}
