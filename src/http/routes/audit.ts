import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { tryParseMac } from '../../core/mac.js';

/** The audit log, newest first: API changes, config deliveries and refusals. */
export async function auditRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.get<{ Querystring: { target?: string; limit?: string } }>(
    '/audit',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { target: { type: 'string', maxLength: 64 }, limit: { type: 'string', pattern: '^([1-9][0-9]{0,3}|10000)$' } },
        },
      },
    },
    async (req) => {
      const { target, limit } = req.query;
      // A MAC target in any spelling finds the entries stored under its normal form.
      const normalised = target ? (tryParseMac(target) ?? target) : undefined;
      return core.store.audit.list({ target: normalised, limit: limit ? Number(limit) : 100 });
    },
  );
}
