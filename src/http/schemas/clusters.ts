/** JSON schemas of the cluster resource: create and update bodies, the cluster, its name parameter. */
import { nullable, patches, str } from './common.js';

const yamlText = { type: 'string', minLength: 1, maxLength: 512 * 1024 } as const;
const kernelArgs = { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 } } as const;
const arch = { type: 'string', enum: ['amd64', 'arm64'] } as const;

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

export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: str(63) },
} as const;
