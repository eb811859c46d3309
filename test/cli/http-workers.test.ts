/**
 * `--http-workers 2`: downloads served by every worker, the boot routes forwarded to the primary
 * with the client's real address, timeline and metrics across processes. Only 127.0.0.1 listens;
 * 127.0.0.2 (loopback too) is the "other source". No timing assertions; every loop is bounded.
 */
import t from 'tap';
import { statSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { VERSION } from '../helpers/asset-mirror.js';
import { serve } from '../helpers/cli-run.js';
import { eventCounts, fetchFrom, registerMachine, sha, talosAssets, untilWorkers } from '../helpers/worker-client.js';

const MAC = '52:54:00:aa:17:01';
const WORKERS = { METALBOOT_HTTP_WORKERS: '2', METALBOOT_TEST_WORKER_HEADER: '1' };
const OTHER = '127.0.0.2';
const both = (seen: Set<number>) => seen.size >= 2;

t.test('every worker serves the same bytes, with Range and ETag; timeline and metrics add up', async (t) => {
  const s = await serve(t, { env: WORKERS });
  const file = talosAssets(s, VERSION, 3 * 1024 * 1024);
  await registerMachine(s, MAC);
  const script = await fetchFrom(`${s.url}/ipxe?mac=${MAC}&arch=x86_64&platform=efi`);
  t.equal(script.headers['x-metalboot-script'], 'install', 'the boot route answered through a worker');
  const url = `${s.url}/assets/talos/${VERSION}/initramfs-amd64.xz`;

  const full = await untilWorkers(40, () => fetchFrom(url), both);
  t.equal(full.seen.size, 2, 'both workers served a download');
  t.ok(!full.seen.has(NaN), 'each answer names its worker');
  const etags = new Set(full.answers.map((a) => a.headers.etag));
  t.equal(etags.size, 1, 'one ETag whichever worker answers');
  for (const a of full.answers) {
    t.equal(a.status, 200);
    t.equal(sha(a.body), sha(file), `worker ${a.worker}: byte-identical`);
  }
  const etag = [...etags][0] as string;
  const ranges = await untilWorkers(
    40,
    () => fetchFrom(url, { headers: { range: 'bytes=1000-2999', 'if-range': etag } }),
    both,
  );
  t.equal(ranges.seen.size, 2, 'both workers served a range');
  for (const a of ranges.answers) {
    t.equal(a.status, 206);
    t.equal(a.headers['content-range'], `bytes 1000-2999/${file.length}`);
    t.ok(a.body.equals(file.subarray(1000, 3000)), `worker ${a.worker}: the range's bytes`);
  }
  const cached = await untilWorkers(40, () => fetchFrom(url, { headers: { 'if-none-match': etag } }), both);
  for (const a of cached.answers) t.equal(a.status, 304, `worker ${a.worker}: not modified`);
  const head = await fetchFrom(url, { method: 'HEAD' });
  t.equal(head.headers['content-length'], String(file.length), 'HEAD');

  // Every download is on the timeline once each, whichever worker sent it (recorded by the primary).
  const counts = await eventCounts(s, MAC);
  t.equal(counts['initramfs-download-started'], full.answers.length + ranges.answers.length + cached.answers.length);
  t.equal(counts['initramfs-download-completed'], full.answers.length);
  t.equal(counts['initramfs-download-range-sent'], ranges.answers.length);
  t.equal(counts['initramfs-download-not-modified'], cached.answers.length);
  // /metrics: one process's view, the workers' counters summed into the primary's.
  const metrics = (await fetchFrom(`${s.url}/metrics`)).body.toString();
  const count = (labels: string) =>
    Number(new RegExp(`^metalboot_http_boot_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
  t.equal(count('route="/assets/talos",status="200",result="complete"'), full.answers.length, 'full downloads');
  t.equal(count('route="/assets/talos",status="206",result="partial"'), ranges.answers.length, 'ranges');
  t.equal(count('route="/assets/talos",status="200",result="head"'), 1, 'HEAD');
  t.equal(count('route="/ipxe",status="200",result="install"'), 1, 'the script, counted once (by the primary)');
  t.match(metrics, /^metalboot_http_connections_open \d+$/m, 'the connection gauge is there');
  t.match(metrics, /^metalboot_events_total\{kind="initramfs-download-completed"\} \d+$/m);
});

t.test(
  'tokens stay bound to their source and boot across workers; the address header from outside is ignored',
  async (t) => {
    const s = await serve(t, { env: WORKERS });
    talosAssets(s, VERSION, 64 * 1024);
    await registerMachine(s, MAC);
    const boot = async () => {
      const script = (await fetchFrom(`${s.url}/ipxe?mac=${MAC}&arch=x86_64&platform=efi`)).body.toString();
      return /talos\.config=(\S+)/.exec(script)![1]!;
    };
    const url = await boot();
    t.match(url, /\/config\/52:54:00:aa:17:01\?token=/);
    // An attacker on another address names the machine's address in the header workers use inside.
    const forged = await fetchFrom(url, { from: OTHER, headers: { 'x-metalboot-client-address': '127.0.0.1' } });
    t.equal(forged.status, 403, 'refused: the header from the public port means nothing');
    t.match(forged.body.toString(), `request from ${OTHER}`, 'the real source is named');
    const ok = await fetchFrom(url);
    t.equal(ok.status, 200, 'the machine gets its config');
    t.match(ok.body.toString(), 'machine:');
    // From the other source, until a worker other than the one that delivered it has refused it too.
    const other = await untilWorkers(
      40,
      () => fetchFrom(url, { from: OTHER }),
      (seen) => seen.size >= 2,
    );
    t.equal(other.seen.size, 2);
    for (const a of other.answers) t.equal(a.status, 403, `worker ${a.worker}: another source is refused`);
    // A new boot: a fresh token; the old one is refused on every worker, even from the machine's address.
    const fresh = await boot();
    t.not(fresh, url, 'a fresh token');
    const stale = await untilWorkers(40, () => fetchFrom(url), both);
    t.equal(stale.seen.size, 2);
    for (const a of stale.answers) t.equal(a.status, 403, `worker ${a.worker}: the previous boot's token is refused`);
    t.equal((await fetchFrom(fresh)).status, 200, 'the fresh one is served');
    // The internal listener: the data directory's socket, 0600, and it wants a worker's header.
    const sock = /"httpInternal":"([^"]+)"/.exec(s.srv.stdout())![1]!; // the data dir's path is too long here: a temp dir
    t.equal(statSync(sock).mode & 0o777, 0o600, 'only the owner can connect');
    const direct = await new Promise<number>((resolve, reject) =>
      request({ socketPath: sock, path: '/healthz' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on('error', reject)
        .end(),
    );
    t.equal(direct, 400, 'a request without the worker header is refused there');
    const firstConfig = /"url":"\/config\/[^"]*","host":"[^"]*","remoteAddress":"([^"]+)"/.exec(s.srv.stdout());
    t.equal(firstConfig?.[1], OTHER, 'the access log names the forged request by its real source');
  },
);

t.test('kill -9 of a worker mid-download: replaced, the retry with Range succeeds, the timeline says so', async (t) => {
  const s = await serve(t, { env: WORKERS });
  const file = talosAssets(s, VERSION, 24 * 1024 * 1024);
  await registerMachine(s, MAC);
  await fetchFrom(`${s.url}/ipxe?mac=${MAC}&arch=x86_64&platform=efi`);
  const url = `${s.url}/assets/talos/${VERSION}/initramfs-amd64.xz`;
  const before = (await untilWorkers(40, () => fetchFrom(`${s.url}/healthz`), both)).seen;
  t.equal(before.size, 2);

  const chunks: Buffer[] = [];
  const cut = await new Promise<{ worker: number; etag: string; res: IncomingMessage; ended: Promise<void> }>(
    (resolve, reject) => {
      const req = request(url, { agent: false });
      req.on('error', () => undefined); // the reset is what this test is about
      req.on('response', (res) => {
        const ended = new Promise<void>((done) => res.once('close', () => done()));
        res.on('error', () => undefined);
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('data', () => {
          res.pause(); // the worker is now held mid-file by back-pressure
          resolve({ worker: Number(res.headers['x-metalboot-worker']), etag: String(res.headers.etag), res, ended });
        });
      });
      req.on('error', reject);
      req.end();
    },
  );
  process.kill(cut.worker, 'SIGKILL');
  // Read what arrived before the kill, until the connection is gone.
  const got = () => chunks.reduce((n, c) => n + c.length, 0);
  cut.res.resume();
  await cut.ended;
  t.ok(got() < file.length, `cut short at ${got()} of ${file.length} bytes`);

  // A replacement listens: a worker pid never seen before answers.
  const after = await untilWorkers(
    200,
    () => fetchFrom(`${s.url}/healthz`),
    (seen) => [...seen].some((p) => !before.has(p)),
    50,
  );
  t.ok(
    [...after.seen].some((p) => !before.has(p)),
    'the dead worker was replaced',
  );
  t.notOk(after.seen.has(cut.worker), 'the dead one answers no more');
  const rest = await fetchFrom(url, { headers: { range: `bytes=${got()}-`, 'if-range': cut.etag } });
  t.equal(rest.status, 206, 'the retry with Range is served');
  t.equal(sha(Buffer.concat([...chunks, rest.body])), sha(file), 'and completes the file byte for byte');
  let counts: Record<string, number> = {};
  for (let i = 0; i < 100 && !counts['initramfs-download-interrupted']; i++) {
    counts = await eventCounts(s, MAC);
    if (!counts['initramfs-download-interrupted']) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(counts['initramfs-download-interrupted'], 1, 'the timeline records the interruption');
  t.equal(counts['initramfs-download-range-sent'], 1, 'and the retry');
  t.match(s.srv.stdout(), `HTTP worker ${cut.worker} exited (SIGKILL); replaced`);
});
