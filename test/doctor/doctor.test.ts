import t from 'tap';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { VERSION, fakeInitramfs, fakeKernel } from '../helpers/asset-mirror.js';
import { ROOT } from '../helpers/core-app.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';
import { freePort } from '../helpers/spawn-server.js';

/** What `assets pull talos` would leave: kernel, initramfs and schema of a version. */
function talosAssets(assetsDir: string): void {
  const dir = join(assetsDir, 'talos', VERSION);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinuz-amd64'), fakeKernel(4096));
  writeFileSync(join(dir, 'initramfs-amd64.xz'), fakeInitramfs(8192));
  copyFileSync(join(ROOT, 'test/fixtures/talos/config.schema.v1.13.json'), join(dir, 'config.schema.json'));
}

const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

t.test(
  'a healthy setup: every check passes (exit 0)',
  { skip: lanAddress ? false : 'no non-loopback IPv4 address on this host' },
  async (t) => {
    const port = await freePort();
    const advertise = `http://${lanAddress}:${port}`;
    const s = await serve(t, { listenHost: '0.0.0.0', port, args: ['--advertise-url', advertise] });
    chmodSync(s.dataDir, 0o700);
    talosAssets(s.assetsDir);
    const gen = talosctlOutput(join(s.dir, 'gen'));
    t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env)).code, 0);
    t.equal(
      (
        await runCli(
          ['machine', 'add', '52:54:00:00:00:01', '--hostname', 'cp-1', '--role', 'controlplane', '--cluster', 'prod'],
          s.env,
        )
      ).code,
      0,
    );

    const args = [
      'doctor',
      '--listen',
      `0.0.0.0:${port}`,
      '--advertise-url',
      advertise,
      '--tftp-listen',
      'off',
      '--assets-dir',
      s.assetsDir,
      '--data-dir',
      s.dataDir,
    ];
    const r = await runCli(args, s.env);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(
      r.stdout,
      /^server\n {2}ok {4}http:\/\/127\.0\.0\.1:\d+ answers; the API token is accepted \(1 cluster\(s\), 1 machine\(s\)\)/m,
    );
    t.match(r.stdout, new RegExp(`ok {4}HTTP 0\\.0\\.0\\.0:${port}/tcp: in use by metalboot \\(pid \\d+\\)`));
    t.match(r.stdout, /info {2}TFTP 69\/udp: (not used|held by .*) .*TFTP is off/);
    t.match(r.stdout, new RegExp(`ok {4}${lanAddress!.replace(/\./g, '\\.')} is an address of this host`));
    t.match(r.stdout, `ok    ${advertise}/healthz answers from here`);
    t.match(r.stdout, /info {2}metalboot does not answer DHCP: your DHCP server must send PXE firmware to next-server/);
    t.match(r.stdout, /ok {4}prod \(Talos v1\.13\.9, amd64\): kernel and initramfs served/);
    t.match(r.stdout, /ok {4}prod: config schema .*config\.schema\.json/);
    t.match(r.stdout, /info {2}API token from METALBOOT_API_TOKEN/);
    t.match(r.stdout, /ok {4}.*data: the database is not readable by other users/);
    t.match(r.stdout, /ok {4}iPXE templates in templates\/ipxe compile/);
    t.match(r.stdout, /machines\n {2}ok {4}1 machine\(s\), none failed, stalled or waiting/);
    t.match(
      r.stdout,
      /^ {2}info {2}connection limits: HTTP: header 60 s, body idle 60 s, keep-alive 30 s, download idle 60 s, 4096 connections \(64 per source\); TFTP: 8 transfers per source$/m,
      'the connection limits in force',
    );
    t.match(r.stdout, /\n(no problems found|no problems, \d+ warning\(s\))\n$/);

    const json = JSON.parse((await runCli([...args, '-o', 'json'], s.env)).stdout);
    t.equal(json.summary.fail, 0);
    t.match(json.settings, {
      listen: { host: '0.0.0.0', port },
      advertiseUrl: advertise,
      advertiseFrom: 'setting',
      tftp: null,
      dhcpMode: 'off',
    });
    t.match(json.settings.limits, {
      http: { maxConnectionsPerSource: 64, keepAliveTimeoutMs: 30_000 },
      tftpMaxTransfersPerSource: 8,
    });
    t.ok(json.checks.every((c: { area: string; status: string; message: string }) => c.area && c.status && c.message));
  },
);

