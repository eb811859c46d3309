import type { FastifyInstance } from 'fastify';
import { missingTalosAssets } from '../../assets/missing.js';
import type { ClusterInput } from '../../core/registry/clusters.js';
import type { Core } from '../../core/index.js';
import type { Cluster } from '../../core/types.js';
import { sourceIp } from '../auth.js';
import { decodeCursor, pageLimit, pageOf, pageQueryProperties, pageSchema } from '../pagination.js';
import { clusterCreateBody, clusterSchema, clusterUpdateBody, nameParams } from '../schemas/clusters.js';

export async function clusterRoutes(
  app: FastifyInstance,
  { core, assetsDir }: { core: Core; assetsDir?: string },
): Promise<void> {
  const withWarnings = {
    type: 'object',
    properties: { cluster: clusterSchema, warnings: { type: 'array', items: { type: 'string' } } },
  };
  // No kernel for the cluster's Talos version yet: say how to pull it (apply will want this too).
  const withAssetWarning = (r: { cluster: Cluster; warnings: string[] }) => {
    const missing = assetsDir === undefined ? undefined : missingTalosAssets(assetsDir, r.cluster);
    return missing ? { ...r, warnings: [...r.warnings, missing] } : r;
  };
  const actor = (req: { ip: string }) => ({ actor: 'api', sourceIp: sourceIp(req as never) });

  app.post<{ Body: ClusterInput }>(
    '/clusters',
    { schema: { body: clusterCreateBody, response: { 201: withWarnings } } },
    async (req, reply) => {
      const result = await core.clusters.create(req.body, actor(req));
      return reply.code(201).send(withAssetWarning(result));
    },
  );

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/clusters',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: pageQueryProperties },
        response: { 200: pageSchema(clusterSchema, 'Clusters in name order') },
      },
    },
    async (req) => {
      const limit = pageLimit(req.query.limit);
      const after = decodeCursor('clusters', req.query.cursor, 'string');
      return pageOf(await core.clusters.page({ after, limit: limit + 1 }), limit, 'clusters', (c) => c.name);
    },
  );

  app.get<{ Params: { name: string } }>(
    '/clusters/:name',
    { schema: { params: nameParams, response: { 200: clusterSchema } } },
    (req) => core.clusters.get(req.params.name),
  );

  app.put<{ Params: { name: string }; Body: ClusterInput }>(
    '/clusters/:name',
    { schema: { params: nameParams, body: clusterUpdateBody, response: { 200: withWarnings } } },
    async (req, reply) => {
      if (req.body.name !== undefined && req.body.name !== req.params.name) {
        return reply.code(400).send({
          error: 'validation',
          message: 'name in the body differs from the URL; clusters cannot be renamed',
          field: 'name',
        });
      }
      return withAssetWarning(await core.clusters.update(req.params.name, req.body, actor(req)));
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/clusters/:name',
    { schema: { params: nameParams } },
    async (req, reply) => {
      await core.clusters.delete(req.params.name, actor(req));
      return reply.code(204).send();
    },
  );
}
