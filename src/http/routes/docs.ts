import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { errorSchema } from '../schemas/common.js';

/**
 * One line per operation. Kept here rather than in each route file so the routes stay about
 * behaviour; a route missing from this table still appears in the document, only without a summary.
 */
const SUMMARIES: Record<string, string> = {
  'GET /healthz': 'Liveness: the process answers (200 also while the database is down), with the database’s health',
  'GET /readyz': 'Readiness: 200 when the database answers, else 503 with Retry-After',
  'GET /boot.ipxe': 'Generic iPXE script: chains to /ipxe with the machine’s MAC, UUID, serial, arch and platform',
  'GET /ipxe': 'Per-machine iPXE script: install, wipe, local boot, discovery retry or "unavailable"',
  'GET /config/{mac}': 'Machine config for Talos: needs the per-boot token from the script and the same source IP',
  'POST /api/v1/clusters': 'Create a cluster from talosctl’s controlplane.yaml and worker.yaml (plus patches)',
  'GET /api/v1/clusters': 'List clusters',
  'GET /api/v1/clusters/{name}': 'Show a cluster',
  'PUT /api/v1/clusters/{name}': 'Replace a cluster’s configs, patches and settings',
  'DELETE /api/v1/clusters/{name}': 'Delete a cluster (refused while machines use it)',
  'POST /api/v1/machines': 'Register a machine by MAC, or accept a discovered one',
  'GET /api/v1/machines': 'List machines (filter by state, cluster, label), each with its newest timeline event',
  'GET /api/v1/machines/{mac}': 'Show a machine',
  'PATCH /api/v1/machines/{mac}': 'Change a machine’s fields',
  'DELETE /api/v1/machines/{mac}': 'Forget a machine',
  'GET /api/v1/machines/{mac}/events': 'A machine’s timeline, oldest first (page with `after`)',
  'GET /api/v1/machines/{mac}/preview':
    'Dry run of a machine’s network boot (`metalboot doctor --mac`): what each hop would get, recording nothing; also for unknown MACs',
  'POST /api/v1/machines/{mac}/reimage':
    'Reinstall on the next network boot (wipes first); with `"power": "cycle"`, PXE once and a power cycle through the BMC',
  'DELETE /api/v1/machines/{mac}/reimage': 'Cancel a pending reimage',
  'GET /api/v1/machines/{mac}/progress':
    'Where a machine is and why: state, unmet conditions, failure, stall deadline, last events, kernel-log tail',
  'GET /api/v1/machines/{mac}/logs': 'A machine’s kernel-log tail as Talos streamed it',
  'POST /api/v1/machines/{mac}/power':
    'Power action through the machine’s BMC (on, off, cycle, reset, soft), or Wake-on-LAN without one (on only)',
  'GET /api/v1/machines/{mac}/power': 'Power state from the BMC (`unknown` for Wake-on-LAN) and what its driver can do',
  'POST /api/v1/machines/{mac}/boot-device': 'Boot from PXE or disk next time (or every time) through the BMC',
  'PUT /api/v1/machines/{mac}/bmc':
    'Set the machine’s BMC (IPMI or Redfish); the password is stored sealed, never shown',
  'DELETE /api/v1/machines/{mac}/bmc': 'Forget the machine’s BMC',
  'POST /api/v1/power/batches':
    'Power a selection (cluster or label) one machine after another, `staggerMs` apart; answers with the plan at once',
  'GET /api/v1/power/batches/{id}': 'How far a power batch got, machine by machine',
  'GET /api/v1/events/stream':
    'Live timeline events of all machines (or `?mac=`) as Server-Sent Events: `event: machine-event`, `data:` the event JSON',
  'GET /api/v1/audit': 'Audit log, newest first: API changes, config deliveries and refusals',
  'GET /api/v1/talos/stats': 'Counters of the Talos event and kernel-log listeners',
  'GET /api/v1/talos/unattributed': 'Talos events from addresses no machine is known by',
};

const TAGS = [
  { name: 'clusters', description: 'Talos clusters: base configs from talosctl, patches, version' },
  { name: 'machines', description: 'Machines by MAC: registration, state, timeline, actions' },
  { name: 'events', description: 'Live timeline events and the audit log' },
  { name: 'talos', description: 'What the Talos listeners received' },
  { name: 'boot', description: 'What firmware, iPXE and Talos fetch while booting (no admin token)' },
  { name: 'operations', description: 'Health and metrics' },
];

export function tagFor(url: string): string {
  if (url.startsWith('/api/v1/clusters')) return 'clusters';
  if (url.startsWith('/api/v1/machines')) return 'machines';
  if (url.startsWith('/api/v1/events') || url.startsWith('/api/v1/audit')) return 'events';
  if (url.startsWith('/api/v1/talos')) return 'talos';
  if (url.startsWith('/api/v1/')) return 'admin';
  if (url === '/healthz' || url === '/readyz' || url === '/metrics') return 'operations';
  return 'boot';
}

const unauthorized = { ...errorSchema, description: 'Missing or wrong API token' };
const SSE_RESPONSE = {
  200: {
    description:
      'A Server-Sent Events stream: `id:` event id, `event: machine-event`, `data:` {id, mac, at, kind, detail, sourceIp, state}; `:` heartbeats',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  },
};

/**
 * OpenAPI 3.1 (JSON Schema 2020-12, so the routes' `type: [..., 'null']` needs no rewriting)
 * generated from the route schemas, with Swagger UI at /docs and the document at /docs/json.
 * Registered before any route: @fastify/swagger learns routes from the onRoute hook.
 */
export async function registerDocs(app: FastifyInstance, opts: { version: string }): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'metalboot API',
        version: opts.version,
        description:
          'Admin API of metalboot, the network-boot provisioning server for Talos Linux. Everything under /api/v1 needs `Authorization: Bearer <token>` (the token is in data/api-token). Errors are JSON `{error, message, field?}`.',
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'The API token from data/api-token (or METALBOOT_API_TOKEN)',
          },
        },
      },
    },
    // Tags, summaries and security are decided by path, here, so route files need not repeat them.
    transform: ({ schema, url, route }) => {
      const s = (schema ?? {}) as FastifySchema & Record<string, unknown>;
      if (url.startsWith('/docs') || url.startsWith('/ui')) return { schema: { ...s, hide: true }, url };
      const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
      const summary = SUMMARIES[`${method} ${path}`];
      const out: Record<string, unknown> = { ...s, tags: (s.tags as string[] | undefined) ?? [tagFor(url)] };
      if (summary && !s.summary) out.summary = summary;
      if (url.startsWith('/api/v1/')) {
        out.security = [{ bearerAuth: [] }];
        const fallback =
          path === '/api/v1/events/stream'
            ? SSE_RESPONSE
            : { 200: { description: 'Success', type: 'object', additionalProperties: true } };
        out.response = { ...((s.response as Record<string, unknown> | undefined) ?? fallback), 401: unauthorized };
      }
      return { schema: out as FastifySchema, url };
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: false },
    staticCSP: true,
  });
}
