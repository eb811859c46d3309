import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { sourceIp } from '../auth.js';

/**
 * Routes firmware and Talos call: no admin token (they cannot send one). Scripts and configs are
 * never cached by anything in between: each boot must ask again.
 */
export async function bootRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  const IPXE = 'text/plain; charset=utf-8';

  app.get('/boot.ipxe', async (req, reply) => {
    const script = await core.boot.genericScript(sourceIp(req));
    return reply.header('cache-control', 'no-store').type(IPXE).send(script);
  });

  app.get<{ Querystring: { mac: string; uuid?: string; serial?: string; arch?: string; platform?: string } }>(
    '/ipxe',
    {
      schema: {
        querystring: {
          type: 'object',
          // Unknown keys are ignored, not refused: an SMBIOS serial with `&` in it (iPXE does not
          // escape it) would otherwise leave the machine looping on a 400 forever.
          additionalProperties: true,
          required: ['mac'],
          properties: {
            // Validation happens here so a malformed query is a 400 before anything is recorded.
            mac: { type: 'string', pattern: '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$|^[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}$' },
            uuid: { type: 'string', pattern: '^$|^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$' },
            serial: { type: 'string', maxLength: 128 },
            arch: { type: 'string', enum: ['', 'i386', 'x86_64', 'arm64', 'arm32', 'riscv64'] },
            platform: { type: 'string', enum: ['', 'pcbios', 'efi'] },
          },
        },
      },
    },
    async (req, reply) => {
      const { mac, uuid, serial, arch, platform } = req.query;
      const { kind, script } = await core.boot.machineScript({ mac, uuid, serial, arch, platform, sourceIp: sourceIp(req) });
      return reply.header('cache-control', 'no-store').header('x-metalboot-script', kind).type(IPXE).send(script);
    },
  );

  app.get<{ Params: { mac: string }; Querystring: { token?: string } }>(
    '/config/:mac',
    {
      schema: {
        params: { type: 'object', properties: { mac: { type: 'string', maxLength: 64 } } },
        querystring: { type: 'object', properties: { token: { type: 'string', maxLength: 256 } } },
      },
    },
    async (req, reply) => {
      const result = await core.boot.fetchConfig(req.params.mac, req.query.token, sourceIp(req));
      reply.header('cache-control', 'no-store');
      if (result.status === 200) return reply.type('application/yaml').send(result.body);
      // Talos retries any non-200 with backoff; a 503 tells it (and the operator) to try again later.
      if (result.status === 503) reply.header('retry-after', '30');
      return reply.code(result.status).send({ error: result.error, message: result.message });
    },
  );
}
