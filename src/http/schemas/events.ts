/** JSON schema of one machine timeline event. */

export const eventSchema = {
  type: 'object',
  description: 'One timeline event: `state` is the state after it, when it changed the state',
  properties: {
    id: { type: 'integer' },
    mac: { type: 'string', description: 'the machine (as in the event stream, so both are one shape)' },
    at: { type: 'string' },
    kind: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
    sourceIp: { type: ['string', 'null'] },
    state: { type: ['string', 'null'] },
    repeats: {
      type: 'integer',
      description:
        'how many times it happened, when identical repeats within a minute were counted on it (absent: once)',
    },
    lastAt: { type: 'string', description: 'when the last repeat happened (only with repeats)' },
  },
} as const;
