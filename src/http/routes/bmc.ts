import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import type { BmcInput } from '../../core/power/bmc.js';
import { sourceIp } from '../auth.js';
import { bmcBody, bmcView } from '../schemas/bmc.js';
import { machineParams } from '../schemas/machines.js';

/** `PUT`/`DELETE /machines/:mac/bmc` (under /api/v1): a machine's BMC; the answer never has the password. */
export async function bmcRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.put<{ Params: { mac: string }; Body: BmcInput }>(
    '/machines/:mac/bmc',
    { schema: { params: machineParams, body: bmcBody, response: { 200: bmcView } } },
    async (req) => core.bmc.set(req.params.mac, req.body, { actor: 'api', sourceIp: sourceIp(req) }),
  );
  app.delete<{ Params: { mac: string } }>(
    '/machines/:mac/bmc',
    { schema: { params: machineParams } },
    async (req, reply) => {
      await core.bmc.clear(req.params.mac, { actor: 'api', sourceIp: sourceIp(req) });
      core.power.forget(req.params.mac);
      return reply.code(204).send();
    },
  );
}
