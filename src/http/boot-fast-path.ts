import { Ajv } from 'ajv';
import type { FastifyBaseLogger } from 'fastify';
import { parse as parseQuery } from 'fast-querystring';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UnavailableError } from '../core/errors.js';
import type { Core } from '../core/index.js';
import { bootResultFor } from '../metrics/http.js';
import type { Metrics } from '../metrics/index.js';
import { clientIp } from './auth.js';
import { UNAVAILABLE_RETRY_AFTER_S } from './errors.js';
import { genReqId } from './request-log.js';
import {
  answerConfig,
  answerScript,
  CONFIG_PARAMS_SCHEMA,
  CONFIG_QUERY_SCHEMA,
  IPXE_QUERY_SCHEMA,
  type BootAnswer,
  type IpxeQuery,
} from './routes/boot.js';

/**
 * The two requests every booting machine makes — its script (`GET /ipxe?mac=…`) and its config
 * (`GET /config/<mac>?token=…`) — answered straight from node's HTTP server, before fastify.
 *
 * Why: in a boot storm these are most of the requests that do work, and fastify's per-request
 * machinery (request and reply objects, four hooks, the promise chain) measured ~9 % of their CPU
 * (render benchmark A/B: 0.91× CPU per request, 1.11× requests per second).
 *
 * What does not change: the same validation (the routes' own JSON schemas, compiled here), the
 * same query parser as fastify's router, the same core calls and answers (routes/boot.ts builds
 * both), the same request id, access-log line and metrics, and the same wait for the store's
 * commit before a byte is sent. Whatever this path is not sure of — another method, a query that
 * fails validation, an odd path or encoding — goes to fastify, which answers as it always did.
 */
export class BootFastPath {
  /** Requests answered here (tests, and a way to see it is in use). */
  served = 0;
  private readonly validIpxe;
  private readonly validConfigParams;
  private readonly validConfigQuery;

  constructor(
    private readonly core: Core,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
  ) {
    // fastify's settings (app.ts): no coercion, nothing removed — a query fastify would refuse
    // is refused here too (and then answered by fastify).
    const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: false });
    this.validIpxe = ajv.compile(IPXE_QUERY_SCHEMA);
    this.validConfigParams = ajv.compile(CONFIG_PARAMS_SCHEMA);
    this.validConfigQuery = ajv.compile(CONFIG_QUERY_SCHEMA);
  }

  /** Answers the request and returns true, or returns false (untouched) for fastify to answer. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? {} : parseQuery(url.slice(q + 1));
    if (path === '/ipxe') {
      if (!this.validIpxe(query)) return false;
      this.serve(req, res, '/ipxe', (ip) => answerScript(this.core, query as unknown as IpxeQuery, ip));
      return true;
    }
    if (path.startsWith('/config/')) {
      const mac = decodeSegment(path.slice('/config/'.length));
      if (mac === undefined || !this.validConfigParams({ mac }) || !this.validConfigQuery(query)) return false;
      const token = (query as { token?: string }).token;
      this.serve(req, res, '/config/:mac', (ip) => answerConfig(this.core, mac, token, ip));
      return true;
    }
    return false;
  }

  private serve(
    req: IncomingMessage,
    res: ServerResponse,
    route: string,
    answer: (ip: string) => Promise<BootAnswer>,
  ): void {
    this.served++;
    const started = performance.now();
    const id = genReqId(req);
    const ip = clientIp(req);
    void answer(ip)
      .then(async (a) => {
        await this.core.flushed(); // what the answer promises (a token, an audit entry) is committed
        return a;
      })
      .catch((err: unknown): BootAnswer => {
        if (err instanceof UnavailableError) {
          // What the error handler (errors.ts) answers: the machine retries; nothing was handed out.
          this.log.warn({ reqId: id, error: err.message }, 'store unavailable; answered 503');
          return {
            status: 503,
            headers: {
              'content-type': 'application/json; charset=utf-8',
              'cache-control': 'no-store',
              'retry-after': String(UNAVAILABLE_RETRY_AFTER_S),
            },
            body: JSON.stringify({ error: err.code, message: err.message }),
          };
        }
        this.log.error({ reqId: id, err }, 'request failed');
        return {
          status: 500,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ error: 'internal', message: 'internal error; see the server log' }),
        };
      })
      .then((a) => {
        const headers = { ...a.headers, 'x-request-id': id, 'content-length': String(Buffer.byteLength(a.body)) };
        if (!res.destroyed) res.writeHead(a.status, headers).end(a.body);
        this.metrics.httpBoot.inc({
          route,
          status: String(a.status),
          result: bootResultFor(route, a.status, 'GET', a.headers['x-metalboot-script'] ?? ''),
        });
        // The access-log line fastify's OneLineRequestLog writes, field for field (request-log.ts
        // serialises this as it does a fastify request).
        const line = {
          method: 'GET',
          url: req.url,
          host: req.headers.host,
          ip,
          socket: req.socket,
        };
        this.log.info(
          { reqId: id, req: line, res: { statusCode: a.status }, responseTime: performance.now() - started },
          'request completed',
        );
      })
      .catch((err: unknown) => {
        // Nothing above should throw; if it does, the client must not hang and the server must not die.
        this.log.error({ reqId: id, err }, 'answering a boot request failed');
        res.destroy();
      });
  }
}

/** A path segment as fastify's router decodes it; undefined if it is not one (left to fastify). */
function decodeSegment(raw: string): string | undefined {
  if (raw.length === 0 || raw.includes('/')) return undefined;
  if (!raw.includes('%')) return raw;
  try {
    const decoded = decodeURIComponent(raw);
    return decoded.includes('/') ? undefined : decoded;
  } catch {
    return undefined;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The boot fast path in front of this app's server (app.ts). */
    bootFastPath: BootFastPath;
  }
}
