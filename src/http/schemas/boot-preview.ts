/** JSON schemas of a boot's dry run: `GET /machines/:mac/preview`'s query and answer. */

/** `GET /machines/:mac/preview`: the dry run of a boot (see src/core/boot/preview.ts). */
export const previewQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // 0–65535 as a digit string (the app's Ajv does not coerce types).
    arch: {
      type: 'string',
      pattern: '^(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$',
      description:
        'DHCP option 93 client architecture: 0 BIOS, 7 x86-64 UEFI (default), 11 arm64 UEFI, 16 x86-64 UEFI HTTP…',
    },
    ipxe: {
      type: 'string',
      pattern: '^[01]$',
      description: '1: the client runs iPXE already; start at its DHCP request',
    },
    config: {
      type: 'string',
      pattern: '^[01]$',
      description: "1: include the rendered config YAML (it holds the cluster's secrets)",
    },
  },
} as const;

export const bootPreviewSchema = {
  type: 'object',
  description:
    'What metalboot would answer at each hop of the boot, computed without recording anything; the config URL carries a placeholder, not a token',
  properties: {
    mac: { type: 'string' },
    archCode: { type: 'integer' },
    archName: { type: 'string' },
    ipxe: { type: 'boolean' },
    computedBy: { type: 'string', enum: ['server', 'cli'] },
    machine: {
      type: ['object', 'null'],
      description: 'The machine record, null for a MAC metalboot has never seen',
      properties: {
        state: { type: 'string' },
        installed: { type: 'boolean' },
        reimage: { type: ['object', 'null'], additionalProperties: true },
        cluster: { type: ['string', 'null'] },
        role: { type: ['string', 'null'] },
        hostname: { type: ['string', 'null'] },
      },
    },
    outcome: { type: 'string', enum: ['install', 'wipe', 'localboot', 'discovery', 'unavailable', 'no-boot'] },
    hops: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          step: {
            type: 'string',
            enum: [
              'dhcp',
              'tftp',
              'http-boot',
              'dhcp-ipxe',
              'boot-script',
              'machine-script',
              'kernel',
              'initramfs',
              'config',
            ],
          },
          request: { type: 'string', description: 'What the machine sends' },
          answer: { type: 'string', description: 'What metalboot answers' },
          ok: { type: 'boolean', description: 'false: the boot breaks here' },
          problem: { type: 'string' },
          data: {
            type: 'object',
            additionalProperties: true,
            description: 'The payload: boot file, script, command line, config summary',
          },
        },
      },
    },
  },
} as const;
