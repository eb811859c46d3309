import { ValidationError } from '../errors.js';

/** Where in the input a config problem sits. Indexes are 0-based; messages say them 1-based. */
export interface ConfigErrorLocation {
  /** Index of the YAML document in its stream. */
  documentIndex?: number;
  /** 1-based line in the text that was parsed. */
  line?: number;
  /** Index of the patch in the list given to `parsePatches`/`applyPatches`. */
  patchIndex?: number;
}

/**
 * A machine config or patch that cannot be parsed or applied. It is a ValidationError because the
 * input came from the operator (an HTTP adapter answers 400), never from a fault of ours.
 */
export class ConfigError extends ValidationError {
  readonly documentIndex: number | undefined;
  readonly line: number | undefined;
  readonly patchIndex: number | undefined;

  constructor(message: string, location: ConfigErrorLocation = {}) {
    super(message);
    this.documentIndex = location.documentIndex;
    this.line = location.line;
    this.patchIndex = location.patchIndex;
  }

  /** The same error, prefixed with the patch it came from (keeps the inner location). */
  inPatch(patchIndex: number): ConfigError {
    const Same = this.constructor as typeof ConfigError;
    return new Same(`patch ${patchIndex + 1}: ${this.message}`, {
      documentIndex: this.documentIndex,
      line: this.line,
      patchIndex,
    });
  }
}

/**
 * The input exceeds a resource limit (size, alias expansion, nesting): no reading of it would
 * succeed, so callers trying several formats stop at the first such error.
 */
export class ConfigLimitError extends ConfigError {}

/** Describes a document position for messages: `document 2, line 14`. */
export function describeLocation(documentIndex: number, line: number | undefined): string {
  return line === undefined ? `document ${documentIndex + 1}` : `document ${documentIndex + 1} (line ${line})`;
}
