import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  BufferPool,
  parseRange,
  resolveUnder,
  sendFile,
  sharedPool,
  type SendOutcome,
} from '../../src/http/file-sender.js';
import { isWithin } from '../../src/support/real-path.js';
import { TALOS_VERSION, clusterBody, makeApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:22';
const LOCAL = '127.0.0.1';
const TALOS = `/assets/talos/${TALOS_VERSION}`;
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Descriptors of this process open on `file` (the server runs in the test's process). */
const fdsOn = (file: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed meanwhile, e.g. the directory handle of readdirSync itself
    }
  }).length;
const sparse = (path: string, size: number) => {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
};

/** Response headers as soon as they arrive; the body is left unread (the socket stops at the kernel's buffers). */
function open(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
    const req = http.request(
      { host: LOCAL, port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => resolve({ req, res }),
    );
    req.on('error', reject).end();
  });
}
const readAll = (res: http.IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c)).on('close', () => resolve(Buffer.concat(chunks)));
  });
async function fetchRaw(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
  const { res } = await open(port, path, opts);
  return { status: res.statusCode, headers: res.headers, body: await readAll(res) };
}

/** The real app on a real socket, a 3 MiB + 17 random kernel, a machine at 127.0.0.1 to own the downloads. */
async function served(t: Test) {
  const a = await makeApp(t);
  const kernel = randomBytes(3 * MiB + 17);
  writeFileSync(join(a.assetsDir, 'talos', TALOS_VERSION, 'vmlinuz-amd64'), kernel);
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'w-1', role: 'worker', cluster: 'prod', ip: LOCAL }))
      .status,
    201,
  );
  // Every bookkeeping call, and a way to wait for one: the records are written after the response.
  const calls: Array<{ file: string; phase: string; detail: Record<string, unknown> }> = [];
  const waiters: Array<() => void> = [];
  const original = a.core.boot.assetTransfer.bind(a.core.boot);
  a.core.boot.assetTransfer = async (ip, file, phase, detail) => {
    await original(ip, file, phase, detail);
    calls.push({ file, phase, detail });
    waiters.splice(0).forEach((w) => w());
  };
  const recorded = async (file: string, phase: string) => {
    while (!calls.some((c) => c.file === file && c.phase === phase)) await new Promise<void>((r) => waiters.push(r));
    return calls.find((c) => c.file === file && c.phase === phase)!;
  };
  await a.app.listen({ host: LOCAL, port: 0 });
  return { a, kernel, port: (a.app.server.address() as AddressInfo).port, calls, recorded };
}

t.test('a full GET over a real socket: every byte, the headers, the bookkeeping, the metrics', async (t) => {
  const { a, kernel, port, recorded } = await served(t);
  const res = await fetchRaw(port, `${TALOS}/vmlinuz-amd64`);
  t.equal(res.status, 200);
  t.equal(res.body.length, kernel.length);
  t.equal(sha(res.body), sha(kernel), 'same bytes as the file, across many reused buffers');
  t.match(res.headers, {
    'content-length': String(kernel.length),
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag: /^W\/"[0-9a-f]+-[0-9a-f]+"$/,
  });
  t.ok(
    res.headers['last-modified'] && res.headers['x-request-id'],
    'Last-Modified, and the request id fastify set before the hijack',
  );
  t.match((await recorded('vmlinuz-amd64', 'completed')).detail, { status: 200, bytes: kernel.length, range: null });
  const events = (await a.api('GET', `/api/v1/machines/${MAC}/events`)).json.items.map((e: { kind: string }) => e.kind);
  t.same(
    events.filter((k: string) => k.startsWith('kernel-')),
    ['kernel-download-started', 'kernel-download-completed'],
  );
  const metrics = (await a.app.inject({ url: '/metrics' })).body;
  t.match(
    metrics,
    'metalboot_http_boot_requests_total{route="/assets/talos",status="200",result="complete"} 1',
    'onResponse hooks still run for the hijacked reply',
  );
  t.ok(sharedPool.stats.created >= 2, 'the big file was sent from pooled buffers');
  t.equal(sharedPool.stats.idle, sharedPool.stats.created, 'and they all went back');

  const head = await fetchRaw(port, `${TALOS}/vmlinuz-amd64`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], String(kernel.length));
  t.equal(head.body.length, 0, 'HEAD: no body');
});

