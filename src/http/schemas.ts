import { MACHINE_STATES } from '../core/types.js';
import { pageQueryProperties } from './pagination.js';

/**
 * JSON schemas for the admin API. Request bodies reject unknown fields (a typo must not be
 * silently ignored); the core re-validates meaning (MACs, YAML, references).
 */
const str = (maxLength = 256) => ({ type: 'string', maxLength }) as const;
const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] });
const yamlText = { type: 'string', minLength: 1, maxLength: 512 * 1024 } as const;
const patches = {
  type: 'array',
  maxItems: 64,
  items: { type: 'string', minLength: 1, maxLength: 256 * 1024 },
} as const;
const kernelArgs = { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 } } as const;
const labels = { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 63 } } as const;
const role = { type: 'string', enum: ['controlplane', 'worker'] } as const;
const arch = { type: 'string', enum: ['amd64', 'arm64'] } as const;
const installDisk = {
  ...nullable({
    anyOf: [
      { type: 'string', maxLength: 256 },
      { type: 'object', maxProperties: 16 },
    ],
  }),
  description:
    'A path (`/dev/nvme0n1`), a Talos v1alpha1 diskSelector (`{"size": ">= 100GB", "type": "nvme"}`: size, model, serial, modalias, uuid, wwid, type, busPath), or from Talos v1.14 a CEL expression over the disk (`{"match": "disk.size >= 100u * GB"}`)',
};

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

const clusterFields = {
  talosVersion: str(32),
  controlplane: yamlText,
  worker: yamlText,
  patches,
  kernelArgs,
  arch,
  schematic: nullable(str(64)),
  endpoint: nullable(str(512)),
} as const;

export const clusterCreateBody = {
  type: 'object',
  description:
    'A cluster from talosctl-generated configs: `controlplane` and `worker` are the YAML files as-is, `patches` as for `talosctl --config-patch`',
  additionalProperties: false,
  required: ['name', 'talosVersion', 'controlplane', 'worker'],
  properties: { name: str(63), ...clusterFields },
} as const;

export const clusterUpdateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['talosVersion', 'controlplane', 'worker'],
  properties: { name: str(63), ...clusterFields },
} as const;

export const clusterSchema = {
  type: 'object',
  description: 'A cluster',
  properties: {
    name: { type: 'string' },
    ...clusterFields,
    schematic: { type: ['string', 'null'] },
    endpoint: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const machineFields = {
  hostname: nullable(str(253)),
  role: nullable(role),
  cluster: nullable(str(63)),
  installDisk,
  uuid: nullable(str(64)),
  serial: nullable(str(128)),
  labels,
  patches,
  ip: nullable(str(15)),
  bootFile: nullable(str(64)),
  localBoot: { type: 'string', enum: ['exit', 'sanboot'] },
  installed: { type: 'boolean' },
} as const;

export const machineCreateBody = {
  type: 'object',
  description:
    'Register a machine by MAC (any common spelling). For a discovered MAC this accepts it: what discovery saw (UUID, serial, address) is kept',
  additionalProperties: false,
  required: ['mac', 'hostname', 'role', 'cluster'],
  properties: { mac: str(32), ...machineFields, hostname: str(253), role, cluster: str(63) },
} as const;

export const machinePatchBody = {
  type: 'object',
  description: 'The fields to change; `null` clears a nullable field',
  additionalProperties: false,
  minProperties: 1,
  properties: machineFields,
} as const;

export const machineSchema = {
  type: 'object',
  description: 'A machine',
  properties: {
    mac: { type: 'string' },
    uuid: { type: ['string', 'null'] },
    serial: { type: ['string', 'null'] },
    hostname: { type: ['string', 'null'] },
    role: { type: ['string', 'null'] },
    cluster: { type: ['string', 'null'] },
    installDisk: { type: ['string', 'null'] },
    installDiskSelector: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'The disk selector or (Talos ≥ v1.14) CEL `match` the machine installs to, when not a path',
    },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    patches: { type: 'array', items: { type: 'string' } },
    ip: { type: ['string', 'null'] },
    bootFile: { type: ['string', 'null'] },
    localBoot: { type: 'string' },
    state: {
      type: 'string',
      enum: [...MACHINE_STATES],
      description: 'Where the machine is, from first DHCP packet to Kubernetes join',
    },
    stateChangedAt: { type: 'string', description: 'When it entered that state (ISO 8601)' },
    installed: { type: 'boolean', description: 'Talos is on the disk: network boots are sent to the disk' },
    failure: {
      type: ['object', 'null'],
      description:
        'While `failed` (GET of one machine): why, the first reason Talos gave (what followed it is on the timeline)',
      properties: { reason: { type: 'string' }, at: { type: 'string' }, source: { type: 'string' } },
    },
    reimage: {
      type: ['object', 'null'],
      properties: {
        wipe: { type: 'string' },
        requestedAt: { type: 'string' },
        previousState: { type: 'string' },
        wipeServedAt: { type: ['string', 'null'] },
        wipeBootedAt: { type: ['string', 'null'] },
      },
    },
    lastSeen: {
      type: 'object',
      description: 'What the network told us at the last boot',
      properties: {
        ip: { type: 'string' },
        arch: { type: 'string' },
        firmware: { type: 'string' },
        platform: { type: 'string' },
        uuid: { type: 'string' },
        serial: { type: 'string' },
        at: { type: 'string' },
      },
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

/** A machine in `GET /machines`: the machine plus its newest timeline event (one query for the list). */
export const machineListItemSchema = {
  ...machineSchema,
  properties: {
    ...machineSchema.properties,
    lastEvent: {
      type: ['object', 'null'],
      description: 'The newest event on its timeline (null when it has none): `id` orders it against live events',
      properties: { id: { type: 'integer' }, kind: { type: 'string' }, at: { type: 'string' } },
    },
  },
} as const;

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

export const machineListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: [...MACHINE_STATES] },
    cluster: str(63),
    label: { type: 'string', pattern: '^[^=]+=[^=]*$', maxLength: 320 },
    registered: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'true: only registered machines; false: only discovered ones',
    },
    ...pageQueryProperties,
  },
} as const;

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

export const machineParams = {
  type: 'object',
  required: ['mac'],
  properties: { mac: str(32) },
} as const;

export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: str(63) },
} as const;
