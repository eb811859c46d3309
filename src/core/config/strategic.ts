/**
 * Talos strategic merge patches (`talosctl --config-patch` with a partial config).
 *
 * Semantics follow Talos's merge package (pkg/machinery/config/merge/merge.go) and the custom
 * mergers of its config types, restated for untyped data:
 * - documents are matched by apiVersion/kind/name; a patch document not in the config is appended;
 * - maps merge key by key, recursively;
 * - lists append, except fields tagged `merge:"replace"` (replaced whole) and the lists Talos merges
 *   element by element (network interfaces by `interface`/`deviceSelector`, VLANs by `vlanId`,
 *   admission plugins by `name`, extension service config files by `mountPath`);
 * - a scalar replaces the old value, except that `""` and `0` do not: Go's merge skips zero values
 *   (its fields are mostly plain strings and ints), while `false` always wins;
 * - `null` in a patch changes nothing (a nil pointer, slice or map in Go).
 */
import { ConfigError, describeLocation } from './config-error.js';
import {
  documentFromYaml,
  documentKey,
  parseYamlStream,
  rejectDuplicate,
  type ConfigDocument,
  type DocumentIdentity,
  type ParseLimits,
} from './documents.js';
import { applyDeleteSelector, extractDeletes, type DeleteSelector } from './patch-delete.js';
import {
  cloneValue,
  describeType,
  formatPath,
  getKey,
  isConfigMap,
  setKey,
  valuesEqual,
  type ConfigMap,
  type ConfigValue,
  type PathSegment,
} from './values.js';

export type StrategicStep =
  | { readonly type: 'delete'; readonly selector: DeleteSelector }
  | { readonly type: 'merge'; readonly document: ConfigDocument };

/** A parsed strategic patch: its deletes and merges, in the order Talos applies them. */
export interface StrategicPatch {
  readonly steps: readonly StrategicStep[];
}

/** Finds the element of `list` that `incoming` should merge into, or -1 to append it. */
type ElementMatcher = (list: readonly ConfigValue[], incoming: ConfigValue) => number;

interface MergeRules {
  /** Paths (map keys joined by `.`, list elements as `[]`) whose value a patch replaces whole. */
  readonly replace: ReadonlySet<string>;
  readonly keyedLists: ReadonlyMap<string, ElementMatcher>;
}

/** Matches elements whose `field` is equal, a missing field counting as Go's zero value. */
function matchByField(field: string, zero: ConfigValue): ElementMatcher {
  return (list, incoming) => {
    if (!isConfigMap(incoming)) return -1;
    const wanted = getKey(incoming, field) ?? zero;
    return list.findIndex((item) => isConfigMap(item) && valuesEqual(getKey(item, field) ?? zero, wanted));
  };
}

/** NetworkDeviceList.Merge: by interface name when given, else by an equal device selector. */
const matchNetworkInterface: ElementMatcher = (list, incoming) => {
  if (!isConfigMap(incoming)) return -1;
  const name = getKey(incoming, 'interface');
  if (typeof name === 'string' && name !== '') {
    return list.findIndex((item) => isConfigMap(item) && getKey(item, 'interface') === name);
  }
  const selector = getKey(incoming, 'deviceSelector');
  if (selector === undefined || selector === null) return -1;
  return list.findIndex((item) => isConfigMap(item) && valuesEqual(getKey(item, 'deviceSelector'), selector));
};

const NO_RULES: MergeRules = { replace: new Set(), keyedLists: new Map() };

/** Read off Talos v1.13's types: `merge:"replace"` struct tags and types with a Merge method. */
const MAIN_DOCUMENT_RULES: MergeRules = {
  replace: new Set(['cluster.network.podSubnets', 'cluster.network.serviceSubnets', 'cluster.apiServer.auditPolicy']),
  keyedLists: new Map([
    ['machine.network.interfaces', matchNetworkInterface],
    ['machine.network.interfaces[].vlans', matchByField('vlanId', 0)],
    ['cluster.apiServer.admissionControl', matchByField('name', '')],
  ]),
};

const TYPED_DOCUMENT_RULES: Readonly<Record<string, MergeRules>> = {
  NetworkRuleConfig: { replace: new Set(['ingress', 'portSelector.ports']), keyedLists: new Map() },
  ExtensionServiceConfig: { replace: new Set(), keyedLists: new Map([['configFiles', matchByField('mountPath', '')]]) },
};

function rulesFor(identity: DocumentIdentity): MergeRules {
  if (identity.type === 'main') return MAIN_DOCUMENT_RULES;
  return TYPED_DOCUMENT_RULES[identity.kind] ?? NO_RULES;
}