t.test('single ranges (real socket, across buffer boundaries), 416, ignored ranges, If-Range', async (t) => {
  const { a, kernel, port, calls } = await served(t);
  const size = kernel.length;
  for (const [header, start, end] of [
    ['bytes=100-199', 100, 199],
    ['bytes=262000-800000', 262000, 800000],
    [`bytes=${size - 5}-`, size - 5, size - 1],
    ['bytes=-17', size - 17, size - 1],
    [`bytes=-${size * 2}`, 0, size - 1],
    [`bytes=10-${size * 3}`, 10, size - 1],
  ] as const) {
    const res = await fetchRaw(port, `${TALOS}/vmlinuz-amd64`, { headers: { range: header } });
    t.equal(res.status, 206, header);
    t.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, header);
    t.equal(res.headers['content-length'], String(end - start + 1), header);
    t.equal(sha(res.body), sha(kernel.subarray(start, end + 1)), `${header}: the right bytes`);
  }
  await new Promise((r) => setImmediate(r));
  t.match(calls.filter((c) => c.phase === 'range-sent')[0]?.detail, {
    status: 206,
    bytes: 100,
    range: 'bytes=100-199',
  });

  const get = (headers: Record<string, string>) => a.app.inject({ url: `${TALOS}/vmlinuz-amd64`, headers });
  const unsatisfiable = await get({ range: `bytes=${size}-` });
  t.equal(unsatisfiable.statusCode, 416);
  t.equal(unsatisfiable.headers['content-range'], `bytes */${size}`);
  t.equal((await get({ range: 'bytes=-0' })).statusCode, 416, 'an empty suffix');
  for (let i = 0; i < 200 && calls.filter((c) => c.phase === 'refused').length < 2; i++)
    await new Promise((r) => setTimeout(r, 5));
  t.match(
    calls.filter((c) => c.phase === 'refused'),
    [{ detail: { status: 416, range: `bytes=${size}-` } }, { detail: { status: 416, range: 'bytes=-0' } }],
    'a refused download ends on the timeline too',
  );
  for (const header of ['bytes=0-1,5-6', 'bytes=5-2', 'bytes=abc', 'items=0-5']) {
    const res = await get({ range: header });
    t.equal(res.statusCode, 200, `${header}: ignored`);
    t.equal(res.rawPayload.length, size, `${header}: the whole file`);
  }
  const etag = String((await get({})).headers.etag);
  t.equal((await get({ range: 'bytes=0-9', 'if-range': etag })).statusCode, 206, 'If-Range with the current ETag');
  t.equal(
    (await get({ range: 'bytes=0-9', 'if-range': 'W/"stale"' })).statusCode,
    200,
    'If-Range with another: everything',
  );
});

t.test('conditional requests', async (t) => {
  const { a } = await served(t);
  const get = (headers: Record<string, string>) => a.app.inject({ url: `${TALOS}/vmlinuz-amd64`, headers });
  const first = await get({});
  const etag = String(first.headers.etag);
  const notModified = await get({ 'if-none-match': etag });
  t.equal(notModified.statusCode, 304);
  t.equal(notModified.rawPayload.length, 0);
  t.equal(notModified.headers.etag, etag);
  t.equal((await get({ 'if-none-match': `W/"other", ${etag}` })).statusCode, 304, 'one of a list');
  t.equal((await get({ 'if-modified-since': String(first.headers['last-modified']) })).statusCode, 304);
  t.equal((await get({ 'if-none-match': 'W/"other"' })).statusCode, 200);
  t.equal(
    (await get({ 'if-none-match': etag, 'cache-control': 'no-cache' })).statusCode,
    200,
    'no-cache asks for a fresh copy',
  );
  t.equal((await get({ 'if-match': 'W/"other"' })).statusCode, 412);
});

