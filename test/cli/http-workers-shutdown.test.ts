/**
 * SIGTERM with `--http-workers 2`: every worker drains (a download in flight finishes) and exits,
 * then the primary; past the shutdown deadline the workers cut what is still open. Bounded waits only.
 */
import t from 'tap';
import { type IncomingMessage, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { type Served, serve, waitFor } from '../helpers/cli-run.js';
import { spawnCollecting, TEST_LISTENERS } from '../helpers/spawn-server.js';
import { registerMachine, sha, talosAssets } from '../helpers/worker-client.js';

const MAC = '52:54:00:aa:17:03';

/** A download held mid-file by a paused client; its bytes collect in `chunks`. */
function heldDownload(url: string): Promise<{ res: IncomingMessage; chunks: Buffer[]; ended: Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const req = request(url, { agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      const ended = new Promise<boolean>((done) => res.once('close', () => done(res.complete)));
      res.on('error', () => undefined);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('data', () => {
        res.pause();
        resolve({ res, chunks, ended });
      });
    });
    req.end();
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function workerPids(s: Served): number[] {
  return JSON.parse(/"httpWorkers":(\[[\d,]+\])/.exec(s.srv.stdout())![1]!) as number[];
}

t.test('SIGTERM: the download in flight finishes, then every worker and the primary exit', async (t) => {
  const s = await serve(t, { env: { METALBOOT_HTTP_WORKERS: '2' } });
  const file = talosAssets(s, VERSION, 16 * 1024 * 1024);
  await registerMachine(s, MAC);
  const pids = workerPids(s);
  t.equal(pids.length, 2);
  const held = await heldDownload(`${s.url}/assets/talos/${VERSION}/initramfs-amd64.xz`);
  s.srv.child.kill('SIGTERM');
  await waitFor('the shutdown to start', () => /SIGTERM: shutting down/.test(s.srv.stdout()));
  held.res.resume();
  t.equal(await held.ended, true, 'the download completed');
  t.equal(sha(Buffer.concat(held.chunks)), sha(file), 'every byte');
  t.equal(await s.srv.exited, 0, 'the primary exits cleanly');
  t.match(s.srv.stdout(), /"msg":"shut down"/);
  await waitFor('the workers to be gone', () => pids.every((p) => !alive(p)));
  t.pass('no worker outlives the primary');
});

t.test('SIGTERM past the deadline: the workers cut what is still open and the primary exits', async (t) => {
  const s = await serve(t, { env: { METALBOOT_HTTP_WORKERS: '2', METALBOOT_SHUTDOWN_DEADLINE_MS: '500' } });
  talosAssets(s, VERSION, 16 * 1024 * 1024);
  const pids = workerPids(s);
  const held = await heldDownload(`${s.url}/assets/talos/${VERSION}/initramfs-amd64.xz`);
  s.srv.child.kill('SIGTERM');
  t.equal(await s.srv.exited, 0, 'the primary exits (the store closed)');
  t.match(s.srv.stdout(), /shutdown deadline passed/);
  held.res.resume();
  t.equal(await held.ended, false, 'the stuck download was cut');
  await waitFor('the workers to be gone', () => pids.every((p) => !alive(p)));
  t.pass('no worker outlives the primary');
});

t.test('a port the workers cannot listen on stops serve with the reason, leaving no worker behind', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const dir = t.testdir({});
  const srv = spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off'], {
    ...process.env,
    ...TEST_LISTENERS,
    METALBOOT_HTTP_WORKERS: '2',
    METALBOOT_DATA_DIR: join(dir, 'data'),
    METALBOOT_ASSETS_DIR: join(dir, 'assets'),
    METALBOOT_API_TOKEN: 'workers-test-token-0123456789',
  });
  t.equal(await srv.exited, 1, 'serve fails');
  t.match(srv.stdout() + srv.stderr(), `cannot listen on 127.0.0.1:${port}: bind EADDRINUSE`);
});
