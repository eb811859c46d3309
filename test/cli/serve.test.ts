import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnCollecting, startCli, TEST_LISTENERS, waitReady } from '../helpers/spawn-server.js';

const run = promisify(execFile);

t.test('metalboot serve: defaults are safe, token generated once, ready line, SIGTERM', async (t) => {
  const dir = t.testdir({});
  const port = await freePort();
  const env = {
    METALBOOT_DATA_DIR: join(dir, 'data'),
    METALBOOT_ASSETS_DIR: join(dir, 'assets'),
    METALBOOT_API_TOKEN: '',
  };
  const tftpPort = await freePort();
  const srv = await startCli(
    t,
    ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', `127.0.0.1:${tftpPort}`],
    env,
  );
  const ready = srv
    .stdout()
    .split('\n')
    .find((l) => l.includes('metalboot ready'))!;
  t.match(ready, `HTTP on 127.0.0.1:${port}`);
  t.match(
    JSON.parse(ready),
    { dhcp: 'off', tftp: `127.0.0.1:${tftpPort}`, advertiseUrl: `http://127.0.0.1:${port}` },
    'DHCP off by default, TFTP on',
  );
  const tokenFile = join(dir, 'data', 'api-token');
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'token file is private');
  t.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700, 'a data directory metalboot creates is private');
  for (const f of ['metalboot.db', 'metalboot.db-wal'])
    t.equal(statSync(join(dir, 'data', f)).mode & 0o777, 0o600, `${f} is private`);
  const token = readFileSync(tokenFile, 'utf8').trim();
  t.match(srv.stderr(), token, 'printed once on first start');
  t.notMatch(srv.stdout(), 'config-binding', 'the default binding is a safe one: nothing to warn about');
  const { stdout } = await run('curl', [
    '-s',
    '-H',
    `Authorization: Bearer ${token}`,
    `http://127.0.0.1:${port}/api/v1/machines`,
  ]);
  t.same(JSON.parse(stdout), { items: [], next: null });
  srv.child.kill('SIGTERM');
  t.equal(await srv.exited, 0, 'clean exit on SIGTERM');

  const again = await startCli(t, ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off'], {
    ...env,
    METALBOOT_CONFIG_BINDING: 'first-request',
  });
  t.notMatch(again.stderr(), token, 'not printed again');
  // Not only on the start that changed it: at every start (here the second of this data dir).
  t.match(
    again.stdout(),
    /"level":40.*--config-binding first-request: any host that knows a registered MAC can fetch that machine's config/,
    'first-request warns',
  );
  again.child.kill('SIGTERM');
  await again.exited;
});

t.test('settings from the environment; bad settings fail with a message', async (t) => {
  const dir = t.testdir({});
  const port = await freePort();
  const srv = await startCli(t, ['serve'], {
    METALBOOT_TFTP_LISTEN: 'off',
    METALBOOT_LISTEN: `127.0.0.1:${port}`,
    METALBOOT_ADVERTISE_URL: 'http://10.20.30.40:8080/',
    METALBOOT_DATA_DIR: join(dir, 'd'),
    METALBOOT_API_TOKEN: 'env-token-0123456789',
  });
  t.match(srv.stdout(), 'machines use http://10.20.30.40:8080');
  const { stdout } = await run('curl', ['-s', `http://127.0.0.1:${port}/boot.ipxe`]);
  t.match(stdout, 'chain --autofree http://10.20.30.40:8080/ipxe?');
  srv.child.kill('SIGTERM');
  await srv.exited;

  const bad: Array<[string[], RegExp]> = [
    [['--listen', 'nonsense'], /must be host:port/],
    [['--advertise-url', 'ftp://x'], /advertise-url/],
    [['--dhcp', 'yes'], /--dhcp must be off, proxy or authoritative/],
    [
      ['--config-binding', 'arp'],
      /--config-binding .{1,2}arp.{1,2} must be first-request or a comma list of neighbour, dhcp, reservation/,
    ],
    [['--stall-deadlines', 'joined=5'], /--stall-deadlines: .{1,2}joined.{1,2} is not a state that can stall/],
    [['--dhcp', 'proxy'], /needs --interface/],
    [['--dhcp', 'proxy', '--interface', 'nosuchif0'], /nosuchif0.*does not exist/],
    [
      ['--dhcp', 'authoritative', '--interface', 'lo', '--dhcp-range', '10.0.0.5'],
      /--dhcp-range .* must be <first>-<last>/,
    ],
    [
      [
        '--dhcp',
        'authoritative',
        '--interface',
        'lo',
        '--dhcp-range',
        '10.0.0.5-10.0.0.9',
        '--dhcp-relay-subnet',
        'nonsense',
      ],
      /--dhcp-relay-subnet/,
    ],
  ];
  await t.rejects(
    startCli(t, ['serve', '--listen', '127.0.0.1:1', '--tftp-listen', 'off'], {
      METALBOOT_DATA_DIR: join(dir, 'x'),
      METALBOOT_SHUTDOWN_DEADLINE_MS: 'soon',
    }),
    /METALBOOT_SHUTDOWN_DEADLINE_MS must be a positive integer/,
    'a shutdown deadline that is not a number',
  );
  for (const [args, message] of bad) {
    await t.rejects(
      startCli(t, ['serve', '--listen', '127.0.0.1:1', '--tftp-listen', 'off', ...args], {
        METALBOOT_DATA_DIR: join(dir, 'x'),
      }),
      message,
      args.join(' '),
    );
  }
});