t.test('path safety on raw request paths (no client-side normalisation)', async (t) => {
  const { a, port } = await served(t);
  const talosDir = join(a.assetsDir, 'talos', TALOS_VERSION);
  writeFileSync(join(a.dir, 'outside.txt'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(talosDir, '.secret'), 'root:x:0:0');
  mkdirSync(join(a.assetsDir, '.hidden'));
  writeFileSync(join(a.assetsDir, '.hidden', 'x'), 'root:x:0:0');
  execFileSync('mkfifo', [join(talosDir, 'pipe')]);
  symlinkSync(join(a.dir, 'outside.txt'), join(talosDir, 'escape'));
  symlinkSync('/etc', join(a.assetsDir, 'etc'));
  symlinkSync('vmlinuz-amd64', join(talosDir, 'vmlinuz-current'));
  symlinkSync('loop', join(talosDir, 'loop'));
  for (const [path, status] of [
    [`${TALOS}/../../../outside.txt`, 403],
    [`${TALOS}/%2e%2e/%2e%2e/%2e%2e/outside.txt`, 403],
    [`${TALOS}/%2e%2e%2f%2e%2e%2f%2e%2e%2foutside.txt`, 403],
    [`/assets/talos%2f${TALOS_VERSION}%2fvmlinuz-amd64`, 403],
    [`${TALOS}/..%5c..%5c..%5coutside.txt`, 403],
    [`${TALOS}/.secret`, 403],
    [`${TALOS}/%2esecret`, 403],
    ['/assets/.hidden/x', 403],
    [`${TALOS}/vmlinuz-amd64%00`, 403],
    [`/assets/talos//${TALOS_VERSION}/vmlinuz-amd64`, 403],
    [`${TALOS}/./vmlinuz-amd64`, 403],
    [`${TALOS}/nope`, 404],
    [TALOS, 404],
    [`${TALOS}/pipe`, 404],
    [`${TALOS}/escape`, 403],
    ['/assets/etc/passwd', 403],
    [`${TALOS}/loop`, 403],
  ] as const) {
    const res = await fetchRaw(port, path);
    t.equal(res.status, status, path);
    t.notMatch(res.body.toString(), 'root:', `${path}: nothing leaked`);
  }
  t.match((await fetchRaw(port, `${TALOS}/nope`)).body.toString(), /"error":"not_found"/, 'the app-wide 404');
  const within = await fetchRaw(port, `${TALOS}/vmlinuz-current`);
  t.equal(within.status, 200, 'a symlink that stays under the root is served');
  t.equal(sha(within.body), sha(readFileSync(join(talosDir, 'vmlinuz-amd64'))));
});

t.test('a client hanging up mid-download: "aborted" on the timeline, file closed, buffers accounted for', async (t) => {
  const { a, port, recorded } = await served(t);
  const file = join(a.assetsDir, 'talos', TALOS_VERSION, 'initramfs-amd64.xz');
  sparse(file, 64 * MiB); // far more than the socket buffers hold
  const pooled = sharedPool.stats.created;
  const { req, res } = await open(port, `${TALOS}/initramfs-amd64.xz`);
  t.equal(res.statusCode, 200);
  t.equal(fdsOn(file), 1, 'the file is open while being sent');
  await new Promise<void>((resolve) => {
    let got = 0;
    res.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= MiB && !req.destroyed) req.destroy();
    });
    res.on('close', resolve);
  });
  const aborted = await recorded('initramfs-amd64.xz', 'aborted');
  t.same(aborted.detail, { status: 200, bytes: null, range: null });
  const kinds = (await a.api('GET', `/api/v1/machines/${MAC}/events`)).json.items.map((e: { kind: string }) => e.kind);
  t.ok(kinds.includes('initramfs-download-aborted'));
  t.notOk(kinds.includes('initramfs-download-completed'));
  const metrics = (await a.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(
    metrics,
    /metalboot_http_boot_requests_total\{route="\/assets\/talos",status="200",result="aborted"\} 1\n/,
    'counted as aborted, once',
  );
  t.notMatch(metrics, /result="complete"/, 'and not as complete');
  // The record is written as soon as the response closes; the file is closed just after (a threadpool round-trip).
  for (const deadline = Date.now() + 10_000; fdsOn(file) > 0 && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 5));
  t.equal(fdsOn(file), 0, 'and closed once the client is gone');
  // Retired, not returned: the dead socket's write queue may still reference them.
  t.same(
    sharedPool.stats,
    { created: Math.max(pooled, 2) - 2, idle: Math.max(pooled, 2) - 2 },
    "the dead response's buffers are not lent out again",
  );
});

