/**
 * A fleet file read into its documents, each able to say on which line a field of it is: every
 * error of `apply` names the file, the document and the line (the `yaml` package keeps positions).
 */
import { type Document, isMap, isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { ConflictError, MetalbootError, ValidationError } from '../errors.js';

/** What `apply` is given: the fleet file's text and the files it references, by the name used in it. */
export interface FleetSource {
  /** For messages: the file name as the user gave it (`fleet.yaml`, `-` for stdin). */
  name: string;
  text: string;
  /** `{file: …}` references, keyed exactly as written in the fleet file (the CLI reads them). */
  files?: Record<string, string>;
}

export type FieldPath = Array<string | number>;

export interface FleetDocument {
  file: string;
  /** 1-based position in the file, counting only non-empty documents. */
  index: number;
  kind: string;
  data: Record<string, unknown>;
  /** The line of a field (or of the nearest enclosing one that exists; the document's first line). */
  lineOf(path: FieldPath): number;
}

/** Where in a fleet file something is wrong. */
export interface FleetLocation {
  file: string;
  document?: number;
  kind?: string;
  line?: number;
}

export function describeLocation(at: FleetLocation): string {
  const doc = at.document === undefined ? '' : `, document ${at.document}${at.kind ? ` (${at.kind})` : ''}`;
  return `${at.file}${doc}${at.line === undefined ? '' : `, line ${at.line}`}`;
}

/** A fleet file refused: a 400 whose message starts with the file, document and line. */
export class FleetError extends ValidationError {
  constructor(
    readonly at: FleetLocation,
    readonly reason: string,
    field?: string,
  ) {
    super(`${describeLocation(at)}: ${reason}`, field);
  }
}

/** The error `err` raised while checking `path` of `doc`, located: same class, message prefixed. */
export function locate(err: unknown, doc: FleetDocument, path: FieldPath): unknown {
  if (!(err instanceof MetalbootError)) return err;
  const field = err instanceof ValidationError && err.field ? err.field : undefined;
  const where = field ? fieldPath(field) : path;
  const at = { file: doc.file, document: doc.index, kind: doc.kind, line: doc.lineOf(where) };
  const reason = field && !err.message.startsWith(field) ? `${field}: ${err.message}` : err.message;
  if (err instanceof ValidationError) return new FleetError(at, reason, field);
  if (err instanceof ConflictError) return new ConflictError(`${describeLocation(at)}: ${reason}`);
  return err;
}

/** `patches[0]`, `labels.rack` → ['patches', 0], ['labels', 'rack']. */
export function fieldPath(field: string): FieldPath {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** The documents of a fleet file; a YAML error, or a document that is not a mapping with a kind, is refused. */
export function readFleet(source: FleetSource): FleetDocument[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(source.text, { lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs)) throw new FleetError({ file: source.name }, 'not a YAML document stream');
  const lineAt = (offset: number) => lines.linePos(offset).line;
  const out: FleetDocument[] = [];
  let index = 0;
  for (const doc of docs) {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0]?.line ?? lineAt(start);
      throw new FleetError(
        { file: source.name, document: index + 1, line },
        `malformed YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    if (doc.contents === null) continue; // an empty document (a trailing `---`)
    index++;
    const at = { file: source.name, document: index, line: lineAt(start) };
    const data = toObject(doc, at);
    if (typeof data.kind !== 'string' || !data.kind)
      throw new FleetError(
        at,
        'kind is missing: every document says what it is (kind: Cluster, kind: Machine)',
        'kind',
      );
    out.push({
      file: source.name,
      index,
      kind: data.kind,
      data,
      lineOf: (path) => {
        for (let n = path.length; n > 0; n--) {
          // A mapping's key is where its field is written (a list's own range starts at its first item).
          const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
          const key = isMap(parent)
            ? parent.items.find((p) => isScalar(p.key) && p.key.value === path[n - 1])?.key
            : undefined;
          const node = (key ?? doc.getIn(path.slice(0, n), true)) as { range?: [number, number, number] } | undefined;
          if (node?.range) return lineAt(node.range[0]);
        }
        return lineAt(start);
      },
    });
  }
  if (out.length === 0) throw new FleetError({ file: source.name }, 'no documents: the fleet file is empty');
  return out;
}

function toObject(doc: Document, at: FleetLocation): Record<string, unknown> {
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new FleetError(at, `cannot be read: ${(err as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new FleetError(at, 'a document must be a mapping (kind: …, name: …)');
  return data as Record<string, unknown>;
}
