/**
 * The boot fast path (src/http/boot-fast-path.ts): /ipxe and /config/<mac> over a real socket are
 * answered before fastify, and must be indistinguishable from fastify's answers (inject) — status,
 * headers, body, audit, metrics, access log — while anything it is unsure of goes to fastify.
 */
import { captureLog } from '../helpers/log-capture.js';
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import type pino from 'pino';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { clusterBody, configUrlOf, makeApp, type TestApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:22';
const LOCAL = '127.0.0.1';
const SCRIPT = `/ipxe?mac=${encodeURIComponent(MAC)}&uuid=&serial=&arch=x86_64&platform=efi`;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: LOCAL, port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

async function listening(t: Test, logger?: pino.Logger) {
  const a = await makeApp(t, { logger });
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (
      await a.api('POST', '/api/v1/machines', {
        mac: MAC,
        hostname: 'w-1',
        role: 'worker',
        cluster: 'prod',
        installDisk: '/dev/sda',
      })
    ).status,
    201,
  );
  await a.app.listen({ host: LOCAL, port: 0 });
  return { a, port: (a.app.server.address() as AddressInfo).port };
}

/** The same request through fastify (inject), from the same address. */
const viaFastify = async (a: TestApp, path: string, method = 'GET'): Promise<Raw> => {
  const r = await a.app.inject({ method: method as 'GET', url: path, remoteAddress: LOCAL });
  return { status: r.statusCode, headers: r.headers as Raw['headers'], body: r.body };
};
const withoutToken = (s: string) => s.replace(/token=[A-Za-z0-9_-]+/g, 'token=T');
const sameHeaders = ['content-type', 'cache-control', 'x-metalboot-script', 'retry-after', 'content-length'];
const picked = (r: Raw) => Object.fromEntries(sameHeaders.map((h) => [h, r.headers[h]]));