t.test('streams a multi-hundred-MB initramfs with bounded memory, Range over real HTTP', async (t) => {
  const dir = t.testdir({});
  const talos = join(dir, 'assets', 'talos', 'v1.13.9');
  mkdirSync(talos, { recursive: true });
  const size = 400 * 1024 * 1024;
  const fd = openSync(join(talos, 'initramfs-amd64.xz'), 'w');
  ftruncateSync(fd, size); // sparse: costs no disk
  closeSync(fd);
  const port = await freePort();
  const srv = await startCli(t, ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off'], {
    METALBOOT_DATA_DIR: join(dir, 'data'),
    METALBOOT_ASSETS_DIR: join(dir, 'assets'),
    METALBOOT_API_TOKEN: 'env-token-0123456789',
  });
  const url = `http://127.0.0.1:${port}/assets/talos/v1.13.9/initramfs-amd64.xz`;
  const full = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url]);
  t.equal(full.stdout, `200 ${size}`);
  const part = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-r',
    `${size - 10}-`,
    '-w',
    '%{http_code} %{size_download}',
    url,
  ]);
  t.equal(part.stdout, '206 10');
  const head = await run('curl', ['-sI', url]);
  t.match(head.stdout, new RegExp(`content-length: ${size}`, 'i'));
  // VmHWM: the server's peak resident memory over its whole life, including the 400 MB transfer.
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${srv.child.pid}/status`, 'utf8'))![1]);
  t.ok(hwmKb < 200 * 1024, `peak RSS ${Math.round(hwmKb / 1024)} MB stays far below the 400 MB file`);
  srv.child.kill('SIGTERM');
  await srv.exited;
});

t.test('SIGTERM past the deadline: open transfers are cut, the store still closes (WAL checkpointed)', async (t) => {
  const dir = t.testdir({});
  const talos = join(dir, 'assets', 'talos', 'v1.13.9');
  mkdirSync(talos, { recursive: true });
  const fd = openSync(join(talos, 'initramfs-amd64.xz'), 'w');
  ftruncateSync(fd, 64 * 1024 * 1024);
  closeSync(fd);
  const port = await freePort();
  const dataDir = join(dir, 'data');
  const srv = await startCli(t, ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off'], {
    METALBOOT_DATA_DIR: dataDir,
    METALBOOT_ASSETS_DIR: join(dir, 'assets'),
    METALBOOT_API_TOKEN: 'env-token-0123456789',
    METALBOOT_SHUTDOWN_DEADLINE_MS: '300',
  });
  // A client that reads slowly: the 64 MiB download cannot finish before the deadline.
  const slow = spawn('curl', [
    '-s',
    '-o',
    '/dev/null',
    '--limit-rate',
    '256K',
    '-w',
    '%{size_download}',
    `http://127.0.0.1:${port}/assets/talos/v1.13.9/initramfs-amd64.xz`,
  ]);
  t.teardown(() => void slow.kill('SIGKILL'));
  let got = '';
  slow.stdout.on('data', (d) => (got += d));
  const curlDone = new Promise((resolve) => slow.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 700)); // let the download get going
  srv.child.kill('SIGTERM');
  t.equal(await srv.exited, 0, 'exits cleanly');
  await curlDone;
  t.ok(Number(got) < 64 * 1024 * 1024, `the slow download was cut (${got} bytes)`);
  t.match(srv.stdout(), /shutdown deadline passed/);
  t.match(srv.stdout(), /"shut down"/, 'the normal shutdown path finished');
  t.notOk(
    existsSync(join(dataDir, 'metalboot.db-wal')) && statSync(join(dataDir, 'metalboot.db-wal')).size > 0,
    'no WAL left behind',
  );
});

t.test('the installed command runs from any directory: bundled templates when ./templates is absent', async (t) => {
  const dir = t.testdir({ elsewhere: {} });
  const port = await freePort();
  const proc = spawnCollecting(
    t,
    ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off'],
    {
      ...process.env,
      ...TEST_LISTENERS,
      METALBOOT_DATA_DIR: join(dir, 'data'),
      METALBOOT_ASSETS_DIR: join(dir, 'assets'),
      METALBOOT_API_TOKEN: 'env-token-0123456789',
    },
    { cwd: join(dir, 'elsewhere') },
  );
  await waitReady(proc);
  const { stdout } = await run('curl', ['-s', `http://127.0.0.1:${port}/boot.ipxe`]);
  t.match(stdout, /^#!ipxe/, 'the generic boot script is served from the bundled templates');
  proc.child.kill('SIGTERM');
  t.equal(await proc.exited, 0);
});
