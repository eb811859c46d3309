import type { Store } from '../ports/types.js';
import { parseTalosVersion } from '../config/cmdline.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { ConfigRenderer } from '../config/render.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Arch, Cluster, Role } from '../types.js';

export interface ClusterInput {
  name: string;
  talosVersion: string;
  controlplane: string;
  worker: string;
  patches?: string[];
  kernelArgs?: string[];
  arch?: Arch;
  schematic?: string | null;
  endpoint?: string | null;
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SCHEMATIC_RE = /^[0-9a-f]{64}$/;
const KERNEL_ARG_RE = /^[^\s$"'\\]+$/;

/** Clusters: the talosctl base configs every machine of the cluster is rendered from. */
export class ClusterService {
  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly renderer: ConfigRenderer,
  ) {}

  async get(name: string): Promise<Cluster> {
    const c = await this.store.clusters.get(name);
    if (!c) throw new NotFoundError(`cluster "${name}" does not exist`);
    return c;
  }

  list(): Promise<Cluster[]> {
    return this.store.clusters.list();
  }

  /** One page of clusters in name order, after `page.after` (the API's cursor). */
  page(page: { after?: string; limit: number }): Promise<Cluster[]> {
    return this.store.clusters.page(page);
  }

  async create(input: ClusterInput, actor: Actor): Promise<{ cluster: Cluster; warnings: string[] }> {
    const now = this.timeline.now();
    const { cluster, warnings } = await this.check({ ...input }, now, now);
    await this.store.clusters.insert(cluster);
    await this.timeline.audit({
      ...actor,
      action: 'cluster.create',
      target: cluster.name,
      detail: { talosVersion: cluster.talosVersion },
    });
    return { cluster, warnings };
  }

  async update(
    name: string,
    input: Omit<ClusterInput, 'name'>,
    actor: Actor,
  ): Promise<{ cluster: Cluster; warnings: string[] }> {
    const existing = await this.get(name);
    const { cluster, warnings } = await this.check({ ...input, name }, existing.createdAt, this.timeline.now());
    await this.store.clusters.update(cluster);
    this.renderer.invalidate();
    await this.timeline.audit({
      ...actor,
      action: 'cluster.update',
      target: name,
      detail: { talosVersion: cluster.talosVersion },
    });
    return { cluster, warnings };
  }

  /**
   * The cluster `input` would make, checked as create/update check it (every render it needs), and
   * the one it would replace: written by nobody (`apply` plans a whole fleet file before writing).
   */
  async prepare(input: ClusterInput): Promise<{ cluster: Cluster; warnings: string[]; existing: Cluster | undefined }> {
    const existing = (await this.store.clusters.get(input.name)) ?? undefined;
    const now = this.timeline.now();
    return { ...(await this.check({ ...input }, existing?.createdAt ?? now, now)), existing };
  }

  async delete(name: string, actor: Actor): Promise<void> {
    await this.get(name);
    const n = await this.store.clusters.machineCount(name);
    if (n > 0) throw new ConflictError(`cluster "${name}" still has ${n} machine(s); move or delete them first`);
    await this.store.clusters.delete(name);
    this.renderer.invalidate();
    await this.timeline.audit({ ...actor, action: 'cluster.delete', target: name, detail: {} });
  }

  /** Validate everything a render will need, so a bad cluster fails at the API, not at boot time. */
  private async check(
    input: ClusterInput,
    createdAt: string,
    updatedAt: string,
  ): Promise<{ cluster: Cluster; warnings: string[] }> {
    if (!NAME_RE.test(input.name)) {
      throw new ValidationError('name must be lower-case letters, digits and dashes (DNS label)', 'name');
    }
    try {
      parseTalosVersion(input.talosVersion);
    } catch (err) {
      throw new ValidationError((err as Error).message, 'talosVersion');
    }
    if (input.schematic && !SCHEMATIC_RE.test(input.schematic)) {
      throw new ValidationError('schematic must be a 64-character Image Factory schematic id', 'schematic');
    }
    for (const [i, arg] of (input.kernelArgs ?? []).entries()) {
      if (!KERNEL_ARG_RE.test(arg)) {
        throw new ValidationError(
          `kernelArgs[${i}] "${arg}" must not contain whitespace, quotes or "$"`,
          `kernelArgs[${i}]`,
        );
      }
    }
    const cluster: Cluster = {
      name: input.name,
      talosVersion: input.talosVersion,
      arch: input.arch ?? 'amd64',
      endpoint: input.endpoint ?? null,
      controlplane: input.controlplane,
      worker: input.worker,
      patches: input.patches ?? [],
      kernelArgs: input.kernelArgs ?? [],
      schematic: input.schematic ?? null,
      createdAt,
      updatedAt,
    };
    const warnings: string[] = [];
    for (const role of ['controlplane', 'worker'] as Role[]) {
      warnings.push(...(await this.renderer.checkBase(cluster, role)));
    }
    cluster.endpoint ??= this.renderer.endpointOf(cluster);
    return { cluster, warnings };
  }
}

/** Who asked, for the audit log. */
export interface Actor {
  actor: string;
  sourceIp: string | null;
}
