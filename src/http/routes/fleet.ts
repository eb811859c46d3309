import type { FastifyInstance } from 'fastify';
import { missingTalosAssets } from '../../assets/missing.js';
import type { Core } from '../../core/index.js';
import { sourceIp } from '../auth.js';
import { applyBody, exportSchema, planSchema } from '../schemas/fleet.js';

interface ApplyBody {
  documents: string;
  source?: string;
  files?: Record<string, string>;
  dryRun?: boolean;
  prune?: boolean;
}

/** A fleet file, with its talosctl bases: well past the API's usual 1 MiB body. */
const APPLY_BODY_LIMIT = 32 * 1024 * 1024;

/** POST /apply (a fleet file planned, then written unless dryRun) and GET /export (the registry as one). */
export async function fleetRoutes(app: FastifyInstance, { core, assetsDir }: { core: Core; assetsDir?: string }) {
  app.post<{ Body: ApplyBody }>(
    '/apply',
    { bodyLimit: APPLY_BODY_LIMIT, schema: { body: applyBody, response: { 200: planSchema } } },
    async (req) =>
      core.fleet.apply(
        { name: req.body.source ?? 'fleet.yaml', text: req.body.documents, files: req.body.files ?? {} },
        {
          dryRun: req.body.dryRun ?? false,
          prune: req.body.prune ?? false,
          clusterWarning: assetsDir === undefined ? undefined : (c) => missingTalosAssets(assetsDir, c),
        },
        { actor: 'api', sourceIp: sourceIp(req) },
      ),
  );

  app.get('/export', { schema: { response: { 200: exportSchema } } }, () => core.fleet.export());
}
