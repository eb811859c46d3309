// The connection-limit settings (flags → limits) and the gate's bookkeeping without a flood.
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { ConnectionGate, DEFAULT_HTTP_LIMITS, validateHttpLimits } from '../../src/http/connection-limits.js';
import {
  DEFAULT_CONNECTION_LIMITS,
  describeConnectionLimits,
  parseConnectionLimits,
} from '../../src/settings/limit-settings.js';

t.test('settings: defaults, seconds to ms, and refusals that name the flag', async (t) => {
  t.same(parseConnectionLimits({}), DEFAULT_CONNECTION_LIMITS, 'nothing given: the defaults');
  t.match(DEFAULT_HTTP_LIMITS, {
    headerTimeoutMs: 60_000,
    bodyTimeoutMs: 60_000,
    keepAliveTimeoutMs: 30_000,
    sendTimeoutMs: 60_000,
    maxConnections: 4096,
    maxConnectionsPerSource: 64,
  });
  t.equal(DEFAULT_CONNECTION_LIMITS.tftpMaxTransfersPerSource, 8);
  t.same(
    parseConnectionLimits({
      httpHeaderTimeout: '10',
      httpBodyTimeout: '20',
      httpKeepaliveTimeout: '75',
      httpSendTimeout: ' 30 ',
      httpMaxConnections: '500',
      httpMaxConnectionsPerSource: '500',
      tftpMaxTransfersPerSource: '2',
    }),
    {
      http: {
        headerTimeoutMs: 10_000,
        bodyTimeoutMs: 20_000,
        keepAliveTimeoutMs: 75_000,
        sendTimeoutMs: 30_000,
        maxConnections: 500,
        maxConnectionsPerSource: 500,
      },
      tftpMaxTransfersPerSource: 2,
    },
  );
  const refusals: Array<[Record<string, string>, RegExp]> = [
    [{ httpHeaderTimeout: '0' }, /--http-header-timeout must be a whole number from 1 to 3600, got "0"/],
    [{ httpBodyTimeout: '-5' }, /--http-body-timeout/],
    [{ httpSendTimeout: '1.5' }, /--http-send-timeout/],
    [{ httpKeepaliveTimeout: '76' }, /--http-keepalive-timeout must be a whole number from 1 to 75/],
    [{ httpMaxConnections: 'lots' }, /--http-max-connections must be/],
    [{ httpMaxConnectionsPerSource: '' }, /--http-max-connections-per-source must be/],
    [{ tftpMaxTransfersPerSource: '0' }, /--tftp-max-transfers-per-source must be/],
    [
      { httpMaxConnections: '10', httpMaxConnectionsPerSource: '11' },
      /--http-max-connections-per-source \(11\) must not exceed --http-max-connections \(10\)/,
    ],
  ];
  for (const [input, message] of refusals)
    t.throws(() => parseConnectionLimits(input), { message }, JSON.stringify(input));
  t.equal(
    describeConnectionLimits(DEFAULT_CONNECTION_LIMITS),
    'HTTP: header 60 s, body idle 60 s, keep-alive 30 s, download idle 60 s, 4096 connections (64 per source); TFTP: 8 transfers per source',
  );
});

t.test('validateHttpLimits refuses limits that are off or defeat each other', async (t) => {
  t.throws(
    () => validateHttpLimits({ ...DEFAULT_HTTP_LIMITS, sendTimeoutMs: 0 }),
    /sendTimeoutMs must be a positive integer/,
  );
  t.throws(() => validateHttpLimits({ ...DEFAULT_HTTP_LIMITS, keepAliveTimeoutMs: 90_000 }), /at most 75 s/);
  t.throws(
    () => validateHttpLimits({ ...DEFAULT_HTTP_LIMITS, maxConnections: 10, maxConnectionsPerSource: 20 }),
    /must not exceed the total/,
  );
  t.same(validateHttpLimits({ ...DEFAULT_HTTP_LIMITS }), DEFAULT_HTTP_LIMITS);
});

t.test(
  'gate: a socket gone before it is seen is dropped; refusals are logged once per interval with a count',
  async (t) => {
    const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    let now = 0;
    const gate = new ConnectionGate(
      { maxConnections: 10, maxConnectionsPerSource: 1 },
      { warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) },
      () => now,
    );
    const server = http.createServer((_req, res) => res.end('ok'));
    gate.install(server);
    t.equal(server.listenerCount('connection'), 1, "the gate stands in for node's own connection listener");

    const gone = new net.Socket(); // never connected: no peer address
    gone.destroy();
    server.emit('connection', gone);
    t.match(gate.stats(), { open: 0, sources: 0 }, 'nothing counted for it');

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as net.AddressInfo).port;
    const open = () =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', () => undefined);
      });
    const first = await open();
    const answered = (s: net.Socket) =>
      new Promise<string>((resolve) => {
        let got = '';
        s.setEncoding('latin1');
        s.on('data', (d: string) => (got += d));
        s.on('close', () => resolve(got));
      });
    t.match(await answered(await open()), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    t.equal(lines.length, 1, 'the first refusal is logged');
    t.match(lines[0], {
      obj: { source: '127.0.0.1', reason: 'per-source', refusedPerSourceCap: 1 },
      msg: /past the per-source cap of 1/,
    });
    now += 1000;
    await answered(await open());
    await answered(await open());
    t.equal(lines.length, 1, 'refusals within the interval are only counted');
    now += 10_000;
    await answered(await open());
    t.equal(lines.length, 2);
    t.match(
      lines[1],
      { obj: { refusedPerSourceCap: 3, refusedTotalCap: 0 } },
      'the next line carries the count since the last one',
    );
    t.equal(gate.openFrom('::ffff:127.0.0.1'), 1, 'an IPv4-mapped address is the same source');
    first.destroy();
    for (let i = 0; i < 100 && gate.stats().open > 0; i++) await new Promise((r) => setTimeout(r, 20));
    t.match(gate.stats(), { open: 0, sources: 0, refused: { 'per-source': 4, total: 0 } });
  },
);
