/** `kind: Cluster`: a cluster's talosctl base configs, patches and settings, as ClusterService keeps them. */
import type { ClusterInput } from '../registry/clusters.js';
import type { Arch, Cluster } from '../types.js';
import { locate, type FleetDocument } from './document.js';
import { type FleetKind, type PlanContext, type PlannedChange, sameData, textOf } from './kinds.js';

/** The fields a Cluster document sets, compared with the registry's record. */
const FIELDS = [
  'talosVersion',
  'arch',
  'controlplane',
  'worker',
  'patches',
  'kernelArgs',
  'schematic',
  'endpoint',
] as const satisfies ReadonlyArray<keyof Cluster>;

interface ClusterDoc {
  name: string;
  talosVersion: string;
  arch?: Arch;
  patches?: unknown[];
  kernelArgs?: string[];
  schematic?: string | null;
  endpoint?: string | null;
}

/** The document as ClusterService's input: a field left out is unset (no patches, amd64…). */
export function clusterInput(doc: FleetDocument, ctx: Pick<PlanContext, 'files'>): ClusterInput {
  const d = doc.data as unknown as ClusterDoc;
  return {
    name: d.name,
    talosVersion: d.talosVersion,
    controlplane: textOf(doc, ['controlplane'], ctx),
    worker: textOf(doc, ['worker'], ctx),
    patches: (d.patches ?? []).map((_, i) => textOf(doc, ['patches', i], ctx)),
    kernelArgs: d.kernelArgs ?? [],
    arch: d.arch ?? 'amd64',
    schematic: d.schematic ?? null,
    endpoint: d.endpoint ?? null, // null: the one the base configs name
  };
}

export const clusterKind: FleetKind = {
  kind: 'Cluster',
  noun: 'cluster',
  schema: 'cluster.schema.json',
  key: (doc) => String(doc.data.name),

  async plan(docs: FleetDocument[], ctx: PlanContext): Promise<PlannedChange[]> {
    const out: PlannedChange[] = [];
    for (const doc of docs) {
      const input = clusterInput(doc, ctx);
      let prepared: Awaited<ReturnType<typeof ctx.services.clusters.prepare>>;
      try {
        prepared = await ctx.services.clusters.prepare(input);
      } catch (err) {
        throw locate(err, doc, []);
      }
      const { cluster, existing, warnings } = prepared;
      const fields = existing ? FIELDS.filter((f) => !sameData(existing[f], cluster[f])) : [];
      const base = { kind: 'cluster', name: input.name, id: input.name };
      if (existing && fields.length === 0) {
        out.push({ ...base, op: 'unchanged' });
        continue;
      }
      ctx.clusters.set(input.name, cluster);
      const extra = ctx.clusterWarning?.(cluster);
      ctx.warnings.push(...[...warnings, ...(extra ? [extra] : [])].map((w) => `cluster ${input.name}: ${w}`));
      const { actor } = ctx;
      out.push(
        existing
          ? {
              ...base,
              op: 'update',
              fields: [...fields],
              write: async () => {
                const { name, ...rest } = input;
                await ctx.services.clusters.update(name, rest, actor);
              },
            }
          : {
              ...base,
              op: 'create',
              write: async () => {
                await ctx.services.clusters.create(input, actor);
              },
            },
      );
    }
    return out;
  },

  async prune(keys: Set<string>, ctx: PlanContext): Promise<PlannedChange[]> {
    const { actor } = ctx;
    return (await ctx.services.clusters.list())
      .filter((c) => !keys.has(c.name))
      .map((c) => ({
        op: 'delete' as const,
        kind: 'cluster',
        name: c.name,
        id: c.name,
        write: () => ctx.services.clusters.delete(c.name, actor),
      }));
  },
};
