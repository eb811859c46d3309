/**
 * Warnings a cluster's base config gives every machine of a role: talosctl still writes
 * `persist: true`, which Talos has deprecated. Said once per cluster — in the answer to cluster
 * create/edit (ConfigRenderer.checkBase) and by doctor — they stay out of every machine's
 * `config-delivered` event, where a hundred machines would repeat the same line a hundred times.
 */
import { parseConfig } from './documents.js';
import { validateConfig, type TalosSchema } from './validate.js';
import type { Cluster, Role } from '../types.js';

export class ClusterWarnings {
  private readonly cache = new Map<string, { stamp: string; schema: TalosSchema; warnings: ReadonlySet<string> }>();

  constructor(private readonly schemaFor: (version: string) => TalosSchema | null) {}

  /** What the role's base config alone warns about, against the version's schema (cached per cluster edit). */
  of(cluster: Cluster, role: Role): ReadonlySet<string> {
    const schema = this.schemaFor(cluster.talosVersion);
    if (!schema) return new Set();
    const key = `${cluster.name}/${role}`;
    const hit = this.cache.get(key);
    if (hit && hit.stamp === cluster.updatedAt && hit.schema === schema) return hit.warnings;
    let warnings: ReadonlySet<string>;
    try {
      warnings = new Set(validateConfig(parseConfig(cluster[role]), schema).warnings);
    } catch {
      warnings = new Set(); // a base that does not parse was refused at create; nothing to hold back
    }
    this.cache.set(key, { stamp: cluster.updatedAt, schema, warnings });
    return warnings;
  }

  /** The machine's own warnings: those its cluster's base does not give every machine of its role. */
  own(cluster: Cluster, role: Role, warnings: readonly string[]): string[] {
    const shared = this.of(cluster, role);
    return warnings.filter((w) => !shared.has(w));
  }
}
