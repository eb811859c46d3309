import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { buildHttpApp } from '../../src/http/app.js';
import { genReqId, redactUrl } from '../../src/http/request-log.js';
import { createLogger, parseLogFormat } from '../../src/support/logging.js';
import { TOKEN, makeApp } from '../helpers/core-app.js';

/** A stream that keeps what is written; `isTTY` as a terminal would report it. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => chunks.join('') };
}

t.test('JSON lines unless on a terminal', async (t) => {
  const file = sink(false);
  createLogger({ destination: file.stream }).info({ adapter: 'http' }, 'hello');
  await new Promise((r) => setImmediate(r));
  const line = JSON.parse(file.text().trim());
  t.match(line, { level: 30, msg: 'hello', adapter: 'http' });

  const tty = sink(true);
  createLogger({ destination: tty.stream }).info({ adapter: 'dhcp', mac: 'aa:bb' }, 'offer sent');
  const out = tty.text();
  t.match(out, /INFO/);
  t.match(out, '[dhcp] offer sent');
  t.throws(() => JSON.parse(out), 'human-readable, not JSON');

  const forced = sink(true);
  createLogger({ destination: forced.stream, format: 'json', level: 'warn' }).warn('w');
  await new Promise((r) => setImmediate(r));
  t.match(JSON.parse(forced.text().trim()), { level: 40, msg: 'w' }, 'json can be forced');
  const pretty = sink(false);
  createLogger({ destination: pretty.stream, format: 'pretty' }).info('p');
  t.match(pretty.text(), /INFO.*p/);
  t.equal(parseLogFormat(undefined), 'auto');
  t.equal(parseLogFormat('JSON'), 'json');
  t.throws(() => parseLogFormat('xml'), /auto, json or pretty/);
});

t.test('request ids: generated, or kept when sane; returned in the response', async (t) => {
  const { app } = await makeApp(t);
  const a = await app.inject({ url: '/healthz' });
  t.match(a.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  t.not((await app.inject({ url: '/healthz' })).headers['x-request-id'], a.headers['x-request-id'], 'unique');
  t.equal(
    (await app.inject({ url: '/healthz', headers: { 'x-request-id': 'cli-1234.abc' } })).headers['x-request-id'],
    'cli-1234.abc',
  );
  t.match(
    (await app.inject({ url: '/healthz', headers: { 'x-request-id': 'x'.repeat(300) } })).headers['x-request-id'],
    /^[0-9a-f-]{36}$/,
  );
  t.match(genReqId({ headers: { 'x-request-id': 'a b<c>' } } as never), /^[0-9a-f-]{36}$/);
});

t.test('request logs carry the id and never a config token', async (t) => {
  const a = await makeApp(t);
  const out = sink(false);
  const logger = pino({ level: 'info' }, out.stream);
  const app = await buildHttpApp({
    core: a.core,
    apiToken: TOKEN,
    assetsDir: a.assetsDir,
    logger: logger.child({ adapter: 'http' }),
  });
  t.teardown(() => app.close());
  await app.inject({
    url: '/config/aa:bb:cc:00:11:22?token=SECRET-TOKEN-VALUE&x=1',
    headers: { 'x-request-id': 'req-abc' },
  });
  await new Promise((r) => setImmediate(r));
  const lines = out
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const requestLines = lines.filter((l) => l.reqId === 'req-abc' && l.req);
  t.equal(requestLines.length, 1, 'one line per request');
  t.match(requestLines[0], {
    msg: 'request completed',
    adapter: 'http',
    req: { method: 'GET', url: '/config/aa:bb:cc:00:11:22?token=[redacted]&x=1' },
    res: { statusCode: 404 },
    responseTime: Number,
  });
  t.notMatch(out.text(), 'SECRET-TOKEN-VALUE');
  t.equal(redactUrl('/a?x=1&access_token=abc#f'), '/a?x=1&access_token=[redacted]#f');
});
