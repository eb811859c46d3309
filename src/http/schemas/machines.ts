import { bmcView } from './bmc.js';
/** JSON schemas of the machine resource: create and patch bodies, the machine, list query and item, MAC parameter. */
import { MACHINE_STATES } from '../../core/types.js';
import { pageQueryProperties } from '../pagination.js';
import { nullable, patches, str } from './common.js';

const labels = { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 63 } } as const;
const role = { type: 'string', enum: ['controlplane', 'worker'] } as const;
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
    bmc: bmcView,
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

export const machineParams = {
  type: 'object',
  required: ['mac'],
  properties: { mac: str(32) },
} as const;

/** `POST /machines/:mac/reimage`: the machine, plus what was done to its power when asked to. */
export const reimageAnswerSchema = {
  ...machineSchema,
  properties: {
    ...machineSchema.properties,
    power: {
      type: 'object',
      properties: { bootDevice: { type: 'string' }, action: { type: 'string' }, driver: { type: 'string' } },
    },
  },
} as const;