/** sendFile on its own, with a pool of our choosing and its outcomes collected. */
async function bare(t: Test, pool: BufferPool) {
  const dir = t.testdir({});
  const outcomes: SendOutcome[] = [];
  const app = Fastify({ logger: false });
  app.get('/f/*', async (req, reply) => {
    await sendFile(req, reply, dir, req.url.slice('/f/'.length), { pool, onEnd: (o) => outcomes.push(o) });
    return reply;
  });
  await app.listen({ host: LOCAL, port: 0 });
  t.teardown(() => app.close());
  return { dir, outcomes, port: (app.server.address() as AddressInfo).port };
}

t.test('pool exhausted: the other responses fall back to their own buffers, all bytes still right', async (t) => {
  class CountingPool extends BufferPool {
    misses = 0;
    override take() {
      const buf = super.take();
      if (!buf) this.misses++;
      return buf;
    }
  }
  const pool = new CountingPool(256 * 1024, 3); // one response's pair, and one over
  const { dir, port } = await bare(t, pool);
  const data = randomBytes(16 * MiB + 17); // more than loopback buffers while nobody reads: all six hold their buffers at once
  writeFileSync(join(dir, 'big'), data);
  const opened = await Promise.all(Array.from({ length: 6 }, () => open(port, '/f/big')));
  const bodies = await Promise.all(opened.map(({ res }) => readAll(res)));
  for (const body of bodies) t.equal(sha(body), sha(data));
  t.ok(pool.misses >= 5, `the pool ran dry (${pool.misses} misses)`);
  t.ok(pool.stats.created <= 3, 'never more than its limit');
  t.equal(pool.stats.idle, pool.stats.created, 'all pooled buffers returned');
});

t.test('a file that shrinks mid-send: the connection is dropped, not padded or hung', async (t) => {
  const { dir, port, outcomes } = await bare(t, new BufferPool(256 * 1024, 8));
  const file = join(dir, 'shrinks');
  sparse(file, 64 * MiB);
  const { res } = await open(port, '/f/shrinks');
  t.equal(res.headers['content-length'], String(64 * MiB));
  truncateSync(file, MiB);
  const body = await readAll(res);
  t.ok(body.length < 64 * MiB, `fewer bytes than promised (${body.length})`);
  t.notOk(res.complete, 'the client sees an incomplete response');
  while (outcomes.length === 0) await new Promise((r) => setImmediate(r));
  t.same(outcomes, [{ status: 200, bytes: 64 * MiB, complete: false }]);
});

t.test('parseRange and resolveUnder', async (t) => {
  t.same(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  t.same(parseRange('Bytes = 2-', 10), { start: 2, end: 9 }, 'unit case-insensitive');
  t.same(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  t.same(parseRange('bytes=,4-5,', 10), { start: 4, end: 5 }, 'empty list elements');
  t.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  t.equal(parseRange('bytes=-1', 0), 'unsatisfiable', 'nothing to send from an empty file');
  for (const h of ['bytes=0-1,3-4', 'bytes=-', 'bytes=1-x', 'bytes=3-2', 'bytes 0-1', 'lines=0-1'])
    t.equal(parseRange(h, 10), undefined, h);
  t.equal(resolveUnder('/srv/assets', 'talos/v1/vmlinuz-amd64'), '/srv/assets/talos/v1/vmlinuz-amd64');
  t.equal(resolveUnder('/srv/assets', 'a%20b'), '/srv/assets/a b', 'escapes decoded');
  for (const p of ['', 'a/', '../x', 'a/%2e%2e/x', 'a%2fb', '.x', 'a/%2ex', 'a%5cb', 'a%00', 'a%E0%A4%A'])
    t.equal(resolveUnder('/srv/assets', p), 403, p);
});

t.test('isWithin: the root and below, never beside or above it', async (t) => {
  t.ok(isWithin('/srv/assets', '/srv/assets'));
  t.ok(isWithin('/srv/assets', '/srv/assets/talos/v1/vmlinuz-amd64'));
  t.ok(isWithin('/srv/assets', '/srv/assets/..hidden'), 'a name that starts with two dots is still inside');
  t.notOk(isWithin('/srv/assets', '/srv/assets-old/x'), 'a sibling with the same prefix');
  t.notOk(isWithin('/srv/assets', '/srv'));
  t.notOk(isWithin('/srv/assets', '/etc/passwd'));
});
