/**
 * The pieces of `--http-workers` that need no processes: the client-address header is believed on
 * the internal listener only (in one process it is ignored), the proxy keeps hop-by-hop headers on
 * their hop, caps are divided among workers, and the setting's parser.
 */
import t from 'tap';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { clientIp, FORWARDED_CLIENT_HEADER, trustForwardedClient } from '../../src/http/auth.js';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/connection-limits.js';
import { divideLimits } from '../../src/http/workers/ipc.js';
import { endToEnd } from '../../src/http/workers/proxy.js';
import { parseHttpWorkers } from '../../src/settings/settings.js';
import { resolveDoctorSettings, workersCheck } from '../../src/doctor/settings.js';
import { clusterBody, configUrlOf, makeApp } from '../helpers/core-app.js';

const MAC = '52:54:00:aa:17:02';
const IP = '10.9.0.60';

t.test('one process: the client-address header from the public port is ignored', async (t) => {
  const { api, get } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await api('POST', '/api/v1/machines', { mac: MAC, hostname: 'w-2', role: 'worker', cluster: 'prod' })).status,
    201,
  );
  const forged = { [FORWARDED_CLIENT_HEADER]: '10.9.0.99' };
  const script = await get(`/ipxe?mac=${MAC}&arch=x86_64&platform=efi`, IP, forged);
  t.equal(script.headers['x-metalboot-script'], 'install');
  const url = configUrlOf(script.body);
  const stolen = await get(url, '10.9.0.99', { [FORWARDED_CLIENT_HEADER]: IP });
  t.equal(stolen.statusCode, 403, 'naming the machine address in the header does not help');
  t.match(stolen.body, 'request from 10.9.0.99');
  t.equal((await get(url, IP)).statusCode, 200, 'the token is bound to the real source');
});

t.test('the internal listener believes the header; a message without it names the socket peer', async (t) => {
  const req = new IncomingMessage(new Socket());
  t.equal(clientIp(req), '', 'a socket with no peer');
  req.headers[FORWARDED_CLIENT_HEADER] = '::ffff:10.1.2.3';
  t.ok(trustForwardedClient(req));
  t.equal(clientIp(req), '10.1.2.3', 'unmapped, as a socket address is');
  t.equal(req.headers[FORWARDED_CLIENT_HEADER], undefined, 'and removed');
  const bad = new IncomingMessage(new Socket());
  bad.headers[FORWARDED_CLIENT_HEADER] = 'not-an-address';
  t.notOk(trustForwardedClient(bad), 'an address or nothing');
  t.notOk(trustForwardedClient(new IncomingMessage(new Socket())), 'no header: refused');
});

t.test('the proxy drops hop-by-hop headers, those Connection names, and the address header', async (t) => {
  const raw = [
    'Host', 'a', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5',
    'Transfer-Encoding', 'chunked', 'Range', 'bytes=0-1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2',
    FORWARDED_CLIENT_HEADER, '10.0.0.1',
  ]; // biome-ignore format: pairs
  t.same(endToEnd(raw, FORWARDED_CLIENT_HEADER), [
    'Host',
    'a',
    'Range',
    'bytes=0-1',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
  ]);
});

t.test('connection caps are shared among the workers, never switched off', async (t) => {
  const two = divideLimits(DEFAULT_HTTP_LIMITS, 2);
  t.equal(two.maxConnections, DEFAULT_HTTP_LIMITS.maxConnections / 2);
  t.equal(two.maxConnectionsPerSource, DEFAULT_HTTP_LIMITS.maxConnectionsPerSource / 2);
  t.equal(two.sendTimeoutMs, DEFAULT_HTTP_LIMITS.sendTimeoutMs, 'timeouts unchanged');
  const three = divideLimits({ ...DEFAULT_HTTP_LIMITS, maxConnectionsPerSource: 64 }, 3);
  t.equal(three.maxConnectionsPerSource * 3 <= 64, true, 'together never above the cap');
  t.equal(divideLimits({ ...DEFAULT_HTTP_LIMITS, maxConnectionsPerSource: 1 }, 4).maxConnectionsPerSource, 1);
});

t.test('--http-workers: default one per CPU, 1 to 64', async (t) => {
  t.equal(parseHttpWorkers(undefined, 6), 1, 'one process unless asked');
  t.equal(parseHttpWorkers('', 6), 1);
  t.equal(parseHttpWorkers('auto', 6), 6, 'auto: one per CPU');
  t.equal(parseHttpWorkers('auto', 200), 64);
  t.equal(parseHttpWorkers('1', 6), 1);
  t.equal(parseHttpWorkers(' 4 ', 6), 4);
  for (const bad of ['0', '-1', '1.5', 'two', '65']) t.throws(() => parseHttpWorkers(bad, 2), /--http-workers must be/);
});

t.test('doctor shows the worker count and each worker share of the caps', async (t) => {
  const inputs = {
    listen: ':9000',
    dhcp: 'off',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: 't',
    discoveryRetry: '30',
  };
  const two = resolveDoctorSettings({ ...inputs, httpWorkers: '2' }).settings;
  t.equal(two.httpWorkers, 2);
  t.match(workersCheck(two), {
    status: 'info',
    message: /^HTTP workers: 2 processes .*2048 connections, 32 per source$/,
  });
  const one = resolveDoctorSettings({ ...inputs, httpWorkers: '1' }).settings;
  t.match(workersCheck(one).message, /^HTTP workers: 1 /);
  const bad = resolveDoctorSettings({ ...inputs, httpWorkers: '0' });
  t.match(bad.checks, [{ status: 'fail', message: /--http-workers must be/ }], 'what serve refuses, doctor fails');
});
