import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_CSS, APP_JS, ASSET_VERSION, VERSION, renderPage } from '../ui/index.js';

/**
 * The page may load only its own script and stylesheet and talk only to this server. Should a
 * hostname or kernel-log line ever slip past the script's text-only rendering, an injected
 * <script> or inline handler still does not run.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function hardened(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer');
}

/**
 * The dashboard at /ui (no token to load the page: it holds no data; the data comes from
 * /api/v1 with the token the operator types in). Script and stylesheet are revalidated on each
 * load (no-cache + ETag) so an upgraded server never runs against a stale script.
 */
export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const page = renderPage({ version: VERSION, assetVersion: ASSET_VERSION });
  const etag = `"${ASSET_VERSION}"`;
  const hide = { schema: { hide: true } };

  const asset = (type: string, body: string) => (req: FastifyRequest, reply: FastifyReply) => {
    hardened(reply).header('cache-control', 'no-cache').header('etag', etag).type(type);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(body);
  };

  app.get('/', hide, (_req, reply) => reply.redirect('/ui', 302));
  app.get('/ui/', hide, (_req, reply) => reply.redirect('/ui', 301));
  app.get('/ui', hide, (_req, reply) =>
    hardened(reply).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page),
  );
  app.get('/ui/app.js', hide, asset('text/javascript; charset=utf-8', APP_JS));
  app.get('/ui/app.css', hide, asset('text/css; charset=utf-8', APP_CSS));
}
