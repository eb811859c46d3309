import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/index.js';
import { bearerAuth } from '../auth.js';

export interface MetricsRouteOptions {
  metrics: Metrics;
  apiToken: string;
  /**
   * Require the API token on /metrics too. Off by default: the metrics carry counts and states,
   * no configs or secrets, and most scrape setups are simplest without a per-target credential.
   * Prometheus can send one (`authorization: {credentials_file: …}`) when this is on.
   */
  requireToken?: boolean;
}

/** `GET /metrics`: Prometheus text exposition of metalboot's registry. */
export async function metricsRoutes(app: FastifyInstance, opts: MetricsRouteOptions): Promise<void> {
  app.get(
    '/metrics',
    {
      ...(opts.requireToken ? { onRequest: bearerAuth(opts.apiToken) } : {}),
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format: DHCP packets, TFTP transfers, boot requests, config deliveries and refusals, timeline events, machines by state, stalled machines, Talos ingestion, process metrics. No token unless the server requires one for metrics.',
        ...(opts.requireToken ? { security: [{ bearerAuth: [] }] } : {}),
      },
    },
    async (_req, reply) => {
      const body = await opts.metrics.scrape();
      return reply.header('cache-control', 'no-store').type(opts.metrics.contentType).send(body);
    },
  );
}
