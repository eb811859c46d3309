import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';

/** Script kinds the /ipxe route answers with (x-metalboot-script); anything else is "other". */
const SCRIPT_KINDS = new Set(['install', 'discovery', 'localboot', 'wipe', 'unavailable']);

/** The boot route a request hit, as a bounded label; null for the admin API, UI and the rest. */
export function bootRoute(req: FastifyRequest): string | null {
  const route = req.routeOptions.url;
  if (route === '/boot.ipxe' || route === '/ipxe' || route === '/config/:mac') return route;
  // A missing asset is answered by the not-found handler, which has no route: go by the path.
  if (route === '/assets/*' || (route === undefined && req.url.startsWith('/assets/'))) {
    const area = /^\/assets\/(talos|ipxe)\//.exec(req.url)?.[1];
    return area ? `/assets/${area}` : '/assets/other';
  }
  return null;
}

export function bootResult(route: string, req: FastifyRequest, reply: FastifyReply): string {
  // The client hung up before the last byte: a kernel download cut short is worth seeing.
  if (reply.raw.destroyed && !reply.raw.writableFinished) return 'aborted';
  return bootResultFor(route, reply.statusCode, req.method, String(reply.getHeader('x-metalboot-script') ?? ''));
}

/** The `result` label of a finished boot-route response (the fast path has no fastify reply). */
export function bootResultFor(route: string, status: number, method: string, scriptKind: string): string {
  if (route === '/ipxe') {
    return status === 200 ? (SCRIPT_KINDS.has(scriptKind) ? scriptKind : 'other') : status < 500 ? 'invalid' : 'error';
  }
  if (route === '/config/:mac') {
    if (status === 200) return 'delivered';
    if (status === 503) return 'invalid-config';
    return status < 500 ? 'refused' : 'error';
  }
  if (route.startsWith('/assets/')) {
    if (status === 200) return method === 'HEAD' ? 'head' : 'complete';
    if (status === 206) return 'partial';
    if (status === 304) return 'not-modified';
    if (status === 404) return 'not-found';
    return status < 500 ? 'refused' : 'error';
  }
  return status < 400 ? 'ok' : status < 500 ? 'refused' : 'error';
}

/**
 * Count boot-route requests on the root instance. A plain function rather than a plugin: a hook
 * added inside `register` would only see that plugin's own routes.
 */
export function installHttpMetrics(
  app: FastifyInstance,
  metrics: { httpBoot: Counter<'route' | 'status' | 'result'> },
): void {
  const counted = new WeakSet<object>();
  const count = (route: string, req: FastifyRequest, reply: FastifyReply) => {
    if (counted.has(reply.raw)) return;
    counted.add(reply.raw);
    metrics.httpBoot.inc({ route, status: String(reply.statusCode), result: bootResult(route, req, reply) });
  };
  // fastify runs onResponse when the response finishes (or fails to write); a client that hangs up
  // mid-download only closes it, so without this a kernel download cut short was never counted.
  // Asset routes only: scripts and configs are a single write, and the boot path stays lean.
  app.addHook('onRequest', (req, reply, done) => {
    const route = bootRoute(req);
    if (route?.startsWith('/assets/')) {
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) count(route, req, reply);
      });
    }
    done();
  });
  // Callback style, not async: an async hook would defer every later onResponse hook by a tick.
  app.addHook('onResponse', (req, reply, done) => {
    const route = bootRoute(req);
    if (route) count(route, req, reply);
    done();
  });
}

/** The boot-route counter: the same name in the primary and every HTTP worker, so /metrics sums them. */
export function httpBootCounter(registers: Registry[]): Counter<'route' | 'status' | 'result'> {
  return new Counter({
    name: 'metalboot_http_boot_requests_total',
    help: 'Requests to the boot routes (scripts, configs, assets), by route, status code and result (script kind for /ipxe)',
    labelNames: ['route', 'status', 'result'],
    registers,
  });
}
