import { LRUCache } from 'lru-cache';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundledSchemaFile, loadVersionSchema } from './bundled-schemas.js';
import { parseTalosVersion } from './cmdline.js';
import { type ConfigDocument, ConfigError, parseConfig, serializeConfig } from './documents.js';
import type { ConfigMap } from './values.js';
import { applyPatches, parsePatch, type Patch } from './patch.js';
import { validateConfig, type TalosSchema } from './validate.js';
import { ValidationError } from '../errors.js';
import { fillSkeleton, sentinelMachine, skeletonApplies, skeletonShape, skeletonUsable } from './skeleton.js';
import { applyMachineSettings, mainDocument, mergeProvided, sampleVars, templateVars } from './machine-settings.js';
import { compileTemplate, templateErrorMessage } from './handlebars.js';
import { ClusterWarnings } from './cluster-warnings.js';
import type { Cluster, Machine, Role } from '../types.js';

export type RenderResult = { ok: true; yaml: string; warnings: string[] } | { ok: false; errors: string[] };

/** Extra config documents contributed by other parts of metalboot (event sink, kernel log). */
export type DocumentProvider = (m: Machine, c: Cluster) => ConfigMap[];

/**
 * Full renders kept per machine (machines with their own patches, selectors or template
 * variables). Bounded: a result is ~4–30 KiB and a registry may hold 100,000 machines.
 */
const RESULT_CACHE_SIZE = 1000;
/** Skeletons: one per cluster, role, shape and provided documents; a handful in practice. */
const SKELETON_CACHE_SIZE = 256;

/**
 * Machine config rendering: base config of the machine's role → cluster patches → machine patches
 * → metalboot's per-machine settings (hostname, install disk) → documents from other parts of
 * metalboot; then schema validation. Handlebars variables are expanded in each patch's text before
 * it is parsed, so `hostname: {{machine.hostname}}` works without quoting.
 *
 * Parsed bases and compiled patch templates are cached. A machine whose config differs from its
 * role's only in host name and install disk is served from the role's skeleton (skeleton.ts);
 * other machines' full renders are kept in a bounded per-machine cache. Both are keyed by what a
 * render reads, so a boot storm renders each role once and each special machine once.
 */
export class ConfigRenderer {
  /** Fixed at construction (createCore's `documentProviders`; server.ts passes the Talos listeners'). */
  readonly documentProviders: readonly DocumentProvider[];
  private readonly bases = new Map<string, { stamp: string; docs: ConfigDocument[] }>();
  private readonly patchTemplates = new Map<string, (vars: object) => string>();
  private readonly results = new LRUCache<string, { stamp: string; result: RenderResult }>({ max: RESULT_CACHE_SIZE });
  private readonly skeletons = new LRUCache<string, { stamp: string; result: RenderResult; usable: boolean }>({
    max: SKELETON_CACHE_SIZE,
  });
  /** The base configs' warnings every machine shares: said per cluster, not per delivered config. */
  readonly clusterWarnings = new ClusterWarnings((v) => this.schemaFor(v));
  /** How many renders took the full path and how many were filled from a skeleton (tests, metrics). */
  readonly stats = { full: 0, skeleton: 0 };
  /** Talos version → its schema, when that was last checked, and a generation render stamps carry. */
  private readonly schemas = new Map<string, { schema: TalosSchema | null; checkedAt: number; gen: number }>();
  private schemaGen = 0;
  private readonly schemaRecheckMs: number;
  private readonly nowMs: () => number;

  /**
   * `schemaRecheckMs`: how often (at most) a version's schema file is looked at again, so a
   * `metalboot assets pull talos` takes effect without a restart (default 3 s; 0: every time).
   * `documentProviders`: the documents other parts of metalboot add to every config (default none).
   */
  constructor(
    private readonly assetsDir: string,
    opts: { schemaRecheckMs?: number; now?: () => number; documentProviders?: readonly DocumentProvider[] } = {},
  ) {
    this.documentProviders = opts.documentProviders ?? [];
    this.schemaRecheckMs = opts.schemaRecheckMs ?? 3000;
    this.nowMs = opts.now ?? Date.now;
  }

  invalidate(): void {
    this.bases.clear();
    this.results.clear();
    this.skeletons.clear();
  }

  /**
   * The JSON schema for a Talos version: assets/talos/<v>/config.schema.json, else the bundled one
   * for its minor; corrected against the previous bundled version's (bundled-schemas.ts). Cached; at most every schemaRecheckMs the files are looked at again (an exists
   * check and a stat), and a schema that appeared, changed or went away replaces the cached one.
   */
  schemaFor(version: string): TalosSchema | null {
    return this.schemaEntry(version).schema;
  }

