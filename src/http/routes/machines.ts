import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BootNetwork } from '../../core/boot/boot-service.js';
import type { Core } from '../../core/index.js';
import { parseMac } from '../../core/registry/mac.js';
import type { MachineInput, MachinePatch } from '../../core/registry/machines.js';
import type { MachineState } from '../../core/types.js';
import { sourceIp } from '../auth.js';
import { bootPreviewSchema, previewQuery } from '../schemas/boot-preview.js';
import { eventSchema } from '../schemas/events.js';
import {
  machineCreateBody,
  machineListItemSchema,
  machineListQuery,
  machineParams,
  machinePatchBody,
  machineSchema,
  reimageAnswerSchema,
} from '../schemas/machines.js';
import { decodeCursor, pageLimit, pageOf, pageQueryProperties, pageSchema } from '../pagination.js';

type MacParams = { Params: { mac: string } };

export interface MachineRouteOptions {
  core: Core;
  /** For the preview's asset sizes: what /assets/ and TFTP serve. */
  assetsDir: string;
  /** TFTP and DHCP as the server runs them, asked per request (TFTP starts after HTTP). */
  bootNetwork: () => BootNetwork;
}

export async function machineRoutes(
  app: FastifyInstance,
  { core, assetsDir, bootNetwork }: MachineRouteOptions,
): Promise<void> {
  const actor = (req: FastifyRequest) => ({ actor: 'api', sourceIp: sourceIp(req) });

  app.post<{ Body: MachineInput }>(
    '/machines',
    { schema: { body: machineCreateBody, response: { 201: machineSchema } } },
    async (req, reply) => reply.code(201).send(await core.machines.register(req.body, actor(req))),
  );

  app.get<{
    Querystring: {
      state?: MachineState;
      cluster?: string;
      label?: string;
      registered?: 'true' | 'false';
      limit?: string;
      cursor?: string;
    };
  }>(
    '/machines',
    {
      schema: {
        querystring: machineListQuery,
        response: { 200: pageSchema(machineListItemSchema, 'Machines in MAC order') },
      },
    },
    async (req) => {
      const { state, cluster, label } = req.query;
      const [key, value] = label ? label.split('=') : [];
      const limit = pageLimit(req.query.limit);
      const after = decodeCursor('machines', req.query.cursor, 'string');
      const registered = req.query.registered === undefined ? undefined : req.query.registered === 'true';
      const filter = { state, cluster, registered, label: key !== undefined ? { key, value: value ?? '' } : undefined };
      const page = pageOf(
        await core.machines.page(filter, { after, limit: limit + 1 }),
        limit,
        'machines',
        (m) => m.mac,
      );
      return { items: await core.machines.withLatestEvents(page.items), next: page.next };
    },
  );

  // A failed machine carries its failure's first reason (later consequences are on its timeline).
  app.get<MacParams>(
    '/machines/:mac',
    { schema: { params: machineParams, response: { 200: machineSchema } } },
    async (req) => {
      const m = await core.machines.get(req.params.mac);
      const failure = m.state === 'failed' ? (await core.progress.progressOf(m.mac)).failure : null;
      return { ...m, failure, bmc: await core.bmc.view(m.mac) };
    },
  );

  // The dry run of this machine's boot (metalboot doctor --mac): records nothing, also for MACs
  // never seen (those get the discovery answer, and are not discovered by asking) — except that
  // showing the rendered config (config=1) is on the audit log: it carries the cluster's keys.
  app.get<MacParams & { Querystring: { arch?: string; ipxe?: string; config?: string } }>(
    '/machines/:mac/preview',
    { schema: { params: machineParams, querystring: previewQuery, response: { 200: bootPreviewSchema } } },
    async (req) => {
      const { arch, ipxe, config } = req.query;
      const request = {
        mac: parseMac(req.params.mac),
        archCode: arch === undefined ? 7 : Number(arch),
        ipxe: ipxe === '1',
        includeConfig: config === '1',
      };
      const preview = await core.boot.preview(request, bootNetwork(), assetsDir);
      const shown = preview.hops.find((h) => h.step === 'config')?.data?.yaml;
      if (typeof shown === 'string') {
        await core.timeline.audit({
          actor: 'api',
          action: 'config.previewed',
          target: request.mac,
          detail: { bytes: Buffer.byteLength(shown) },
          sourceIp: sourceIp(req),
        });
      }
      return preview;
    },
  );

  app.patch<MacParams & { Body: MachinePatch }>(
    '/machines/:mac',
    { schema: { params: machineParams, body: machinePatchBody, response: { 200: machineSchema } } },
    (req) => core.machines.update(req.params.mac, req.body, actor(req)),
  );

  app.delete<MacParams>('/machines/:mac', { schema: { params: machineParams } }, async (req, reply) => {
    await core.machines.delete(req.params.mac, actor(req));
    return reply.code(204).send();
  });

  app.get<MacParams & { Querystring: { after?: string; limit?: string; cursor?: string } }>(
    '/machines/:mac/events',
    {
      schema: {
        params: machineParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: {
              type: 'string',
              pattern: '^[0-9]{1,15}$',
              description: 'Only events with a larger id (what a live client already has)',
            },
            ...pageQueryProperties,
          },
        },
        response: { 200: pageSchema(eventSchema, "The machine's timeline, oldest first") },
      },
    },
    async (req) => {
      await core.machines.get(req.params.mac); // 404 for a MAC we never saw
      const limit = pageLimit(req.query.limit);
      const afterId =
        decodeCursor('events', req.query.cursor, 'number') ?? (req.query.after ? Number(req.query.after) : undefined);
      return pageOf(
        await core.machines.events(req.params.mac, { afterId, limit: limit + 1 }),
        limit,
        'events',
        (e) => e.id,
      );
    },
  );

  app.post<MacParams & { Body: { wipe?: 'system' | 'disk'; power?: 'cycle' } | null }>(
    '/machines/:mac/reimage',
    {
      schema: {
        params: machineParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            wipe: { type: 'string', enum: ['system', 'disk'] },
            power: {
              type: 'string',
              enum: ['cycle'],
              description: 'through the BMC: PXE once, then power cycle (or on when it is off)',
            },
          },
        },
        response: { 202: reimageAnswerSchema },
      },
    },
    async (req, reply) => {
      const wipe = req.body?.wipe ?? 'system';
      if (req.body?.power === 'cycle') {
        const { machine, power } = await core.reimageWithPower(req.params.mac, wipe, actor(req));
        return reply.code(202).send({ ...machine, power });
      }
      return reply.code(202).send(await core.machines.requestReimage(req.params.mac, wipe, actor(req)));
    },
  );
}
