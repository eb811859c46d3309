/**
 * The kinds of document a fleet file may hold, one module each (cluster-kind.ts, machine-kind.ts),
 * listed here in the order they are written: a machine names a cluster, so clusters come first
 * (and are deleted last). A new kind is one more module and one more entry: `Group` and
 * `EnrollmentRule` are named already, so a file holding them is refused clearly, not half applied.
 */
import type { ClusterService } from '../registry/clusters.js';
import type { Actor } from '../registry/clusters.js';
import type { MachineService } from '../registry/machines.js';
import type { Cluster } from '../types.js';
import { FleetError, type FieldPath, type FleetDocument } from './document.js';

export type ChangeOp = 'create' | 'update' | 'delete' | 'unchanged';

/** One line of the plan: `+ machine worker-1`, `~ cluster prod: patches`, `- machine old-3`. */
export interface FleetChange {
  op: ChangeOp;
  /** The kind in lower case, as plan lines print it (`cluster`, `machine`). */
  kind: string;
  /** What people call it: a cluster's name, a machine's host name (its MAC when it has none). */
  name: string;
  /** What it is keyed by (a cluster's name, a machine's MAC). */
  id: string;
  /** With `update`: the fields that differ. */
  fields?: string[];
}

/** A change and the write that makes it; nothing is written until every document has been planned. */
export interface PlannedChange extends FleetChange {
  write?: () => Promise<void>;
}

export interface PlanContext {
  /** `{file: …}` references, by the name written in the fleet file. */
  files: Record<string, string>;
  prune: boolean;
  actor: Actor;
  /** Every cluster as it will be once the file is applied: machines are rendered against these. */
  clusters: Map<string, Cluster>;
  /** Warnings to show with the plan (a base config's deprecated field…). */
  warnings: string[];
  services: { clusters: ClusterService; machines: MachineService };
  /** What the adapter adds about a cluster the file creates or changes (boot files not pulled yet). */
  clusterWarning?: (c: Cluster) => string | undefined;
}

export interface FleetKind {
  readonly kind: string;
  readonly noun: string;
  /** Its JSON schema in schemas/fleet/. */
  readonly schema: string;
  /** What a document is known by (a cluster's name, a machine's MAC): two documents with one key are refused. */
  key(doc: FleetDocument): string;
  /** Check each document (rendering every config it touches) and compare it with the registry. Writes nothing. */
  plan(docs: FleetDocument[], ctx: PlanContext): Promise<PlannedChange[]>;
  /** `--prune`: what the registry holds of this kind that no document names, as deletions. */
  prune(keys: Set<string>, ctx: PlanContext): Promise<PlannedChange[]>;
}

/** Kinds the fleet file will hold and this version cannot apply yet: refused by name. */
export const LATER_KINDS: Readonly<Record<string, string>> = {
  Group: 'groups (settings shared by the machines a selector picks)',
  EnrollmentRule: 'enrolment rules (unknown machines registered on sight)',
};

/** The text of a `{file: …}` or `{inline: …}` field (schema-checked already). */
export function textOf(doc: FleetDocument, path: FieldPath, ctx: Pick<PlanContext, 'files'>): string {
  let v: unknown = doc.data;
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  const ref = v as { file?: string; inline?: string };
  if (ref.inline !== undefined) return ref.inline;
  const text = ctx.files[ref.file!];
  if (text === undefined)
    throw new FleetError(
      { file: doc.file, document: doc.index, kind: doc.kind, line: doc.lineOf([...path, 'file']) },
      `file "${ref.file}" was not found (paths are relative to the fleet file)`,
    );
  if (!text.trim())
    throw new FleetError(
      { file: doc.file, document: doc.index, kind: doc.kind, line: doc.lineOf([...path, 'file']) },
      `file "${ref.file}" is empty`,
    );
  return text;
}

/** Every `{file: …}` a fleet document references (the CLI reads them and sends their contents). */
export function fileReferences(data: Record<string, unknown>): string[] {
  const refs: string[] = [];
  const add = (v: unknown) => {
    const file = (v as { file?: unknown } | null)?.file;
    if (typeof file === 'string') refs.push(file);
  };
  add(data.controlplane);
  add(data.worker);
  if (Array.isArray(data.patches)) data.patches.forEach(add);
  return refs;
}

/** Equal as data: arrays in order, mappings whatever their key order. */
export function sameData(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}
