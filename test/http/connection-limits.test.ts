// Connection limits on real sockets over loopback: thousands of idle and slow connections from
// one address (127.0.0.1) while another address (127.0.0.2, also loopback on Linux) is served;
// caps answer 503 + Retry-After and release their count on close; the timeouts close what is idle
// or slow. No timing is asserted: every wait is a loop bounded in count and time.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import type { HttpLimits } from '../../src/http/connection-limits.js';
import { makeApp, TOKEN } from '../helpers/core-app.js';

const LONG = 60_000;
const OTHER = '127.0.0.2';

/** How many sockets this process may open (node raises its soft limit to the hard one at start). */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s{2,}/)[1]);
  return Number.isFinite(soft) ? soft : 1024;
}
/** Each test connection costs two descriptors here (client and server side); keep 500 for the rest. */
const CONNECTIONS = Math.min(3000, Math.floor((openFileLimit() - 500) / 2));

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  for (let waited = 0; waited <= timeoutMs; waited += 100) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting (${timeoutMs} ms) for: ${what}`);
}

interface Probe {
  socket: net.Socket;
  received: string;
  closed: boolean;
}

/** Opens a connection from `localAddress`, collecting what it receives; resolves once connected. */
function connect(port: number, localAddress: string, onConnect?: (s: net.Socket) => void): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const probe: Probe = {
      socket: net.connect({ host: '127.0.0.1', port, localAddress }),
      received: '',
      closed: false,
    };
    probe.socket.setEncoding('latin1');
    probe.socket.on('data', (d: string) => {
      if (probe.received.length < 4096) probe.received += d;
    });
    probe.socket.on('error', () => undefined);
    probe.socket.on('close', () => (probe.closed = true));
    probe.socket.once('connect', () => {
      onConnect?.(probe.socket);
      resolve(probe);
    });
    probe.socket.once('error', reject);
  });
}

/** Connections opened in batches: a SYN flood past the listen backlog is not what is tested here. */
async function connectMany(
  n: number,
  port: number,
  from: string,
  onConnect?: (s: net.Socket) => void,
): Promise<Probe[]> {
  const all: Probe[] = [];
  for (let i = 0; i < n; i += 200)
    all.push(
      ...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => connect(port, from, onConnect)))),
    );
  return all;
}

function get(
  port: number,
  path: string,
  localAddress: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, localAddress, agent: false, headers: { connection: 'close' }, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} from ${localAddress}: no answer`)));
    req.on('error', reject);
  });
}

async function listening(t: Test, limits: HttpLimits) {
  const { app } = await makeApp(t, { limits });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as net.AddressInfo).port, gate: app.connectionGate };
}

