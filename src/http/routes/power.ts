import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/index.js';
import { PowerError } from '../../core/power/power-service.js';
import type { BootDevice, PowerAction } from '../../core/power/power-driver.js';
import { sourceIp } from '../auth.js';
import { machineParams } from '../schemas/machines.js';
import { bootDeviceBody, powerBatchBody, powerBatchView, powerBody, powerStateView } from '../schemas/power.js';

type MacParams = { Params: { mac: string } };

/**
 * Power under /api/v1: a machine's BMC when it has one (IPMI, Redfish), else the server's
 * Wake-on-LAN (`on` only). A BMC that refuses or does not answer is a 502 with its words, and on the
 * machine's timeline. 202 for actions: the BMC took the command; what the machine does next shows on
 * its timeline.
 */
export async function powerRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  const actor = (req: FastifyRequest) => ({ actor: 'api', sourceIp: sourceIp(req) });

  app.post<MacParams & { Body: { action: PowerAction } }>(
    '/machines/:mac/power',
    { schema: { params: machineParams, body: powerBody } },
    async (req, reply) => reply.code(202).send(await core.power.act(req.params.mac, req.body.action, actor(req))),
  );

  app.get<MacParams>(
    '/machines/:mac/power',
    { schema: { params: machineParams, response: { 200: powerStateView } } },
    async (req, reply) => {
      const can = await core.power.capabilities(req.params.mac);
      const shown = { mac: req.params.mac, driver: can.driver, actions: can.actions, bootDevice: can.bootDevice };
      try {
        return { ...shown, state: (await core.power.status(req.params.mac, actor(req))).state };
      } catch (err) {
        // The BMC's words, and still what its driver could do (the dashboard keeps its menu).
        if (!(err instanceof PowerError)) throw err;
        return reply.code(502).send({ error: err.code, message: err.message, ...shown, state: 'unknown' });
      }
    },
  );

  app.post<MacParams & { Body: { device: BootDevice; persistent?: boolean } }>(
    '/machines/:mac/boot-device',
    { schema: { params: machineParams, body: bootDeviceBody } },
    async (req) => core.power.setBootDevice(req.params.mac, req.body, actor(req)),
  );

  app.post<{ Body: { action: PowerAction; cluster?: string; label?: string; staggerMs?: number } }>(
    '/power/batches',
    { schema: { body: powerBatchBody, response: { 202: powerBatchView } } },
    async (req, reply) => {
      const { action, cluster, label, staggerMs = 0 } = req.body;
      const eq = label?.indexOf('=') ?? -1;
      const selector = {
        ...(cluster ? { cluster } : {}),
        ...(label ? { label: { key: label.slice(0, eq), value: label.slice(eq + 1) } } : {}),
      };
      return reply.code(202).send(await core.powerBatches.start(selector, action, staggerMs, actor(req)));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/power/batches/:id',
    {
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } },
          required: ['id'],
        },
        response: { 200: powerBatchView },
      },
    },
    async (req) => core.powerBatches.get(Number(req.params.id)),
  );
}
