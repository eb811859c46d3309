import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/index.js';
import { tryParseMac } from '../../core/registry/mac.js';
import { decodeCursor, pageLimit, pageOf, pageQueryProperties, pageSchema } from '../pagination.js';

const auditEntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    target: { type: ['string', 'null'] },
    detail: { type: 'object', additionalProperties: true },
    sourceIp: { type: ['string', 'null'] },
  },
} as const;

/** The audit log, newest first: API changes, config deliveries and refusals. */
export async function auditRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.get<{ Querystring: { target?: string; limit?: string; cursor?: string } }>(
    '/audit',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { target: { type: 'string', maxLength: 64 }, ...pageQueryProperties },
        },
        response: { 200: pageSchema(auditEntrySchema, 'Audit entries, newest first') },
      },
    },
    async (req) => {
      const { target } = req.query;
      const limit = pageLimit(req.query.limit);
      const beforeId = decodeCursor('audit', req.query.cursor, 'number');
      // A MAC target in any spelling finds the entries stored under its normal form.
      const normalised = target ? (tryParseMac(target) ?? target) : undefined;
      return pageOf(
        await core.history.audit({ target: normalised, beforeId, limit: limit + 1 }),
        limit,
        'audit',
        (e) => e.id,
      );
    },
  );
}
