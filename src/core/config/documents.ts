/**
 * Talos machine configs as YAML streams: parsing (with resource limits), document identity, and
 * serialisation. Identity rules follow Talos's config decoder
 * (pkg/machinery/config/configloader/internal/decoder): a document without `kind` is the main
 * `v1alpha1` document when it has `version` or one of its top-level keys; every other document is
 * typed by `apiVersion` + `kind` (+ optional `name`), and a stream may hold each identity once.
 */
import { CST, Document, Lexer, LineCounter, parseAllDocuments, visit } from 'yaml';

import { ConfigError, ConfigLimitError, describeLocation } from './config-error.js';
import {
  formatPath,
  hasKey,
  isConfigMap,
  setKey,
  type ConfigMap,
  type ConfigValue,
  type PathSegment,
} from './values.js';

export { ConfigError, ConfigLimitError } from './config-error.js';

/** Larger than any real machine config (talosctl output is ~10 KiB), small enough to parse fast. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** The yaml library's own default; a config never needs aliases at all, let alone many. */
export const MAX_ALIAS_COUNT = 100;
/** Talos configs nest ~10 deep; the bound protects our recursive walkers from a stack overflow. */
export const MAX_NESTING_DEPTH = 100;

export interface ParseLimits {
  maxBytes?: number;
  maxAliasCount?: number;
}

export type DocumentIdentity =
  | { readonly type: 'main' }
  | { readonly type: 'typed'; readonly apiVersion: string; readonly kind: string; readonly name?: string };

/** One config document. The patch engine never mutates `data`; it builds new documents. */
export interface ConfigDocument {
  readonly identity: DocumentIdentity;
  readonly data: ConfigMap;
}

/** A raw document of a YAML stream, before it is known to be a config document. */
export interface YamlDocument {
  readonly index: number;
  /** 1-based line where the document's content starts. */
  readonly line: number | undefined;
  /** `null` for an empty document (`---` followed by nothing). */
  readonly value: ConfigValue;
}

/** Keys whose presence marks the legacy main document even without `version` (as in patches). */
const MAIN_DOCUMENT_KEYS = ['version', 'machine', 'cluster', 'debug', 'persist'];

/** YAML 1.1 booleans: a 1.2 parser reads them as strings, older tools as booleans, so quote them. */
const YAML11_BOOLEAN = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

export function parseYamlStream(text: string, limits: ParseLimits = {}): YamlDocument[] {
  const maxBytes = limits.maxBytes ?? MAX_CONFIG_BYTES;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxBytes) throw new ConfigLimitError(`input is ${size} bytes, over the limit of ${maxBytes} bytes`);
  rejectDeepNesting(text);

  const lineCounter = new LineCounter();
  // `merge: true` accepts `<<` merge keys, which Talos's Go YAML decoder supports too.
  const parsed = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(parsed)) return []; // an empty stream
  return parsed.map((doc, index) => {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    const [error] = doc.errors;
    if (error) {
      const errorLine = error.linePos?.[0].line ?? line;
      throw new ConfigError(`${describeLocation(index, errorLine)}: invalid YAML: ${firstLine(error.message)}`, {
        documentIndex: index,
        line: errorLine,
      });
    }
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? MAX_ALIAS_COUNT });
    } catch (err) {
      // The yaml library throws when aliases expand past maxAliasCount (a "billion laughs" bomb).
      const reason = err instanceof Error ? err.message : String(err);
      const Failure = /Excessive alias count/.test(reason) ? ConfigLimitError : ConfigError;
      throw new Failure(`${describeLocation(index, line)}: ${reason}`, { documentIndex: index, line });
    }
    return { index, line, value: toConfigValue(js, [], { documentIndex: index, line }) };
  });
}

/**
 * Refuses nesting deeper than MAX_NESTING_DEPTH before the yaml library parses it: its parser
 * slows down and its composer recurses once per level, so 1 MiB of `[[[[…` would cost seconds or
 * overflow the stack. The lexer is linear and lazy, so this stops at the first line too deep.
 * Depth is estimated from open flow brackets, the stack of block indentations, and the block
 * indicators (`-`, `?`, `:`) on one line (`- - - x`); it may overcount, never by much.
 */
function rejectDeepNesting(text: string): void {
  let flowDepth = 0;
  const indents: number[] = [];
  let indicatorsOnLine = 0;
  let line = 1;
  let lineStart = true;
  let indent = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    // Block scalar bodies and multi-line scalars are single tokens: count their lines too.
    const newlines = token.split('\n').length - 1;
    line += newlines;
    if (type === 'newline' || (newlines > 0 && token.endsWith('\n'))) {
      [lineStart, indent, indicatorsOnLine] = [true, 0, 0];
      continue;
    }
    if (type === 'scalar' || type === 'doc-mode' || type === 'flow-error-end') continue; // lexer markers
    if (lineStart) {
      if (type === 'space') {
        indent = token.length;
        continue;
      }
      lineStart = false;
      if (type === 'doc-start' || type === 'doc-end') indents.length = 0;
      else if (type !== 'comment' && flowDepth === 0) {
        while ((indents[indents.length - 1] ?? -1) >= indent) indents.pop();
        indents.push(indent);
      }
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') flowDepth += 1;
    else if (type === 'flow-map-end' || type === 'flow-seq-end') flowDepth = Math.max(0, flowDepth - 1);
    else if (flowDepth === 0 && (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind')) {
      indicatorsOnLine += 1;
    }
    if (flowDepth + indents.length + indicatorsOnLine > MAX_NESTING_DEPTH) {
      throw new ConfigLimitError(`line ${line}: nesting deeper than ${MAX_NESTING_DEPTH} levels`, { line });
    }
  }
}

/** Parses a machine config: every non-empty document must be a map with a valid identity. */
export function parseConfig(text: string, limits: ParseLimits = {}): ConfigDocument[] {
  const documents: ConfigDocument[] = [];
  const seen = new Map<string, number>();
  for (const raw of parseYamlStream(text, limits)) {
    if (raw.value === null) continue; // Talos skips empty documents
    const document = documentFromYaml(raw);
    rejectDuplicate(seen, document.identity, raw);
    documents.push(document);
  }
  if (documents.length === 0) throw new ConfigError('config has no documents');
  return documents;
}

/** Checks a raw YAML document is a map and wraps it with its identity. */
export function documentFromYaml(raw: YamlDocument): ConfigDocument {
  if (!isConfigMap(raw.value)) {
    const got = Array.isArray(raw.value) ? 'a list' : `a ${typeof raw.value}`;
    throw new ConfigError(`${describeLocation(raw.index, raw.line)}: expected a map of config keys, got ${got}`, {
      documentIndex: raw.index,
      line: raw.line,
    });
  }
  try {
    return createDocument(raw.value);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`${describeLocation(raw.index, raw.line)}: ${err.message}`, {
      documentIndex: raw.index,
      line: raw.line,
    });
  }
}

