import t from 'tap';
import { tagFor } from '../../src/http/routes/docs.js';
import { makeApp } from '../helpers/core-app.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

t.test('OpenAPI document generated from the route schemas', async (t) => {
  const { app } = await makeApp(t);
  const res = await app.inject({ url: '/docs/json' });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  t.equal(doc.openapi, '3.1.0');
  t.match(doc.info, { title: 'metalboot API', version: /^\d+\.\d+\.\d+/ });
  t.same(doc.components.securitySchemes.bearerAuth, {
    type: 'http',
    scheme: 'bearer',
    description: doc.components.securitySchemes.bearerAuth.description,
  });

  const ops: Array<{ path: string; method: string; op: any }> = [];
  for (const [path, item] of Object.entries<any>(doc.paths))
    for (const method of METHODS) if (item[method]) ops.push({ path, method, op: item[method] });
  for (const { path, method, op } of ops.filter((o) => o.path.startsWith('/api/v1/'))) {
    t.same(op.security, [{ bearerAuth: [] }], `${method} ${path} needs the token`);
    t.ok(op.responses['401'], `${method} ${path} documents 401`);
    t.ok(op.tags?.length, `${method} ${path} tagged`);
  }
  for (const { path, op } of ops.filter((o) => !o.path.startsWith('/api/v1/')))
    t.notOk(op.security, `${path} needs no token`);
  t.notOk(
    Object.keys(doc.paths).some((p) => p.startsWith('/ui') || p.startsWith('/docs') || p === '/'),
    'UI and docs routes hidden',
  );

  const create = doc.paths['/api/v1/machines'].post;
  t.match(create.summary, /Register a machine/);
  t.same(
    create.requestBody.content['application/json'].schema.required,
    ['mac', 'hostname', 'role', 'cluster'],
    'body schema from the route',
  );
  t.ok(create.responses['201'].content['application/json'].schema.properties.state.enum.includes('stalled'));
  t.match(doc.paths['/config/{mac}'].get, { tags: ['boot'], summary: /per-boot token/ });
  const preview = doc.paths['/api/v1/machines/{mac}/preview'].get;
  t.match(preview, { tags: ['machines'], summary: /Dry run/ });
  t.same(
    preview.parameters
      .filter((p: any) => p.in === 'query')
      .map((p: any) => p.name)
      .sort(),
    ['arch', 'config', 'ipxe'],
  );
  t.ok(preview.responses['200'].content['application/json'].schema.properties.hops, 'the preview documented');
  const machinesPage = doc.paths['/api/v1/machines'].get.responses['200'].content['application/json'].schema;
  t.ok(machinesPage.properties.items.items.properties.lastEvent, 'lastEvent documented');
  // Every list endpoint documents its page: `items`, `next`, and the `limit` and `cursor` parameters.
  for (const path of [
    '/api/v1/machines',
    '/api/v1/clusters',
    '/api/v1/machines/{mac}/events',
    '/api/v1/audit',
    '/api/v1/talos/unattributed',
  ]) {
    const get = doc.paths[path].get;
    const schema = get.responses['200'].content['application/json'].schema;
    t.equal(schema.properties.items.type, 'array', `${path}: items`);
    t.same(schema.properties.next.type, ['string', 'null'], `${path}: next`);
    t.ok(
      ['limit', 'cursor'].every((n) => get.parameters.some((p: any) => p.in === 'query' && p.name === n)),
      `${path}: limit and cursor`,
    );
  }
  t.ok(doc.paths['/api/v1/machines/{mac}/events'].get.parameters.some((p: any) => p.in === 'path' && p.name === 'mac'));
  t.ok(
    doc.paths['/api/v1/events/stream'].get.responses['200'].content['text/event-stream'],
    'SSE documented as a stream',
  );
  t.equal(doc.paths['/metrics'].get.tags[0], 'operations');
});

t.test('Swagger UI at /docs', async (t) => {
  const { app } = await makeApp(t);
  const page = await app.inject({ url: '/docs' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], 'text/html');
  t.match(page.body, /swagger-ui/i);
  t.match(page.headers['content-security-policy'], "script-src 'self'", 'static CSP');
  t.equal(
    (await app.inject({ url: '/docs/static/swagger-initializer.js' })).statusCode,
    200,
    'assets served from the package',
  );
  t.equal((await app.inject({ url: '/docs/json', headers: {} })).statusCode, 200, 'no token to read the document');
});

t.test('tags by path', async (t) => {
  t.equal(tagFor('/api/v1/clusters/:name'), 'clusters');
  t.equal(tagFor('/api/v1/audit'), 'events');
  t.equal(tagFor('/api/v1/talos/stats'), 'talos');
  t.equal(tagFor('/api/v1/other'), 'admin');
  t.equal(tagFor('/healthz'), 'operations');
  t.equal(tagFor('/ipxe'), 'boot');
});
