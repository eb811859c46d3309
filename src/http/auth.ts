import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Bearer-token check for the admin API. Both sides are hashed before the constant-time compare so
 * neither the token's content nor its length leaks through timing.
 */
export function bearerAuth(token: string) {
  const expected = createHash('sha256').update(token).digest();
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const given = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    if (!m || !timingSafeEqual(given, expected)) {
      reply.header('www-authenticate', 'Bearer realm="metalboot"');
      return reply.code(401).send({
        error: 'unauthorized',
        message: m
          ? 'invalid API token'
          : 'missing API token: send "Authorization: Bearer <token>" (the token is in data/api-token)',
      });
    }
  };
}

/** Source address as machines are known by it: IPv4-mapped IPv6 (`::ffff:10.0.0.5`) shown as IPv4. */
export function sourceIp(request: FastifyRequest): string {
  return clientIp(request.raw);
}

/**
 * The header an HTTP worker (src/http/workers/) names the client's address in when it forwards a
 * request to the primary's internal listener. Trusted there only (trustForwardedClient); on the
 * public port nothing reads it, so a client cannot choose the address its token is bound to.
 */
export const FORWARDED_CLIENT_HEADER = 'x-metalboot-client-address';
const CLIENT = Symbol('metalboot.clientAddress');
type Stamped = IncomingMessage & { [CLIENT]?: string };

/** The client's address: the one a worker vouched for on the internal listener, else the socket's peer. */
export function clientIp(req: IncomingMessage): string {
  return (req as Stamped)[CLIENT] ?? unmappedIp(req.socket?.remoteAddress ?? '');
}

/** Internal listener only: take the worker's word for the client's address; false if it gave none (refuse). */
export function trustForwardedClient(req: IncomingMessage): boolean {
  const given = req.headers[FORWARDED_CLIENT_HEADER];
  if (typeof given !== 'string' || isIP(given) === 0) return false;
  (req as Stamped)[CLIENT] = unmappedIp(given);
  delete req.headers[FORWARDED_CLIENT_HEADER];
  return true;
}

/** The same for a socket's peer address (the boot fast path has no fastify request). */
export function unmappedIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
