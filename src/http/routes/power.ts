import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import type { PowerAction } from '../../power/index.js';
import { sourceIp } from '../auth.js';
import { machineParams } from '../schemas/machines.js';

/**
 * `POST /machines/:mac/power {action: "on"}` (under /api/v1): Wake-on-LAN for now. 202: the packet
 * went out; whether the machine wakes shows on its timeline (DHCP, script, …).
 */
export async function powerRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.post<{ Params: { mac: string }; Body: { action: PowerAction } }>(
    '/machines/:mac/power',
    {
      schema: {
        params: machineParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: { action: { type: 'string', enum: ['on'] } },
        },
      },
    },
    async (req, reply) =>
      reply
        .code(202)
        .send(await core.power.act(req.params.mac, req.body.action, { actor: 'api', sourceIp: sourceIp(req) })),
  );
}