/** Talos refuses a stream holding the same document twice. */
export function rejectDuplicate(seen: Map<string, number>, identity: DocumentIdentity, raw: YamlDocument): void {
  const key = documentKey(identity);
  const first = seen.get(key);
  if (first !== undefined) {
    throw new ConfigError(
      `${describeLocation(raw.index, raw.line)}: duplicate document ${describeDocument(identity)} (first is document ${first + 1})`,
      { documentIndex: raw.index, line: raw.line },
    );
  }
  seen.set(key, raw.index);
}

export function createDocument(data: ConfigMap): ConfigDocument {
  return { identity: identifyDocument(data), data };
}

export function identifyDocument(data: ConfigMap): DocumentIdentity {
  const kind = identityField(data, 'kind');
  const apiVersion = identityField(data, 'apiVersion');
  const name = identityField(data, 'name');
  if (kind === undefined && apiVersion === undefined) {
    if (MAIN_DOCUMENT_KEYS.some((key) => hasKey(data, key))) return { type: 'main' };
    throw new ConfigError('document has no kind (and no version/machine/cluster keys of the main v1alpha1 document)');
  }
  if (kind === undefined) throw new ConfigError(`document with apiVersion ${apiVersion} has no kind`);
  if (apiVersion === undefined) throw new ConfigError(`document of kind ${kind} has no apiVersion`);
  return name === undefined ? { type: 'typed', apiVersion, kind } : { type: 'typed', apiVersion, kind, name };
}

function identityField(data: ConfigMap, key: string): string | undefined {
  if (!hasKey(data, key)) return undefined;
  const value = data[key];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  throw new ConfigError(`document ${key} must be a non-empty string`);
}

/** Stable key for matching documents, as Talos does: apiVersion/kind[/name], `v1alpha1` for main. */
export function documentKey(identity: DocumentIdentity): string {
  if (identity.type === 'main') return 'v1alpha1';
  const base = `${identity.apiVersion}/${identity.kind}`;
  return identity.name === undefined ? base : `${base}/${identity.name}`;
}

/** Human label: `v1alpha1`, `HostnameConfig`, `ExtensionServiceConfig "nut"`. */
export function describeDocument(identity: DocumentIdentity): string {
  if (identity.type === 'main') return 'v1alpha1';
  return identity.name === undefined ? identity.kind : `${identity.kind} ${JSON.stringify(identity.name)}`;
}

export function sameDocument(a: DocumentIdentity, b: DocumentIdentity): boolean {
  return documentKey(a) === documentKey(b);
}

export function findMainDocument(documents: readonly ConfigDocument[]): ConfigDocument | undefined {
  return documents.find((doc) => doc.identity.type === 'main');
}

/**
 * Serialises documents as a YAML stream in talosctl's layout (4-space indent, no line folding, so
 * base64 blobs stay on one line). Comments of the input are not preserved.
 */
export function serializeConfig(documents: readonly ConfigDocument[]): string {
  return documents
    .map((doc) => {
      const yaml = new Document(doc.data, { aliasDuplicateObjects: false });
      visit(yaml, {
        Scalar(_key, node) {
          if (typeof node.value === 'string' && YAML11_BOOLEAN.test(node.value)) node.type = 'QUOTE_DOUBLE';
        },
      });
      return yaml.toString({ indent: 4, lineWidth: 0 });
    })
    .join('---\n');
}

/**
 * Copies what the yaml library produced into plain config data, refusing what a config never holds:
 * prototype-polluting keys, non-finite numbers, binary or date values, absurd nesting.
 */
function toConfigValue(
  value: unknown,
  path: PathSegment[],
  where: { documentIndex: number; line: number },
): ConfigValue {
  const fail = (problem: string): never => {
    throw new ConfigError(
      `${describeLocation(where.documentIndex, where.line)}: ${formatPath(path)}: ${problem}`,
      where,
    );
  };
  if (path.length > MAX_NESTING_DEPTH) fail(`nesting deeper than ${MAX_NESTING_DEPTH} levels`);
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : fail('numbers must be finite');
  if (Array.isArray(value)) return value.map((item, index) => toConfigValue(item, [...path, index], where));
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const map: ConfigMap = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (key === '__proto__') fail('the key "__proto__" is not allowed');
      setKey(map, key, toConfigValue(item, [...path, key], where));
    }
    return map;
  }
  return fail(`unsupported YAML value (${Object.prototype.toString.call(value)})`);
}

/** The yaml library's pretty errors end the first line with ":" before a source excerpt. */
function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
}
