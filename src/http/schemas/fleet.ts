/** JSON schemas of the fleet file routes: POST /apply (a fleet file and its referenced files), GET /export. */

const change = {
  type: 'object',
  properties: {
    op: { type: 'string', enum: ['create', 'update', 'delete', 'unchanged'] },
    kind: { type: 'string', description: '`cluster` or `machine`' },
    name: { type: 'string', description: "a cluster's name, a machine's host name (its MAC without one)" },
    id: { type: 'string', description: "a cluster's name, a machine's MAC" },
    fields: { type: 'array', items: { type: 'string' }, description: 'with `update`: the fields that differ' },
  },
} as const;

export const applyBody = {
  type: 'object',
  description:
    'A fleet file: multi-document YAML of `kind: Cluster` and `kind: Machine` documents, and the contents of the files its `{file: …}` fields name',
  additionalProperties: false,
  required: ['documents'],
  properties: {
    documents: { type: 'string', minLength: 1, maxLength: 8 * 1024 * 1024, description: 'the fleet file, as text' },
    source: { type: 'string', maxLength: 1024, description: 'its name, for error messages (default `fleet.yaml`)' },
    files: {
      type: 'object',
      maxProperties: 1024,
      additionalProperties: { type: 'string', maxLength: 1024 * 1024 },
      description: '`{file: …}` references by the path written in the fleet file → their contents',
    },
    dryRun: { type: 'boolean', description: 'plan only: nothing is written (`metalboot diff`)' },
    prune: { type: 'boolean', description: 'delete clusters and registered machines the file does not name' },
  },
} as const;

export const planSchema = {
  type: 'object',
  description: 'What the apply changed (or, with dryRun, would change), in the order of its writes',
  properties: {
    dryRun: { type: 'boolean' },
    prune: { type: 'boolean' },
    changes: { type: 'array', items: change },
    summary: {
      type: 'object',
      properties: {
        created: { type: 'integer' },
        changed: { type: 'integer' },
        deleted: { type: 'integer' },
        unchanged: { type: 'integer' },
      },
    },
    unmanaged: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description: 'without prune: how many of each kind the registry holds that the file does not name',
    },
    warnings: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const exportSchema = {
  type: 'object',
  description: 'The registry as fleet documents (base configs and patches inline; BMCs are not exported)',
  properties: { documents: { type: 'array', items: { type: 'object', additionalProperties: true } } },
} as const;
