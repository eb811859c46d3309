// Power, boot device and power batches: bodies and answers.
const ACTIONS = ['on', 'off', 'cycle', 'reset', 'soft'] as const;

export const powerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: {
      type: 'string',
      enum: ACTIONS,
      description: 'on, off (hard), cycle, reset (hard), soft (ACPI shutdown). Wake-on-LAN can only do on',
    },
  },
} as const;

export const powerStateView = {
  type: 'object',
  properties: {
    mac: { type: 'string' },
    state: { type: 'string', enum: ['on', 'off', 'unknown'] },
    driver: { type: ['string', 'null'], description: 'ipmi, redfish, wol, or null (no power control)' },
    actions: { type: 'array', items: { type: 'string' }, description: 'What this driver can do' },
    bootDevice: { type: 'boolean', description: 'Whether the driver can set the boot device' },
  },
} as const;

export const bootDeviceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['device'],
  properties: {
    device: { type: 'string', enum: ['pxe', 'disk'] },
    persistent: { type: 'boolean', default: false, description: 'every boot, not only the next one' },
  },
} as const;

export const powerBatchBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { type: 'string', enum: ACTIONS },
    cluster: { type: 'string', maxLength: 63 },
    label: { type: 'string', maxLength: 200, pattern: '^[^=]+=.*$', description: 'key=value' },
    staggerMs: { type: 'integer', minimum: 0, maximum: 600000, default: 0 },
  },
} as const;

export const powerBatchView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    action: { type: 'string' },
    selector: { type: 'object', additionalProperties: true },
    staggerMs: { type: 'integer' },
    createdAt: { type: 'string' },
    finishedAt: { type: ['string', 'null'] },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          mac: { type: 'string' },
          status: { type: 'string', enum: ['pending', 'done', 'failed'] },
          driver: { type: 'string' },
          error: { type: 'string' },
          at: { type: 'string' },
        },
      },
    },
  },
} as const;