export function parseStrategicPatch(text: string, limits: ParseLimits = {}): StrategicPatch {
  const steps: StrategicStep[] = [];
  const seen = new Map<string, number>();
  for (const raw of parseYamlStream(text, limits)) {
    if (raw.value === null) continue;
    if (!isConfigMap(raw.value)) {
      documentFromYaml(raw); // throws the "expected a map" error with the document's location
      continue;
    }
    let extracted: ReturnType<typeof extractDeletes>;
    try {
      extracted = extractDeletes(raw.value);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const where = { documentIndex: raw.index, line: raw.line };
      throw new ConfigError(`${describeLocation(raw.index, raw.line)}: ${err.message}`, where);
    }
    for (const selector of extracted.selectors) steps.push({ type: 'delete', selector });
    if (extracted.remaining === null) continue;
    const document = documentFromYaml({ ...raw, value: extracted.remaining });
    rejectDuplicate(seen, document.identity, raw);
    steps.push({ type: 'merge', document });
  }
  if (steps.length === 0) throw new ConfigError('patch has no documents');
  return { steps };
}

/** Applies a strategic patch; returns new documents and leaves its inputs untouched. */
export function applyStrategicPatch(documents: readonly ConfigDocument[], patch: StrategicPatch): ConfigDocument[] {
  let result = [...documents];
  for (const step of patch.steps) {
    if (step.type === 'delete') {
      result = applyDeleteSelector(result, step.selector);
      continue;
    }
    const key = documentKey(step.document.identity);
    const index = result.findIndex((doc) => documentKey(doc.identity) === key);
    const base = result[index];
    if (base === undefined) result.push({ identity: step.document.identity, data: cloneValue(step.document.data) });
    else result[index] = { identity: base.identity, data: mergeDocumentData(base, step.document) };
  }
  return result.map(normalizeInlineManifests);
}

function mergeDocumentData(base: ConfigDocument, patch: ConfigDocument): ConfigMap {
  const rules = rulesFor(base.identity);
  return mergeValue(base.data, patch.data, '', [], rules) as ConfigMap;
}

function mergeValue(
  left: ConfigValue | undefined,
  right: ConfigValue,
  rulePath: string,
  path: PathSegment[],
  rules: MergeRules,
): ConfigValue | undefined {
  if (right === null) return left;
  if (left === undefined || left === null || rules.replace.has(rulePath)) return cloneValue(right);
  if (Array.isArray(left) && Array.isArray(right)) return mergeList(left, right, rulePath, path, rules);
  if (isConfigMap(left) && isConfigMap(right)) {
    const out = cloneValue(left);
    for (const [key, value] of Object.entries(right)) {
      const childRule = rulePath === '' ? key : `${rulePath}.${key}`;
      const merged = mergeValue(getKey(out, key), value, childRule, [...path, key], rules);
      if (merged !== undefined) setKey(out, key, merged);
    }
    return out;
  }
  if (typeof left !== 'object' && typeof right !== 'object') {
    return right === '' || right === 0 ? left : right;
  }
  throw new ConfigError(`cannot merge ${describeType(right)} into ${describeType(left)} at ${formatPath(path)}`);
}

function mergeList(
  left: ConfigValue[],
  right: ConfigValue[],
  rulePath: string,
  path: PathSegment[],
  rules: MergeRules,
): ConfigValue[] {
  const out = cloneValue(left);
  const findMatch = rules.keyedLists.get(rulePath);
  for (const item of right) {
    // Later patch elements see earlier ones, as in Talos's in-place list mergers.
    const index = findMatch ? findMatch(out, item) : -1;
    const existing = out[index];
    if (existing === undefined) out.push(cloneValue(item));
    else out[index] = mergeValue(existing, item, `${rulePath}[]`, [...path, index], rules) ?? existing;
  }
  return out;
}

/**
 * Talos trims leading blank lines and tabs of `cluster.inlineManifests[].contents` whenever it
 * decodes a config (ClusterInlineManifests.UnmarshalYAML), so a merged config carries them trimmed.
 */
function normalizeInlineManifests(document: ConfigDocument): ConfigDocument {
  if (document.identity.type !== 'main') return document;
  const cluster = getKey(document.data, 'cluster');
  const manifests = isConfigMap(cluster) ? getKey(cluster, 'inlineManifests') : undefined;
  if (!Array.isArray(manifests)) return document;
  const needsTrim = (item: ConfigValue): boolean => {
    const contents = isConfigMap(item) ? getKey(item, 'contents') : undefined;
    return typeof contents === 'string' && /^[\t\n\v\f\r]/.test(contents);
  };
  if (!manifests.some(needsTrim)) return document;
  const data = cloneValue(document.data);
  for (const item of (data.cluster as ConfigMap).inlineManifests as ConfigValue[]) {
    if (needsTrim(item))
      setKey(item as ConfigMap, 'contents', ((item as ConfigMap).contents as string).replace(/^[\t\n\v\f\r]+/, ''));
  }
  return { identity: document.identity, data };
}
