/**
 * Config patches as an operator passes them to `talosctl --config-patch`: detection of the format
 * and application of a list of patches in order.
 *
 * Detection mirrors Talos's configpatcher.LoadPatch:
 * 1. if the text loads as a (multi-document) config, it is a strategic merge patch;
 * 2. else if it is a JSON array of operations, it is a JSON patch;
 * 3. else if its first YAML document is a list of maps (or empty), it is a JSON patch;
 * 4. else the error is the JSON one when the text starts with `[`, otherwise the config one.
 * So an empty or comment-only patch is an empty JSON patch, which Talos (and we) refuse on a
 * multi-document config.
 */
import { ConfigError, ConfigLimitError } from './config-error.js';
import { MAX_CONFIG_BYTES, parseYamlStream, type ConfigDocument, type ParseLimits } from './documents.js';
import { applyJsonPatch, toJsonPatchOperations, type JsonPatchOperation } from './jsonpatch.js';
import { applyStrategicPatch, parseStrategicPatch, type StrategicPatch } from './strategic.js';
import { isConfigMap, type ConfigValue } from './values.js';

export type Patch =
  | { readonly format: 'strategic'; readonly patch: StrategicPatch }
  | { readonly format: 'json'; readonly operations: readonly JsonPatchOperation[] };

export function parsePatch(text: string, limits: ParseLimits = {}): Patch {
  // Checked up front so an oversized input is refused once, not once per format we try.
  const maxBytes = limits.maxBytes ?? MAX_CONFIG_BYTES;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new ConfigLimitError(
      `patch is ${Buffer.byteLength(text, 'utf8')} bytes, over the limit of ${maxBytes} bytes`,
    );
  }

  let strategicError: ConfigError;
  try {
    return { format: 'strategic', patch: parseStrategicPatch(text, limits) };
  } catch (err) {
    // Over a limit, the text is refused whatever its format; no need to parse it twice more.
    if (!(err instanceof ConfigError) || err instanceof ConfigLimitError) throw err;
    strategicError = err;
  }

  const asJson = parseJsonOperations(text);
  if (asJson.operations) return { format: 'json', operations: toJsonPatchOperations(asJson.operations) };

  const asYaml = firstYamlDocumentAsOperations(text, limits);
  if (asYaml) return { format: 'json', operations: toJsonPatchOperations(asYaml) };

  if (text.trimStart().startsWith('[')) throw new ConfigError(`invalid JSON patch: ${asJson.error}`);
  throw strategicError;
}

/** Parses several patches; an error names the patch it came from. */
export function parsePatches(texts: readonly string[], limits: ParseLimits = {}): Patch[] {
  return texts.map((text, index) => {
    try {
      return parsePatch(text, limits);
    } catch (err) {
      throw err instanceof ConfigError ? err.inPatch(index) : err;
    }
  });
}

/** Applies patches in order; returns new documents (the input is untouched). */
export function applyPatches(documents: readonly ConfigDocument[], patches: readonly Patch[]): ConfigDocument[] {
  let result = [...documents];
  patches.forEach((patch, index) => {
    try {
      result =
        patch.format === 'strategic'
          ? applyStrategicPatch(result, patch.patch)
          : applyJsonPatch(result, patch.operations);
    } catch (err) {
      throw err instanceof ConfigError ? err.inPatch(index) : err;
    }
  });
  return result;
}

/** Talos decodes JSON patches into a list of objects; anything else is not a JSON patch. */
function parseJsonOperations(text: string): { operations?: ConfigValue[]; error?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  if (!Array.isArray(value)) return { error: 'a JSON patch must be an array of operations' };
  if (!value.every(isConfigMap)) return { error: 'every JSON patch operation must be an object' };
  // Re-read through the YAML parser for the same value checks (finite numbers, no __proto__).
  const [document] = parseYamlStream(text);
  return { operations: document?.value as ConfigValue[] };
}

function firstYamlDocumentAsOperations(text: string, limits: ParseLimits): ConfigValue[] | undefined {
  let documents: ReturnType<typeof parseYamlStream>;
  try {
    documents = parseYamlStream(text, limits);
  } catch {
    return undefined;
  }
  const first = documents[0]?.value ?? null;
  if (first === null) return []; // an empty patch, as Go's yaml.Unmarshal gives for no input
  return Array.isArray(first) && first.every(isConfigMap) ? first : undefined;
}