t.test(
  `caps: ${CONNECTIONS} idle connections from one address get 503 + Retry-After past its cap; another address is served; counts are released on close`,
  async (t) => {
    t.ok(CONNECTIONS >= 1000, `the open-file limit (${openFileLimit()}) allows thousands of test connections`);
    const perSource = 100;
    const total = 150;
    const { port, gate } = await listening(t, {
      headerTimeoutMs: LONG,
      bodyTimeoutMs: LONG,
      keepAliveTimeoutMs: 30_000,
      sendTimeoutMs: LONG,
      maxConnections: total,
      maxConnectionsPerSource: perSource,
    });
    const flood = await connectMany(CONNECTIONS, port, '127.0.0.1');
    t.teardown(() => flood.forEach((p) => p.socket.destroy()));
    const refused = () => flood.filter((p) => p.received.startsWith('HTTP/1.1 503'));
    await until(
      'every connection past the per-source cap answered 503',
      () => refused().length === CONNECTIONS - perSource && refused().every((p) => p.closed),
    );
    t.equal(gate.openFrom('127.0.0.1'), perSource, 'the flooding address holds exactly its cap');
    t.ok(
      refused().every(
        (p) =>
          /\r\nRetry-After: 5\r\n/.test(p.received) &&
          /127\.0\.0\.1 holds its maximum of 100 connections/.test(p.received),
      ),
      'every refusal says Retry-After and why',
    );
    t.equal(
      flood.filter((p) => p.received === '').length,
      perSource,
      'the admitted connections are untouched (idle, not yet past the header timeout)',
    );

    const health = await get(port, '/healthz', OTHER);
    t.equal(health.status, 200, `${OTHER} is served /healthz during the flood`);
    const script = await get(port, '/ipxe?mac=52:54:00:aa:bb:01', OTHER);
    t.equal(script.status, 200, `${OTHER} is served /ipxe during the flood`);
    t.match(script.body, /^#!ipxe/);

    // The total cap: another address fills the rest, then a third one is refused too.
    const third = await connectMany(total - perSource, port, '127.0.0.3');
    t.teardown(() => third.forEach((p) => p.socket.destroy()));
    await until('the third address is admitted', () => gate.stats().open === total);
    const full = await get(port, '/healthz', '127.0.0.4');
    t.equal(full.status, 503, 'past the total cap every address gets 503');
    t.equal(full.headers['retry-after'], '5');
    t.match(JSON.parse(full.body), {
      error: 'too_many_connections',
      message: /server holds its maximum of 150 connections/,
    });

    // Released on close however the client leaves: half hang up, half reset.
    const admitted = flood.filter((p) => p.received === '');
    admitted.forEach((p, i) => (i % 2 ? p.socket.end() : p.socket.resetAndDestroy()));
    await until('the flooding address is released', () => gate.openFrom('127.0.0.1') === 0);
    third.forEach((p) => p.socket.destroy());
    await until('every count is released', () => gate.stats().open === 0);
    t.match(gate.stats(), { open: 0, sources: 0 }, 'no count and no source entry is left behind');
    t.equal((await get(port, '/healthz', '127.0.0.1')).status, 200, 'the address that flooded is served again');
    t.ok(
      gate.stats().refused['per-source'] >= CONNECTIONS - perSource && gate.stats().refused.total >= 1,
      'refusals are counted by cap',
    );
    const metrics = (await get(port, '/metrics', '127.0.0.1')).body;
    t.match(
      metrics,
      `metalboot_http_connections_refused_total{cap="per-source"} ${gate.stats().refused['per-source']}`,
      'and exported per cap',
    );
    t.match(metrics, /metalboot_http_connections_refused_total\{cap="total"\} [1-9]/);
    t.match(metrics, /metalboot_http_connections_open 1\n/, 'the scrape itself is the one open connection');
  },
);

t.test(
  `timeouts: ${CONNECTIONS} idle, slow-body, dribbling and keep-alive connections are closed by the server; another address is served meanwhile`,
  async (t) => {
    const { port, gate } = await listening(t, {
      headerTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      keepAliveTimeoutMs: 1000,
      sendTimeoutMs: 1000,
      maxConnections: 10_000,
      maxConnectionsPerSource: 10_000,
    });
    const dribblers = 50;
    const keepAlive = 50;
    const rest = CONNECTIONS - dribblers - keepAlive;
    const idle = await connectMany(Math.floor(rest / 2), port, '127.0.0.1');
    // A request that announces a body and sends a little of it, then nothing.
    const slowBody = await connectMany(rest - idle.length, port, '127.0.0.1', (s) =>
      s.write(
        `POST /api/v1/clusters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`,
      ),
    );
    // Headers one byte at a time, every 100 ms, never finished: always active, so only the header
    // timeout (a total, not an inactivity limit) can end these.
    const timers: NodeJS.Timeout[] = [];
    t.teardown(() => timers.forEach(clearInterval));
    const dribbling = await connectMany(dribblers, port, '127.0.0.1', (s) => {
      s.write('GET /healthz HTTP/1.1\r\n');
      let sent = 0;
      const timer = setInterval(() => (s.destroyed || ++sent > 600 ? clearInterval(timer) : s.write('X')), 100);
      timers.push(timer);
    });
    // A complete request, answered, then silence on the kept-alive connection.
    const kept = await connectMany(keepAlive, port, '127.0.0.1', (s) =>
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    const all = [...idle, ...slowBody, ...dribbling, ...kept];
    t.teardown(() => all.forEach((p) => p.socket.destroy()));
    t.equal(all.length, CONNECTIONS);

    t.equal((await get(port, '/healthz', OTHER)).status, 200, `${OTHER} is served while they are open`);
    await until('the server closed every idle and slow connection', () => all.every((p) => p.closed), 60_000);
    t.ok(
      dribbling.every((p) => p.received.startsWith('HTTP/1.1 408')),
      'dribbled headers end with 408 (the header timeout is a total)',
    );
    t.ok(
      kept.every((p) => /^HTTP\/1\.1 200/.test(p.received) && /keep-alive/i.test(p.received)),
      'the keep-alive connections were answered and kept alive before they idled out',
    );
    t.ok(
      slowBody.every((p) => !p.received.startsWith('HTTP/1.1 2')),
      'no slow body reached a handler',
    );
    await until('every count is released', () => gate.stats().open === 0);
    t.equal(gate.stats().sources, 0);
  },
);
