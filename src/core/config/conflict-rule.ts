/**
 * The shape of one conflict rule (see conflicts.ts), shared by the rule tables
 * (conflict-rules-node.ts, conflict-rules-kubernetes.ts) and the evaluation in conflicts.ts;
 * its own file so the tables need not import the evaluation that imports them.
 */

/**
 * When a v1alpha1 value counts as set, after Go's decoding:
 * - `set`: present and not null (a non-nil pointer, map or slice: `kubelet: {}` is set);
 * - `nonEmpty`: a non-empty string or list, a non-zero number (Go compares with "" / 0 / len > 0);
 * - `true`: the boolean true (a `*bool` dereferenced, or a plain bool).
 */
export type SetWhen = 'set' | 'nonEmpty' | 'true';

export interface ConflictRule {
  /** The typed document that refuses the v1alpha1 setting. */
  readonly kind: string;
  /** Only documents of the kind that match (VolumeConfig: only STATE/EPHEMERAL with encryption). */
  readonly document?: { readonly name?: string; readonly has?: string };
  /** Path of the v1alpha1 setting in the main document. */
  readonly path: readonly string[];
  readonly when: SetWhen;
  /** Talos's error text. */
  readonly says: string;
  /** The document to use instead, when it is not `kind` itself. */
  readonly instead?: string;
}

/** One rule; `path` is dotted (`machine.network.hostname`). */
export const rule = (
  kind: string,
  path: string,
  when: SetWhen,
  says: string,
  extra: Partial<ConflictRule> = {},
): ConflictRule => ({
  kind,
  path: path.split('.'),
  when,
  says,
  ...extra,
});
