import type { FastifyInstance } from 'fastify';
import type { ConfigResult, ScriptKind } from '../../core/boot/boot-service.js';
import type { Core } from '../../core/index.js';
import { sourceIp } from '../auth.js';

/**
 * Routes firmware and Talos call: no admin token (they cannot send one). Scripts and configs are
 * never cached by anything in between: each boot must ask again.
 *
 * `/ipxe` and `/config/:mac` are usually answered by the fast path (../boot-fast-path.ts) before a
 * request reaches fastify; these routes answer what it passes on (and `inject`). Both build their
 * answers with the functions below, so the bytes on the wire are the same either way.
 */

export const IPXE_QUERY_SCHEMA = {
  type: 'object',
  // Unknown keys are ignored, not refused: an SMBIOS serial with `&` in it (iPXE does not
  // escape it) would otherwise leave the machine looping on a 400 forever.
  additionalProperties: true,
  required: ['mac'],
  properties: {
    // Validation happens here so a malformed query is a 400 before anything is recorded.
    mac: {
      type: 'string',
      pattern:
        '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{12}$|^[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}$',
    },
    uuid: {
      type: 'string',
      pattern: '^$|^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$',
    },
    serial: { type: 'string', maxLength: 128 },
    arch: { type: 'string', enum: ['', 'i386', 'x86_64', 'arm64', 'arm32', 'riscv64'] },
    platform: { type: 'string', enum: ['', 'pcbios', 'efi'] },
  },
} as const;
export const CONFIG_PARAMS_SCHEMA = { type: 'object', properties: { mac: { type: 'string', maxLength: 64 } } } as const;
export const CONFIG_QUERY_SCHEMA = {
  type: 'object',
  properties: { token: { type: 'string', maxLength: 256 } },
} as const;

export interface IpxeQuery {
  mac: string;
  uuid?: string;
  serial?: string;
  arch?: string;
  platform?: string;
}

/** A boot route's answer, as both the fast path and fastify write it. */
export interface BootAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const IPXE = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

export async function answerScript(core: Core, q: IpxeQuery, ip: string): Promise<BootAnswer & { kind: ScriptKind }> {
  const { kind, script } = await core.boot.machineScript({
    mac: q.mac,
    uuid: q.uuid,
    serial: q.serial,
    arch: q.arch,
    platform: q.platform,
    sourceIp: ip,
  });
  return {
    kind,
    status: 200,
    headers: { 'content-type': IPXE, 'cache-control': 'no-store', 'x-metalboot-script': kind },
    body: script,
  };
}

export async function answerConfig(
  core: Core,
  mac: string,
  token: string | undefined,
  ip: string,
): Promise<BootAnswer> {
  const result: ConfigResult = await core.boot.fetchConfig(mac, token, ip);
  if (result.status === 200)
    return {
      status: 200,
      headers: { 'content-type': 'application/yaml', 'cache-control': 'no-store' },
      body: result.body,
    };
  const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'cache-control': 'no-store' };
  // Talos retries any non-200 with backoff; a 503 tells it (and the operator) to try again later.
  if (result.status === 503) headers['retry-after'] = '30';
  return { status: result.status, headers, body: JSON.stringify({ error: result.error, message: result.message }) };
}

export async function bootRoutes(app: FastifyInstance, { core }: { core: Core }): Promise<void> {
  app.get('/boot.ipxe', async (req, reply) => {
    const script = await core.boot.genericScript(sourceIp(req));
    return reply.header('cache-control', 'no-store').type(IPXE).send(script);
  });

  app.get<{ Querystring: IpxeQuery }>('/ipxe', { schema: { querystring: IPXE_QUERY_SCHEMA } }, async (req, reply) => {
    const a = await answerScript(core, req.query, sourceIp(req));
    return reply.code(a.status).headers(a.headers).send(a.body);
  });

  app.get<{ Params: { mac: string }; Querystring: { token?: string } }>(
    '/config/:mac',
    { schema: { params: CONFIG_PARAMS_SCHEMA, querystring: CONFIG_QUERY_SCHEMA } },
    async (req, reply) => {
      const a = await answerConfig(core, req.params.mac, req.query.token, sourceIp(req));
      return reply.code(a.status).headers(a.headers).send(a.body);
    },
  );
}