t.test('problems are FAIL lines with what to do, and exit 7', async (t) => {
  const tftpPort = await freePort();
  const s = await serve(t, { args: ['--tftp-listen', `127.0.0.1:${tftpPort}`] });
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal(
    (await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION, '--arch', 'arm64'], s.env))
      .code,
    0,
  );
  await fetch(`${s.url}/ipxe?mac=52:54:00:00:00:99&arch=x86_64`); // a discovered machine
  // A machine of the arm64 cluster that booted as x86_64: that arch needs assets too.
  t.equal(
    (
      await runCli(
        ['machine', 'add', '52:54:00:00:00:01', '--hostname', 'w-1', '--role', 'worker', '--cluster', 'prod'],
        s.env,
      )
    ).code,
    0,
  );
  await fetch(`${s.url}/ipxe?mac=52:54:00:00:00:01&arch=x86_64&platform=efi`);

  // A token file others can read, found through --data-dir (no METALBOOT_API_TOKEN).
  const data = join(s.dir, 'client-data');
  mkdirSync(data);
  writeFileSync(join(data, 'api-token'), `${s.token}\n`, { mode: 0o644 });
  chmodSync(join(data, 'api-token'), 0o644);
  // Something else holds the HTTP port doctor is told about.
  const squatter = createServer((socket) => socket.destroy());
  const busy = await freePort();
  await new Promise<void>((r) => squatter.listen(busy, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => squatter.close(() => r())));

  const r = await runCli([
    'doctor',
    '--server',
    s.url,
    '--data-dir',
    data,
    '--listen',
    `127.0.0.1:${busy}`,
    '--tftp-listen',
    `127.0.0.1:${tftpPort}`,
    '--assets-dir',
    s.assetsDir,
  ]);
  t.equal(r.code, 7, r.stdout + r.stderr);
  t.match(
    r.stdout,
    new RegExp(`FAIL {2}HTTP 127\\.0\\.0\\.1:${busy}/tcp: in use by node .*doctor\\.test\\.ts \\(pid \\d+\\)`),
  );
  t.match(r.stdout, /→ stop it, or choose another --listen/);
  t.match(r.stdout, new RegExp(`ok {4}TFTP 127\\.0\\.0\\.1:${tftpPort}/udp: in use by metalboot \\(pid \\d+\\)`));
  t.match(
    r.stdout,
    new RegExp(
      `FAIL {2}http://127\\.0\\.0\\.1:${busy} is a loopback address: no machine can reach it\\n\\s+→ set --advertise-url`,
    ),
  );
  t.match(
    r.stdout,
    /FAIL {2}prod \(Talos v1\.13\.9, arm64\): vmlinuz-arm64 and initramfs-arm64\.xz not served\n\s+→ metalboot assets pull talos --version v1\.13\.9 --arch arm64/,
  );
  t.match(
    r.stdout,
    /FAIL {2}prod \(Talos v1\.13\.9, amd64\)/,
    'the arch a machine of the cluster reported is checked too',
  );
  t.match(
    r.stdout,
    /warn {2}prod: no config schema for v1\.13\.9; configs are validated against the bundled v1\.13 schema/,
  );
  t.match(r.stdout, /warn {2}.*ipxe: undionly\.kpxe, ipxe\.efi missing/);
  t.match(
    r.stdout,
    /FAIL {2}.*client-data\/api-token is mode 0644: other users can read the admin token\n\s+→ chmod 600/,
  );
  t.match(r.stdout, /info {2}1 discovered machine\(s\) waiting to be accepted: 52:54:00:00:00:99/);
  t.match(r.stdout, /\d+ problem\(s\) machines will run into/);

  const settings = await runCli(['doctor', '--listen', 'nonsense', '--dhcp', 'proxy'], s.env);
  t.equal(settings.code, 7);
  t.match(settings.stdout, /settings\n {2}FAIL {2}--listen "nonsense" must be host:port/);
  t.match(settings.stdout, /FAIL {2}--dhcp proxy needs --interface/);
});

t.test('without a server: says so, checks what it can locally', async (t) => {
  const port = await freePort();
  const dir = t.testdir({});
  const r = await runCli([
    'doctor',
    '--server',
    `http://127.0.0.1:${port}`,
    '--token',
    'x'.repeat(20),
    '--listen',
    `127.0.0.1:${port}`,
    '--tftp-listen',
    'off',
    '--data-dir',
    join(dir, 'data'),
    '--advertise-url',
    'http://192.0.2.250:8080',
  ]);
  t.equal(r.code, 7);
  t.match(
    r.stdout,
    new RegExp(`FAIL {2}no metalboot at http://127\\.0\\.0\\.1:${port}: connection refused\\n\\s+→ start it`),
  );
  t.match(r.stdout, new RegExp(`ok {4}HTTP 127\\.0\\.0\\.1:${port}/tcp: free, metalboot can bind it`));
  t.match(r.stdout, /info {2}clusters unknown \(server not reachable\)/);
  t.match(r.stdout, /info {2}.*data does not exist yet; metalboot serve creates it/);
  t.notMatch(r.stdout, /healthz answers/, 'the advertise URL is not probed when nothing runs');
});

t.test('doctor reads metalboot.yaml like serve', async (t) => {
  const dir = t.testdir({});
  const port = await freePort();
  writeFileSync(
    join(dir, 'metalboot.yaml'),
    `listen: 127.0.0.1:${port}\ntftp-listen: off\nadvertise-url: http://198.51.100.7:${port}\n`,
  );
  const r = await runCli([
    'doctor',
    '--config',
    join(dir, 'metalboot.yaml'),
    '--server',
    `http://127.0.0.1:${port}`,
    '--token',
    'x'.repeat(20),
    '-o',
    'json',
  ]);
  t.equal(r.code, 7, 'no server running');
  t.match(JSON.parse(r.stdout).settings, { listen: { port }, advertiseUrl: `http://198.51.100.7:${port}`, tftp: null });
});
