/** Building blocks shared by the admin API's JSON schemas, and the error answer's shape. */
// Request bodies reject unknown fields (a typo must not be silently ignored); the core
// re-validates meaning (MACs, YAML, references).

export const str = (maxLength = 256) => ({ type: 'string', maxLength }) as const;
export const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] });
export const patches = {
  type: 'array',
  maxItems: 64,
  items: { type: 'string', minLength: 1, maxLength: 256 * 1024 },
} as const;

export const errorSchema = {
  type: 'object',
  description: 'An error: a stable code for scripts, a message for people',
  properties: {
    error: {
      type: 'string',
      description: 'Machine-readable code, e.g. `validation`, `not_found`, `conflict`, `unauthorized`',
    },
    message: { type: 'string' },
    field: { type: 'string', description: 'The request field at fault, when one is' },
  },
} as const;
