import type { FastifyError, FastifyInstance } from 'fastify';
import {
  ConflictError,
  MetalbootError,
  NotFoundError,
  UnavailableError,
  UpstreamError,
  ValidationError,
} from '../core/errors.js';

/**
 * Retry-After (seconds) of a 503 for a store that cannot be reached: iPXE and Talos retry a 503,
 * and a database restart takes seconds, so soon.
 */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** Every error leaves as JSON `{error, message}`: scripts and the CLI can rely on the shape. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | MetalbootError, request, reply) => {
    if (err instanceof UnavailableError) {
      // Expected while the database is down, and one per request: a warning without a stack.
      request.log.warn({ error: err.message }, 'store unavailable; answered 503');
      return reply
        .code(503)
        .header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S))
        .header('cache-control', 'no-store')
        .send({ error: err.code, message: err.message });
    }
    if (err instanceof MetalbootError) {
      const status =
        err instanceof ValidationError
          ? 400
          : err instanceof NotFoundError
            ? 404
            : err instanceof ConflictError
              ? 409
              : err instanceof UpstreamError
                ? 502
                : 500;
      const body: Record<string, unknown> = { error: err.code, message: err.message };
      if (err instanceof ValidationError && err.field) body.field = err.field;
      return reply.code(status).send(body);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      // ajv says "must NOT have additional properties" without saying which: name it.
      const extra = fe.validation
        .map((v) =>
          v.keyword === 'additionalProperties'
            ? (v.params as { additionalProperty?: string }).additionalProperty
            : undefined,
        )
        .find(Boolean);
      const message = extra ? `${fe.message} ("${extra}" is not a field here)` : fe.message;
      return reply.code(400).send({ error: 'validation', message, ...(extra ? { field: extra } : {}) });
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // body too large, malformed JSON, unsupported media type…
      return reply.code(fe.statusCode).send({
        error: fe.code ? fe.code.replace(/^FST_(ERR_)?/, '').toLowerCase() : 'bad_request',
        message: fe.message,
      });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` });
  });
}
