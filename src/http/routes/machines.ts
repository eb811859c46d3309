import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/index.js';
import type { MachineInput, MachinePatch } from '../../core/machines.js';
import type { MachineState } from '../../core/types.js';
import { sourceIp } from '../auth.js';
import { eventSchema, machineCreateBody, machineListQuery, machineParams, machinePatchBody, machineSchema } from '../schemas.js';

type MacParams = { Params: { mac: string } };

export async function machineRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  const actor = (req: FastifyRequest) => ({ actor: 'api', sourceIp: sourceIp(req) });

  app.post<{ Body: MachineInput }>('/machines', { schema: { body: machineCreateBody, response: { 201: machineSchema } } }, async (req, reply) =>
    reply.code(201).send(await core.machines.register(req.body, actor(req))),
  );

  app.get<{ Querystring: { state?: MachineState; cluster?: string; label?: string } }>(
    '/machines',
    { schema: { querystring: machineListQuery, response: { 200: { type: 'array', items: machineSchema } } } },
    (req) => {
      const { state, cluster, label } = req.query;
      const [key, value] = label ? label.split('=') : [];
      return core.machines.list({ state, cluster, label: key !== undefined ? { key, value: value ?? '' } : undefined });
    },
  );

  app.get<MacParams>('/machines/:mac', { schema: { params: machineParams, response: { 200: machineSchema } } }, (req) =>
    core.machines.get(req.params.mac),
  );

  app.patch<MacParams & { Body: MachinePatch }>(
    '/machines/:mac',
    { schema: { params: machineParams, body: machinePatchBody, response: { 200: machineSchema } } },
    (req) => core.machines.update(req.params.mac, req.body, actor(req)),
  );

  app.delete<MacParams>('/machines/:mac', { schema: { params: machineParams } }, async (req, reply) => {
    await core.machines.delete(req.params.mac, actor(req));
    return reply.code(204).send();
  });

  app.get<MacParams & { Querystring: { after?: string; limit?: string } }>(
    '/machines/:mac/events',
    {
      schema: {
        params: machineParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'string', pattern: '^[0-9]{1,15}$' }, limit: { type: 'string', pattern: '^([1-9][0-9]{0,3}|10000)$' } },
        },
        response: { 200: { type: 'array', items: eventSchema } },
      },
    },
    async (req) => {
      await core.machines.get(req.params.mac); // 404 for a MAC we never saw
      const { after, limit } = req.query;
      return core.machines.events(req.params.mac, { afterId: after ? Number(after) : undefined, limit: limit ? Number(limit) : undefined });
    },
  );

  app.post<MacParams & { Body: { wipe?: 'system' | 'disk' } | null }>(
    '/machines/:mac/reimage',
    {
      schema: {
        params: machineParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { wipe: { type: 'string', enum: ['system', 'disk'] } } },
        response: { 202: machineSchema },
      },
    },
    async (req, reply) => reply.code(202).send(await core.machines.requestReimage(req.params.mac, req.body?.wipe ?? 'system', actor(req))),
  );
}
