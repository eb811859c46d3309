import type { FastifyInstance } from 'fastify';
import { bindingWarnings, formatConfigBinding } from '../../core/binding/config-binding.js';
import type { Core } from '../../core/index.js';

/**
 * What the operator should know about how this server runs: settings that weaken config secrecy
 * (the dashboard shows them as a banner), the store, and whether this instance is the leader. Behind the token: an attacker learns nothing from it.
 */
export async function serverStatusRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.get(
    '/server',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              configBinding: {
                type: 'string',
                description: '--config-binding: first-request, or the signals that tie a request to a MAC',
              },
              store: {
                type: 'string',
                enum: ['sqlite', 'postgresql'],
                description: 'where this instance keeps its state',
              },
              leader: {
                type: 'boolean',
                description:
                  'whether this instance runs the stall detector and housekeeping: on PostgreSQL the one instance holding the leader lock; always true on SQLite',
              },
              warnings: {
                type: 'array',
                items: { type: 'string' },
                description: 'settings that weaken config secrecy',
              },
            },
          },
        },
      },
    },
    async () => {
      const binding = core.guard.binder.binding;
      return {
        configBinding: formatConfigBinding(binding),
        store: core.storeKind,
        leader: core.singletons.leadership.isLeader(),
        warnings: bindingWarnings(binding),
      };
    },
  );
}
