/**
 * The last hop of a boot preview: the config Talos would fetch, rendered and summarised (documents,
 * size, hash, warnings; the YAML itself only when asked). Split from preview.ts, whose other hops
 * are about what the network answers; this one is about the config.
 */
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import type { Cluster, Machine } from '../types.js';
import type { BootPreviewEnv, BootPreviewRequest, PreviewHop } from './preview-types.js';

export async function configHop(
  req: BootPreviewRequest,
  m: Machine,
  c: Cluster,
  env: BootPreviewEnv,
  url: string,
): Promise<PreviewHop> {
  const request = `GET ${url} (Talos; only from the address that fetched the script, within the token's lifetime)`;
  const result = await env.render(c, m);
  const recipe = {
    base: `${m.role} config of ${c.name}`,
    clusterPatches: c.patches.length,
    machinePatches: m.patches.length,
  };
  if (!result.ok) {
    return {
      step: 'config',
      request,
      answer: '503 (Talos keeps retrying): the rendered config is invalid',
      ok: false,
      problem: result.errors.join('; '),
      data: { ...recipe, errors: result.errors },
    };
  }
  const documents = parseAllDocuments(result.yaml).map((d) => {
    const j = d.toJS() as Record<string, unknown> | null;
    return j?.kind
      ? String(j.kind)
      : j?.version
        ? `${String(j.version)} (machine.type ${String((j.machine as { type?: unknown } | undefined)?.type)})`
        : '?';
  });
  const bytes = Buffer.byteLength(result.yaml);
  return {
    step: 'config',
    request,
    answer: `${m.hostname ?? m.mac}'s machine config: ${bytes} bytes, ${documents.length} document(s), valid${result.warnings.length ? ` with ${result.warnings.length} warning(s)` : ''}`,
    ok: true,
    data: {
      ...recipe,
      documents,
      bytes,
      sha256: createHash('sha256').update(result.yaml).digest('hex'),
      warnings: result.warnings,
      ...(req.includeConfig ? { yaml: result.yaml } : {}),
    },
  };
}