t.test('script and config over a socket: answered by the fast path, as fastify answers them', async (t) => {
  const { a, port } = await listening(t);
  const before = a.app.bootFastPath.served;
  const script = await raw(port, SCRIPT);
  t.equal(script.status, 200, script.body);
  t.equal(script.headers['x-metalboot-script'], 'install');
  t.match(script.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  const config = await raw(port, configUrlOf(script.body));
  t.equal(config.status, 200, config.body);
  t.match(config.body, 'hostname: w-1');
  t.equal(a.app.bootFastPath.served, before + 2, 'both answered before fastify');

  const fScript = await viaFastify(a, SCRIPT);
  const fConfig = await viaFastify(a, configUrlOf(fScript.body));
  t.equal(a.app.bootFastPath.served, before + 2, 'inject does not go through it');
  t.equal(withoutToken(script.body), withoutToken(fScript.body), 'same script (but for the token)');
  t.same(picked(script), { ...picked(fScript), 'content-length': picked(script)['content-length'] }, 'same headers');
  t.equal(config.body, fConfig.body, 'same config');
  t.same(picked(config), picked(fConfig));
  t.equal(
    (await raw(port, configUrlOf(script.body))).status,
    403,
    "the fast path's token was revoked by the later boot, as always",
  );
});

t.test('refusals are the same JSON, on the audit log, whichever path answers', async (t) => {
  const { a, port } = await listening(t);
  const url = configUrlOf((await raw(port, SCRIPT)).body);
  const cases = [
    url.replace(/token=.{6}/, 'token=AAAAAA'),
    `/config/${MAC}`,
    '/config/aa:bb:cc:00:99:99?token=x',
    `/config/${encodeURIComponent(MAC)}?token=nope`,
  ];
  for (const path of cases) {
    const served = a.app.bootFastPath.served;
    const fast = await raw(port, path);
    t.equal(a.app.bootFastPath.served, served + 1, `${path}: fast path`);
    const slow = await viaFastify(a, path);
    t.equal(fast.status, slow.status, path);
    t.equal(fast.body, slow.body, path);
    t.same(picked(fast), picked(slow), path);
  }
  const refused = (await a.api('GET', '/api/v1/audit?limit=100')).json.items.filter(
    (e: { action: string }) => e.action === 'config.refused',
  );
  // Coalesced: one entry per source and reason per minute, its count covering both paths.
  t.equal(
    refused.reduce((n: number, e: { detail: { count: number } }) => n + e.detail.count, 0),
    cases.length * 2,
    'every refusal counted, both ways',
  );
  t.same(refused.map((e: { detail: { reason: string } }) => e.detail.reason).sort(), [
    'no token',
    'unknown machine',
    'wrong token',
  ]);
});

t.test('what the fast path is not sure of is answered by fastify', async (t) => {
  const { a, port } = await listening(t);
  const cases: Array<[string, string?]> = [
    ['/ipxe?mac=zz'],
    ['/ipxe'],
    [`/ipxe?mac=${MAC}&mac=${MAC}`],
    [`/ipxe?mac=${MAC}&arch=sparc`],
    [`/ipxe?mac=${MAC}&serial=${'x'.repeat(129)}`],
    [`/ipxe/?mac=${MAC}`],
    [SCRIPT, 'HEAD'],
    [SCRIPT, 'POST'],
    ['/config/'],
    ['/config/a/b?token=x'],
    [`/config/${'a'.repeat(65)}?token=x`],
    ['/config/%zz?token=x'],
    [`/config/${MAC}?token=${'t'.repeat(257)}`],
    [`/config/${MAC}?token=a&token=b`],
  ];
  for (const [path, method] of cases) {
    const served = a.app.bootFastPath.served;
    const fast = await raw(port, path, { method });
    t.equal(a.app.bootFastPath.served, served, `${method ?? 'GET'} ${path}: left to fastify`);
    if (method !== 'HEAD') t.not(fast.status, 200, `${method ?? 'GET'} ${path} is refused`.slice(0, 80)); // fastify answers HEAD from the GET route
    const slow = await viaFastify(a, path, method);
    t.equal(fast.status, slow.status, path);
    t.equal(fast.body, slow.body, path);
  }
  const served = a.app.bootFastPath.served;
  t.equal(
    (await raw(port, `/ipxe?mac=${MAC.toUpperCase().replace(/:/g, '-')}&extra=1`)).status,
    200,
    'other spellings and unknown keys: still fast',
  );
  t.equal(a.app.bootFastPath.served, served + 1);
});

t.test('committed before the answer; request id, metrics and the access-log line as fastify writes them', async (t) => {
  const log = captureLog('info');
  const { a, port } = await listening(t, log.logger);
  const script = await raw(port, SCRIPT, { headers: { 'x-request-id': 'boot-42' } });
  t.equal(script.headers['x-request-id'], 'boot-42', "a sane caller's id is kept");
  const config = await raw(port, configUrlOf(script.body));
  t.equal(config.status, 200);
  // Another connection to the file sees the delivery the moment the answer arrived.
  const other = new Database(join(a.dir, 'data', 'metalboot.db'), { readonly: true });
  t.teardown(() => other.close());
  t.equal(
    other.prepare<[], { n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'config.delivered'").get()!.n,
    1,
    'the delivery is committed',
  );

  await raw(port, '/boot.ipxe'); // answered by fastify, over the socket too: the log line's shape
  const done = log.lines().filter((l) => l.msg === 'request completed');
  const fast = done.find((l) => l.req.url.startsWith('/config/'))!;
  const slow = done.find((l) => l.req.url === '/boot.ipxe')!;
  t.same(Object.keys(fast).sort(), Object.keys(slow).sort(), 'same fields');
  t.same(Object.keys(fast.req).sort(), Object.keys(slow.req).sort());
  t.match(
    fast,
    { req: { method: 'GET', url: `/config/${MAC}?token=[redacted]`, remoteAddress: LOCAL }, res: { statusCode: 200 } },
    'the token is not logged',
  );
  t.equal(done.find((l) => l.req.url.startsWith('/ipxe'))?.reqId, 'boot-42', 'the id is on the line');

  const metrics = (await a.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /metalboot_http_boot_requests_total\{route="\/ipxe",status="200",result="install"\} 1\n/);
  t.match(metrics, /metalboot_http_boot_requests_total\{route="\/config\/:mac",status="200",result="delivered"\} 1\n/);
});

t.test('a failure inside the core: a 500 in the usual shape, logged, and the server goes on', async (t) => {
  const log = captureLog('info');
  const { a, port } = await listening(t, log.logger);
  const original = a.core.boot.machineScript.bind(a.core.boot);
  a.core.boot.machineScript = async () => {
    throw new Error('disk on fire');
  };
  const failed = await raw(port, SCRIPT);
  t.equal(failed.status, 500);
  t.same(JSON.parse(failed.body), { error: 'internal', message: 'internal error; see the server log' });
  t.match(log.text(), /"msg":"request failed"/);
  t.match(log.text(), /disk on fire/);
  a.core.boot.machineScript = original;
  t.equal((await raw(port, SCRIPT)).status, 200, 'next request served');
});
