/**
 * `$patch: delete` directives of strategic merge patches. As in Talos
 * (configloader/internal/decoder/delete.go and selector.go), a patch document is split into delete
 * selectors, applied first, and the rest of the document, merged after:
 *
 * - `key: {$patch: delete}` removes `key` (a map key or a whole subtree);
 * - a list element `{field: value, $patch: delete}` removes the first element of the target list
 *   whose `field` equals `value` (the element's first key other than `$patch` is the selector);
 * - a document whose root carries `$patch: delete` removes that whole (typed) document.
 *
 * A map or list left empty by removing directives is dropped from the patch, so a patch holding only
 * deletes merges nothing.
 */
import { ConfigError } from './config-error.js';
import {
  describeDocument,
  documentKey,
  identifyDocument,
  type ConfigDocument,
  type DocumentIdentity,
} from './documents.js';
import {
  cloneValue,
  formatPath,
  getKey,
  hasKey,
  isConfigMap,
  setKey,
  type ConfigMap,
  type ConfigValue,
  type PathSegment,
} from './values.js';

const DIRECTIVE = '$patch';

export interface DeleteSelector {
  readonly target: DocumentIdentity;
  /** Map keys from the document root. Empty: delete the whole document. */
  readonly path: readonly string[];
  /** Set when `path` names a list: remove its first element whose `key` equals `value`. */
  readonly element?: { readonly key: string; readonly value: string };
}

export interface ExtractedDeletes {
  /** The document without its directives; `null` when nothing is left to merge. */
  readonly remaining: ConfigMap | null;
  readonly selectors: DeleteSelector[];
}

const DELETED = Symbol('deleted');
type Walked = ConfigValue | typeof DELETED;

/** Keys that alone make a patch document "empty" (Talos drops such documents from patches). */
const IDENTITY_ONLY_KEYS = new Set(['version', 'kind', 'name']);

export function extractDeletes(root: ConfigMap): ExtractedDeletes {
  const selectors: DeleteSelector[] = [];
  let target: DocumentIdentity | undefined;
  const targetOf = (): DocumentIdentity => (target ??= identifyDocument(root));

  const walk = (node: ConfigValue, path: PathSegment[], parentIsList: boolean): Walked => {
    if (Array.isArray(node)) return walkList(node, path);
    if (!isConfigMap(node)) return node;
    if (hasKey(node, DIRECTIVE)) {
      selectors.push(makeSelector(node, path, parentIsList, targetOf));
      return DELETED;
    }
    const out: ConfigMap = {};
    let removed = false;
    for (const [key, child] of Object.entries(node)) {
      const walked = walk(child, [...path, key], false);
      if (walked === DELETED) removed = true;
      else setKey(out, key, walked);
    }
    return removed && Object.keys(out).length === 0 ? DELETED : out;
  };
  const walkList = (list: ConfigValue[], path: PathSegment[]): Walked => {
    const out: ConfigValue[] = [];
    list.forEach((item, index) => {
      const walked = walk(item, [...path, index], true);
      if (walked !== DELETED) out.push(walked);
    });
    return out.length === 0 && list.length > 0 ? DELETED : out;
  };

  const walked = walk(root, [], false);
  const remaining = walked === DELETED || isIdentityOnly(walked as ConfigMap) ? null : (walked as ConfigMap);
  return { remaining, selectors };
}

function makeSelector(
  node: ConfigMap,
  path: PathSegment[],
  parentIsList: boolean,
  targetOf: () => DocumentIdentity,
): DeleteSelector {
  const directive = node[DIRECTIVE];
  if (directive !== 'delete') {
    throw new ConfigError(
      `${formatPath([...path, DIRECTIVE])}: unsupported directive ${JSON.stringify(directive)} (only "delete" is)`,
    );
  }
  const listIndex = path.findIndex((segment) => typeof segment === 'number');
  if (!parentIsList) {
    // Talos resolves delete paths through map keys only: nothing inside a list element can be named.
    if (listIndex >= 0) throw new ConfigError(`${formatPath(path)}: cannot delete a key inside a list element`);
    const target = targetOf();
    if (path.length === 0 && target.type === 'main') {
      throw new ConfigError('the main v1alpha1 document cannot be deleted with $patch: delete');
    }
    return { target, path: path as string[] };
  }
  if (listIndex !== path.length - 1) {
    throw new ConfigError(`${formatPath(path)}: deleting an element of a list nested in another list is not supported`);
  }
  const [key, value] = Object.entries(node).find(([candidate]) => candidate !== DIRECTIVE) ?? [];
  if (key === undefined) {
    throw new ConfigError(`${formatPath(path)}: a list element with $patch: delete needs a key: value to select it`);
  }
  if (value === null || typeof value === 'object') {
    throw new ConfigError(
      `${formatPath([...path, key])}: the selecting value of a deleted list element must be a scalar`,
    );
  }
  return { target: targetOf(), path: path.slice(0, -1) as string[], element: { key, value: String(value) } };
}

function isIdentityOnly(map: ConfigMap): boolean {
  return Object.entries(map).every(([key, value]) => IDENTITY_ONLY_KEYS.has(key) && !isContainer(value));
}

function isContainer(value: ConfigValue): boolean {
  return Array.isArray(value) || isConfigMap(value);
}

/** Applies one selector; returns new documents (inputs untouched). */
export function applyDeleteSelector(documents: readonly ConfigDocument[], selector: DeleteSelector): ConfigDocument[] {
  const key = documentKey(selector.target);
  const index = documents.findIndex((doc) => documentKey(doc.identity) === key);
  const element = selector.element ? `[${selector.element.key}=${selector.element.value}]` : '';
  const where = formatPath(selector.path) + element;
  const fail = (reason: string): never => {
    throw new ConfigError(`patch delete: path '${where}' in document ${describeDocument(selector.target)}: ${reason}`);
  };
  const document = documents[index];
  if (document === undefined) return fail('no such document in the config');
  if (selector.path.length === 0) return documents.filter((_, i) => i !== index);

  const data = cloneValue(document.data);
  let parent: ConfigMap = data;
  for (const [depth, segment] of selector.path.slice(0, -1).entries()) {
    const next = getKey(parent, segment);
    if (!isConfigMap(next))
      fail(
        `lookup failed: ${formatPath(selector.path.slice(0, depth + 1))} is ${next === undefined ? 'missing' : 'not a map'}`,
      );
    parent = next as ConfigMap;
  }
  const last = selector.path[selector.path.length - 1] as string;
  if (selector.element) {
    const list = getKey(parent, last);
    if (!Array.isArray(list)) return fail(`lookup failed: ${formatPath(selector.path)} is not a list`);
    const { key: field, value } = selector.element;
    const position = list.findIndex((item) => isConfigMap(item) && isScalarEqual(getKey(item, field), value));
    if (position < 0) fail(`lookup failed: no element with ${field}: ${value}`);
    list.splice(position, 1);
  } else {
    // Deleting a key that is already absent is a no-op: Talos does the same for struct fields
    // (it zeroes them), and only a missing parent is an error there.
    delete parent[last];
  }
  return documents.map((doc, i) => (i === index ? { identity: doc.identity, data } : doc));
}

function isScalarEqual(value: ConfigValue | undefined, wanted: string): boolean {
  return value !== undefined && value !== null && typeof value !== 'object' && String(value) === wanted;
}
