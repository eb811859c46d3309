import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { clientIp } from './auth.js';

/**
 * A caller's `x-request-id` is kept when it looks like an id (so a proxy's or the CLI's id
 * follows the request through our logs); anything else — long, odd characters — is replaced.
 */
const GIVEN_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Request ids unique across restarts (fastify's default `req-1` starts over at every start). */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID();
}

/** Config URLs carry a per-boot secret (`?token=`): never write it to a log. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token)=)[^&#]*/gi, '$1[redacted]');
}

function requestSerializer(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    // Behind HTTP workers the socket is the internal listener's: the address the worker vouched for.
    remoteAddress: req.raw ? clientIp(req.raw) : req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** The HTTP adapter's logger: the caller's, with the redacting request serializer on top. */
export function httpLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child({}, { serializers: { req: requestSerializer as never } });
}

/** Every response names its request id, so an operator can find the matching log lines. */
export function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
}

/**
 * The access log: one line per answered request with its id, method, redacted URL, client,
 * status and time — what fastify's two default lines ("incoming request", then "request
 * completed") said, at half the cost on the boot path. Errors and fastify's other lines are kept.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {
    // nothing: the request is logged once, when it is answered
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
