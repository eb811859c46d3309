import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { machineProgressView } from '../../core/progress/machine-view.js';
import { sourceIp } from '../auth.js';
import { decodeCursor, pageLimit, pageOf, pageQueryProperties, pageSchema } from '../pagination.js';
import { machineParams, machineSchema } from '../schemas/machines.js';

type MacParams = { Params: { mac: string } };
const count = (max: number) => ({ type: 'string', pattern: `^[0-9]{1,${String(max).length}}$` }) as const;
const num = (v: string | undefined, def: number, max: number) => Math.min(v === undefined ? def : Number(v), max);

/**
 * Where each machine is after its config was delivered (under /api/v1): progress (state, failure
 * reason, unmet conditions, last events, kernel-log tail), the kernel log, canceling a reimage,
 * and the Talos listeners' counters.
 */
export async function machineProgressRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.get<MacParams & { Querystring: { events?: string; lines?: string } }>(
    '/machines/:mac/progress',
    {
      schema: {
        params: machineParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { events: count(200), lines: count(500) },
        },
      },
    },
    (req) =>
      machineProgressView(core, req.params.mac, {
        events: num(req.query.events, 20, 200),
        logLines: num(req.query.lines, 50, 500),
      }),
  );

  app.get<MacParams & { Querystring: { limit?: string } }>(
    '/machines/:mac/logs',
    {
      schema: {
        params: machineParams,
        querystring: { type: 'object', additionalProperties: false, properties: { limit: count(500) } },
      },
    },
    async (req) => {
      const m = await core.machines.get(req.params.mac);
      return { mac: m.mac, lines: core.kernelLogs.tail(m.mac, num(req.query.limit, 200, 500)) };
    },
  );

  app.delete<MacParams>(
    '/machines/:mac/reimage',
    { schema: { params: machineParams, response: { 200: machineSchema } } },
    (req) => core.machines.cancelReimage(req.params.mac, { actor: 'api', sourceIp: sourceIp(req) }),
  );

  app.get('/talos/stats', async () => ({
    ...core.progress.counters,
    unattributedStored: await core.progress.unattributedCount(),
  }));

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/talos/unattributed',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: pageQueryProperties },
        response: {
          200: pageSchema(
            { type: 'object', additionalProperties: true },
            'Talos events from addresses no machine is known by, oldest first',
          ),
        },
      },
    },
    async (req) => {
      const limit = pageLimit(req.query.limit);
      const afterId = decodeCursor('unattributed', req.query.cursor, 'number');
      return pageOf(
        await core.progress.unattributed({ afterId, limit: limit + 1 }),
        limit,
        'unattributed',
        (e) => e.id,
      );
    },
  );
}
