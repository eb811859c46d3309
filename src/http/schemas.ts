import { MACHINE_STATES } from '../core/types.js';

/**
 * JSON schemas for the admin API. Request bodies reject unknown fields (a typo must not be
 * silently ignored); the core re-validates meaning (MACs, YAML, references).
 */
const str = (maxLength = 256) => ({ type: 'string', maxLength }) as const;
const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] });
const yamlText = { type: 'string', minLength: 1, maxLength: 512 * 1024 } as const;
const patches = { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 * 1024 } } as const;
const kernelArgs = { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 } } as const;
const labels = { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 63 } } as const;
const role = { type: 'string', enum: ['controlplane', 'worker'] } as const;
const arch = { type: 'string', enum: ['amd64', 'arm64'] } as const;
const installDisk = nullable({ anyOf: [{ type: 'string', maxLength: 256 }, { type: 'object', maxProperties: 16 }] });

export const errorSchema = {
  type: 'object',
  description: 'An error: a stable code for scripts, a message for people',
  properties: {
    error: { type: 'string', description: 'Machine-readable code, e.g. `validation`, `not_found`, `conflict`, `unauthorized`' },
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
  description: 'A cluster from talosctl-generated configs: `controlplane` and `worker` are the YAML files as-is, `patches` as for `talosctl --config-patch`',
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
  description: 'Register a machine by MAC (any common spelling). For a discovered MAC this accepts it: what discovery saw (UUID, serial, address) is kept',
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
    installDiskSelector: { type: ['object', 'null'], additionalProperties: true },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    patches: { type: 'array', items: { type: 'string' } },
    ip: { type: ['string', 'null'] },
    bootFile: { type: ['string', 'null'] },
    localBoot: { type: 'string' },
    state: { type: 'string', enum: [...MACHINE_STATES], description: 'Where the machine is, from first DHCP packet to Kubernetes join' },
    stateChangedAt: { type: 'string', description: 'When it entered that state (ISO 8601)' },
    installed: { type: 'boolean', description: 'Talos is on the disk: network boots are sent to the disk' },
    reimage: {
      type: ['object', 'null'],
      properties: { wipe: { type: 'string' }, requestedAt: { type: 'string' } },
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

export const machineListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: [...MACHINE_STATES] },
    cluster: str(63),
    label: { type: 'string', pattern: '^[^=]+=[^=]*$', maxLength: 320 },
  },
} as const;

export const eventSchema = {
  type: 'object',
  description: 'One timeline event: `state` is the state after it, when it changed the state',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    kind: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
    sourceIp: { type: ['string', 'null'] },
    state: { type: ['string', 'null'] },
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
