import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

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
  return unmappedIp(request.ip);
}

/** The same for a socket's peer address (the boot fast path has no fastify request). */
export function unmappedIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
