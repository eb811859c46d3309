/**
 * Talos's conflict rules between typed documents and their v1alpha1 counterparts, as data.
 *
 * Talos refuses a config holding both a typed document and the old v1alpha1 setting it replaces
 * (`V1Alpha1ConflictValidate` under pkg/machinery/config/types/, siderolabs/talos v1.14.0-rc.1; the
 * rows follow the table in test/fixtures/talos/README's provenance and each Go function's
 * condition). `says` is Talos's own error text; the error metalboot gives adds which document to
 * use instead, so the operator knows the way out.
 */
import { KUBERNETES_CONFLICT_RULES } from './conflict-rules-kubernetes.js';
import { NODE_CONFLICT_RULES } from './conflict-rules-node.js';
import type { ConflictRule, SetWhen } from './conflict-rule.js';
import { describeDocument, findMainDocument, type ConfigDocument } from './documents.js';
import { formatPath, getKey, isConfigMap, type ConfigMap, type ConfigValue } from './values.js';

export type { ConflictRule, SetWhen } from './conflict-rule.js';

/** Every rule, ordered by document kind as Talos's table is (stable: a kind's rules keep their order). */
export const CONFLICT_RULES: readonly ConflictRule[] = [...NODE_CONFLICT_RULES, ...KUBERNETES_CONFLICT_RULES].sort(
  (a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0),
);

/** What to do instead, in one phrase: `use a KubeletConfig document instead of .machine.kubelet`. */
export function conflictAdvice(r: ConflictRule): string {
  return `use a ${r.instead ?? r.kind} document instead of .${r.path.join('.')}`;
}

/**
 * The errors Talos would give for this config: one per typed document whose v1alpha1 counterpart
 * is set (the first rule of a document that fires, as Talos returns at its first check).
 */
export function conflictErrors(documents: readonly ConfigDocument[]): string[] {
  const main = findMainDocument(documents);
  if (!main) return [];
  const errors: string[] = [];
  for (const doc of documents) {
    if (doc.identity.type !== 'typed') continue;
    const { kind, name } = doc.identity;
    const hit = CONFLICT_RULES.find(
      (r) => r.kind === kind && documentMatches(r, name, doc.data) && isSet(valueAt(main.data, r.path), r.when),
    );
    if (hit) errors.push(`${describeDocument(doc.identity)}: ${hit.says}; ${conflictAdvice(hit)}`);
  }
  return errors;
}

/** Rules naming this v1alpha1 path (exactly), for deprecation advice. */
export function rulesForPath(path: readonly string[]): ConflictRule[] {
  const key = formatPath(path);
  return CONFLICT_RULES.filter((r) => formatPath(r.path) === key);
}

function documentMatches(r: ConflictRule, name: string | undefined, data: ConfigMap): boolean {
  if (r.document?.name !== undefined && r.document.name !== name) return false;
  if (r.document?.has !== undefined && !isSet(getKey(data, r.document.has), 'nonZero')) return false;
  return true;
}

function isSet(value: ConfigValue | undefined, when: SetWhen | 'nonZero'): boolean {
  if (value === undefined || value === null) return false;
  switch (when) {
    case 'set':
      return true;
    case 'true':
      return value === true;
    case 'nonEmpty':
      if (Array.isArray(value) || typeof value === 'string') return value.length > 0;
      if (isConfigMap(value)) return Object.keys(value).length > 0;
      return value !== 0 && value !== false;
    case 'nonZero':
      // Go's value.IsZero on a struct: any field set to a non-zero value.
      if (isConfigMap(value)) return Object.values(value).some((v) => isSet(v, 'nonZero'));
      return isSet(value, 'nonEmpty');
  }
}

function valueAt(data: ConfigValue, path: readonly string[]): ConfigValue | undefined {
  let node: ConfigValue | undefined = data;
  for (const key of path) node = isConfigMap(node) ? getKey(node, key) : undefined;
  return node;
}
