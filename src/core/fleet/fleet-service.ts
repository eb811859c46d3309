/**
 * FleetService: a fleet file applied to the registry. Every document is checked and every config
 * it touches rendered before anything is written; then the writes go through the registry's own
 * services (so each is audited and checked as `cluster create` / `machine add` would be).
 */
import type { ConfigRenderer } from '../config/render.js';
import type { Actor, ClusterService } from '../registry/clusters.js';
import type { MachineService } from '../registry/machines.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Cluster } from '../types.js';
import { clusterKind } from './cluster-kind.js';
import { FleetError, type FleetDocument, type FleetSource, readFleet } from './document.js';
import { exportFleet, type FleetExport } from './export.js';
import { type FleetChange, type FleetKind, LATER_KINDS, type PlanContext, type PlannedChange } from './kinds.js';
import { machineKind } from './machine-kind.js';
import { checkSchema } from './schema.js';

/** The kinds apply knows, in the order their writes go (deletions in the reverse order). */
export const FLEET_KINDS: readonly FleetKind[] = [clusterKind, machineKind];

export interface FleetPlan {
  dryRun: boolean;
  prune: boolean;
  changes: FleetChange[];
  summary: { created: number; changed: number; deleted: number; unchanged: number };
  /** What the registry holds that the file does not name (deleted with prune; counted without). */
  unmanaged: Record<string, number>;
  warnings: string[];
}

export interface ApplyOptions {
  dryRun?: boolean;
  prune?: boolean;
  /** A warning about a cluster the file creates or changes, from the adapter (boot files not pulled). */
  clusterWarning?: (c: Cluster) => string | undefined;
}

export class FleetService {
  constructor(
    private readonly clusters: ClusterService,
    private readonly machines: MachineService,
    private readonly renderer: ConfigRenderer,
    private readonly timeline: Timeline,
  ) {}

  /**
   * Plan the file against the registry and, unless `dryRun`, carry the plan out. A document that is
   * malformed, of an unknown kind, or that would make any machine's config invalid refuses the
   * whole file before the first write (FleetError: file, document, line). The store has no
   * transaction spanning several records: should the process die between two writes, the registry
   * holds part of the plan, each write whole, and applying the same file again finishes it.
   */
  async apply(source: FleetSource, opts: ApplyOptions, actor: Actor): Promise<FleetPlan> {
    const byKind = this.read(source);
    const prune = opts.prune ?? false;
    const named = new Map(FLEET_KINDS.map((k) => [k, new Set((byKind.get(k) ?? []).map((d) => k.key(d)))]));
    const clusters = new Map((await this.clusters.list()).map((c) => [c.name, c]));
    // With --prune the clusters the file does not name are going: no machine may be left on one.
    if (prune) for (const name of clusters.keys()) if (!named.get(clusterKind)!.has(name)) clusters.delete(name);
    const ctx: PlanContext = {
      files: source.files ?? {},
      prune,
      actor,
      clusters,
      warnings: [],
      services: { clusters: this.clusters, machines: this.machines },
      clusterWarning: opts.clusterWarning,
    };
    const planned: PlannedChange[] = [];
    try {
      for (const kind of FLEET_KINDS) {
        planned.push(...(await kind.plan(byKind.get(kind) ?? [], ctx)));
        // Planned clusters share their names (and maybe their stamps) with the stored ones: the
        // renderer's parsed bases must not be taken for theirs, nor theirs outlive the plan.
        if (kind === clusterKind) this.renderer.invalidate();
      }
    } finally {
      this.renderer.invalidate();
    }
    const unmanaged: Record<string, number> = {};
    for (const kind of [...FLEET_KINDS].reverse()) {
      const extra = await kind.prune(named.get(kind)!, ctx);
      if (prune) planned.push(...extra);
      else unmanaged[kind.noun] = extra.length;
    }
    const count = (op: string) => planned.filter((c) => c.op === op).length;
    const summary = {
      created: count('create'),
      changed: count('update'),
      deleted: count('delete'),
      unchanged: count('unchanged'),
    };
    if (!opts.dryRun) {
      for (const change of planned) await change.write?.();
      await this.timeline.audit({
        ...actor,
        action: 'fleet.applied',
        target: source.name,
        detail: { ...summary, prune },
      });
    }
    return {
      dryRun: opts.dryRun ?? false,
      prune,
      changes: planned.map(({ write: _, ...c }) => c),
      summary,
      unmanaged,
      warnings: [...new Set(ctx.warnings)],
    };
  }

  /** The registry as a fleet file's documents (base configs and patches inline; BMCs left out). */
  async export(): Promise<FleetExport> {
    return exportFleet(await this.clusters.list(), await this.machines.list(), (c) => this.renderer.endpointOf(c));
  }

  /** The file's documents by kind, each schema-checked; keys unique within a kind. */
  private read(source: FleetSource): Map<FleetKind, FleetDocument[]> {
    const byKind = new Map<FleetKind, FleetDocument[]>();
    const keys = new Map<string, FleetDocument>();
    for (const doc of readFleet(source)) {
      const at = { file: doc.file, document: doc.index, kind: doc.kind, line: doc.lineOf(['kind']) };
      const kind = FLEET_KINDS.find((k) => k.kind === doc.kind);
      if (!kind) {
        const later = LATER_KINDS[doc.kind];
        throw new FleetError(
          at,
          later
            ? `kind ${doc.kind} is not supported yet: ${later} come in a later version of metalboot; nothing was applied`
            : `unknown kind "${doc.kind}": one of ${FLEET_KINDS.map((k) => k.kind).join(', ')}`,
          'kind',
        );
      }
      checkSchema(doc, kind.schema);
      const key = `${kind.kind}/${kind.key(doc)}`;
      const first = keys.get(key);
      if (first)
        throw new FleetError(
          at,
          `${kind.noun} ${kind.key(doc)} is already defined by document ${first.index} (line ${first.lineOf([])})`,
        );
      keys.set(key, doc);
      byKind.set(kind, [...(byKind.get(kind) ?? []), doc]);
    }
    return byKind;
  }
}