  private schemaEntry(version: string): { schema: TalosSchema | null; gen: number } {
    const now = this.nowMs();
    const hit = this.schemas.get(version);
    if (hit && now - hit.checkedAt < this.schemaRecheckMs) return hit;
    const [major, minor] = parseTalosVersion(version);
    const pulled = join(this.assetsDir, 'talos', version, 'config.schema.json');
    const file = existsSync(pulled) ? pulled : bundledSchemaFile(major, minor);
    let schema: TalosSchema | null;
    try {
      schema = file ? loadVersionSchema(file, major, minor) : null; // the same object while the files are unchanged
    } catch (err) {
      if (!hit) throw err;
      hit.checkedAt = now; // keep serving the schema we had; look again next time
      return hit;
    }
    if (hit && hit.schema === schema) {
      hit.checkedAt = now;
      return hit;
    }
    const entry = { schema, checkedAt: now, gen: ++this.schemaGen };
    this.schemas.set(version, entry);
    return entry;
  }

  /** Validate a cluster's base config for a role: parses, is that role, passes the schema. */
  async checkBase(cluster: Cluster, role: Role): Promise<string[]> {
    let docs: ConfigDocument[];
    try {
      docs = parseConfig(cluster[role]);
    } catch (err) {
      throw new ValidationError(`${role}: ${(err as Error).message}`, role);
    }
    const main = mainDocument(docs);
    if (!main) throw new ValidationError(`${role}: no "version: v1alpha1" machine config document`, role);
    const type = (main.machine as { type?: unknown } | undefined)?.type;
    if (type !== role && !(role === 'controlplane' && type === 'init')) {
      throw new ValidationError(`${role}: machine.type is "${String(type)}", expected "${role}"`, role);
    }
    const patches: Patch[] = [];
    for (const [i, text] of cluster.patches.entries()) {
      try {
        patches.push(parsePatch(this.expand(text, sampleVars(cluster, role))));
      } catch (err) {
        throw new ValidationError(`patches[${i}]: ${(err as Error).message}`, `patches[${i}]`);
      }
    }
    const schema = this.schemaFor(cluster.talosVersion);
    if (!schema)
      return [
        `no config schema for Talos ${cluster.talosVersion}: configs cannot be validated or served until it is in assets/talos/${cluster.talosVersion}/`,
      ];
    const { errors, warnings } = validateConfig(docs, schema);
    if (errors.length) throw new ValidationError(`${role}: ${errors.join('; ')}`, role);
    if (patches.length === 0) return warnings.map((w) => `${role}: ${w}`);
    // The base is fine on its own; now with the cluster's patches, so a typo in a patch is refused
    // here and not at every machine's registration (or boot) later.
    let patched: ConfigDocument[];
    try {
      patched = applyPatches(structuredClone(docs), patches);
    } catch (err) {
      throw new ValidationError(
        `patches: cannot be applied to the ${role} config: ${(err as Error).message}`,
        'patches',
      );
    }
    const withPatches = validateConfig(patched, schema);
    const fromMachine = cluster.patches.some((text) => /\{\{[^}]*machine\./.test(text));
    if (withPatches.errors.length && !fromMachine)
      throw new ValidationError(
        `patches: the ${role} config with the cluster's patches would be invalid: ${withPatches.errors.join('; ')}`,
        'patches',
      );
    // Patches with machine variables (labels, ip…) are only known per machine: what the sample
    // machine gets is a warning; each machine's own render is checked when it is registered.
    const unsure = withPatches.errors.map(
      (e) =>
        `with a sample machine's variables, the cluster's patches give: ${e} (each machine is checked when registered)`,
    );
    return [...new Set([...warnings, ...withPatches.warnings, ...unsure])].map((w) => `${role}: ${w}`);
  }

  /** The control-plane endpoint the base configs point at, for display. */
  endpointOf(cluster: Cluster): string | null {
    const docs = parseConfig(cluster.controlplane);
    const main = mainDocument(docs);
    // talosctl ≥ v1.14 writes it in a KubeClusterConfig document, older ones in the main document.
    const kubeCluster = docs.find((d) => d.identity.type === 'typed' && d.identity.kind === 'KubeClusterConfig')
      ?.data as { endpoint?: unknown } | undefined;
    const endpoint =
      kubeCluster?.endpoint ??
      (main?.cluster as { controlPlane?: { endpoint?: unknown } } | undefined)?.controlPlane?.endpoint;
    return typeof endpoint === 'string' ? endpoint : null;
  }

  /** Render and throw a ValidationError if the result would not be served. */
  async check(cluster: Cluster, machine: Machine): Promise<void> {
    const r = this.renderFull(cluster, machine, this.provided(cluster, machine));
    if (!r.ok) throw new ValidationError(`the machine's config would be invalid: ${r.errors.join('; ')}`, 'patches');
  }

  async render(cluster: Cluster, machine: Machine): Promise<RenderResult> {
    // Everything a render reads: the cluster and machine records, the address variable, what the
    // document providers add, and the schema's generation (a result rendered before
    // `assets pull` must not outlive it).
    const provided = this.provided(cluster, machine);
    const providedKey = provided.length ? JSON.stringify(provided) : '';
    const gen = this.schemaEntry(cluster.talosVersion).gen;
    if (skeletonApplies(cluster, machine)) {
      const filled = this.fromSkeleton(cluster, machine, provided, `${cluster.updatedAt}|${gen}|${providedKey}`);
      if (filled) return filled;
    }
    const ip = machine.ip ?? machine.lastSeen.ip ?? '';
    const stamp = `${cluster.name}|${cluster.updatedAt}|${machine.updatedAt}|${ip}|${providedKey}|${gen}`;
    const hit = this.results.get(machine.mac);
    if (hit && hit.stamp === stamp) return hit.result;
    const result = this.renderFull(cluster, machine, provided);
    this.results.set(machine.mac, { stamp, result });
    return result;
  }

  private provided(cluster: Cluster, machine: Machine): ConfigMap[][] {
    return this.documentProviders.map((p) => p(machine, cluster));
  }

  /**
   * The machine's config from its role's skeleton; undefined when the skeleton cannot stand for it
   * (it failed to render or validate — the full path then reports the machine's own errors).
   */
  private fromSkeleton(
    cluster: Cluster,
    machine: Machine,
    provided: ConfigMap[][],
    stamp: string,
  ): RenderResult | undefined {
    const key = `${cluster.name}/${machine.role}/${skeletonShape(machine)}`;
    let sk = this.skeletons.get(key);
    if (!sk || sk.stamp !== stamp) {
      const result = this.renderFull(cluster, sentinelMachine(machine), provided);
      const inputs = [cluster.controlplane, cluster.worker, ...cluster.patches, JSON.stringify(provided)];
      sk = { stamp, result, usable: result.ok && skeletonUsable(result.yaml, machine, inputs) };
      this.skeletons.set(key, sk);
    }
    if (!sk.usable || !sk.result.ok) return undefined;
    this.stats.skeleton++;
    return { ok: true, yaml: fillSkeleton(sk.result.yaml, machine), warnings: sk.result.warnings };
  }

  private renderFull(cluster: Cluster, machine: Machine, provided: ConfigMap[][]): RenderResult {
    this.stats.full++;
    const role = machine.role!;
    try {
      // The base is cached and shared; settings below mutate, so work on a copy.
      let docs = structuredClone(this.base(cluster, role));
      const vars = templateVars(cluster, machine);
      const patches: Patch[] = [];
      const sources = [
        ...cluster.patches.map((p, i) => [`cluster patch ${i}`, p]),
        ...machine.patches.map((p, i) => [`machine patch ${i}`, p]),
      ];
      for (const [label, text] of sources) {
        try {
          patches.push(parsePatch(this.expand(text!, vars, machine.hostname ?? machine.mac)));
        } catch (err) {
          return { ok: false, errors: [`${label}: ${(err as Error).message}`] };
        }
      }
      docs = applyPatches(docs, patches);
      const settingWarnings = applyMachineSettings(docs, machine, cluster);
      for (const documents of provided) docs = mergeProvided(docs, documents);
      const schema = this.schemaFor(cluster.talosVersion);
      if (!schema)
        return {
          ok: false,
          errors: [
            `no config schema for Talos ${cluster.talosVersion}; put config.schema.json in assets/talos/${cluster.talosVersion}/ (metalboot assets pull)`,
          ],
        };
      const { errors, warnings } = validateConfig(docs, schema);
      if (errors.length) return { ok: false, errors };
      return { ok: true, yaml: serializeConfig(docs), warnings: [...settingWarnings, ...warnings] };
    } catch (err) {
      if (err instanceof ConfigError || err instanceof ValidationError) return { ok: false, errors: [err.message] };
      throw err;
    }
  }

  private base(cluster: Cluster, role: Role): ConfigDocument[] {
    const key = `${cluster.name}/${role}`;
    const hit = this.bases.get(key);
    if (hit && hit.stamp === cluster.updatedAt) return hit.docs;
    const docs = parseConfig(cluster[role]);
    this.bases.set(key, { stamp: cluster.updatedAt, docs });
    return docs;
  }

  /** `machine`: whose variables `vars` are (its name, for the error), none for a cluster's sample. */
  private expand(text: string, vars: object, machine?: string): string {
    if (!text.includes('{{')) return text;
    let fn = this.patchTemplates.get(text);
    if (!fn) {
      fn = compileTemplate(text, 'patch');
      this.patchTemplates.set(text, fn);
    }
    try {
      return fn(vars);
    } catch (err) {
      throw new ValidationError(templateErrorMessage(err, text, machine));
    }
  }
}
