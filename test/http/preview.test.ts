/**
 * GET /api/v1/machines/:mac/preview: the server's dry run of a boot. It must answer exactly what
 * the boot routes would (same decision, same kernel-argument providers, same renderer) while
 * recording nothing: no discovery, no timeline or audit entries, no tokens, no wipe bookkeeping.
 */
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootNetwork } from '../../src/core/boot/boot-service.js';
import { clusterBody, makeApp, type TestApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:22';
const IP = '10.9.0.50';

/** Everything a boot could write (config tokens live in the machine rows): compared before and after previews. */
function snapshot(a: TestApp): string {
  const db = a.store.db;
  const dump = (table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
  return JSON.stringify(['machines', 'machine_events', 'audit_log', 'leases', 'machine_progress'].map(dump));
}

type Hop = { step: string; ok: boolean; answer: string; problem?: string; data?: Record<string, any> };
const hop = (p: { hops: Hop[] }, step: string) => p.hops.find((h) => h.step === step);

async function setup(t: Test, net: BootNetwork = { tftp: true, dhcpMode: 'proxy' }) {
  const a = await makeApp(t, { bootNetwork: () => net });
  a.talosEndpoints.advertise({ events: '10.9.0.1:4002', kmsg: 'tcp://10.9.0.1:4001/' });
  mkdirSync(join(a.assetsDir, 'ipxe'), { recursive: true });
  writeFileSync(join(a.assetsDir, 'ipxe', 'ipxe.efi'), Buffer.alloc(2048));
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  return a;
}

t.test('preview of a registered machine: the install, exactly as served, recording nothing', async (t) => {
  const a = await setup(t);
  t.equal(
    (
      await a.api('POST', '/api/v1/machines', {
        mac: MAC,
        hostname: 'worker-1',
        role: 'worker',
        cluster: 'prod',
        installDisk: '/dev/nvme0n1',
      })
    ).status,
    201,
  );
  const before = snapshot(a);

  const r = await a.api('GET', `/api/v1/machines/${MAC.toUpperCase().replace(/:/g, '-')}/preview?arch=7`);
  t.equal(r.status, 200, r.body);
  const p = r.json;
  t.match(p, {
    mac: MAC,
    archCode: 7,
    archName: 'x86-64 UEFI',
    ipxe: false,
    computedBy: 'server',
    outcome: 'install',
    machine: { state: 'registered', cluster: 'prod', role: 'worker', hostname: 'worker-1' },
  });
  t.same(
    p.hops.map((h: Hop) => h.step),
    ['dhcp', 'tftp', 'dhcp-ipxe', 'boot-script', 'machine-script', 'kernel', 'initramfs', 'config'],
  );
  t.match(
    hop(p, 'dhcp')!.answer,
    /proxyDHCP offer .*boot file ipxe\.efi \(TFTP from this host\)/,
    "the server's DHCP mode and TFTP",
  );
  t.match(hop(p, 'tftp'), { ok: true, answer: 'assets/ipxe/ipxe.efi (2048 bytes)' });
  t.match(
    hop(p, 'kernel'),
    { ok: true, answer: 'vmlinuz-amd64 (65536 bytes)' },
    'asset sizes from the assets directory',
  );
  const cmdline: string[] = hop(p, 'kernel')!.data!.cmdline;
  t.ok(
    cmdline.includes('talos.events.sink=10.9.0.1:4002') &&
      cmdline.includes('talos.logging.kernel=tcp://10.9.0.1:4001/'),
    'kernel-argument providers included',
  );
  t.equal(
    cmdline.at(-1),
    `talos.config=http://10.9.0.1:8080/config/${MAC}?token=<issued-per-boot>`,
    'a placeholder, not a token',
  );
  t.notMatch(r.body, /token=[A-Za-z0-9_-]{43}/, 'no usable token anywhere');
  const config = hop(p, 'config')!;
  t.match(
    config,
    {
      ok: true,
      data: { documents: ['v1alpha1 (machine.type worker)', 'HostnameConfig', 'EventSinkConfig', 'KmsgLogConfig'] },
    },
    'document providers included',
  );
  t.notOk('yaml' in config.data!, 'no config without config=1');
  t.equal(snapshot(a), before, 'nothing recorded, no token issued');

  // The real boot answers what the preview said.
  const real = await a.get(`/ipxe?mac=${MAC}&arch=x86_64&platform=efi`, IP);
  t.equal(real.headers['x-metalboot-script'], p.outcome);
  const realCmdline = /^kernel \S+ initrd=\S+ (.*)$/m.exec(real.body)![1]!.split(' ');
  t.same(realCmdline.slice(0, -1), cmdline.slice(0, -1), 'same kernel command line, but for the token');
  t.match(
    realCmdline.at(-1),
    /^talos\.config=http:\/\/10\.9\.0\.1:8080\/config\/aa:bb:cc:00:11:22\?token=[A-Za-z0-9_-]{43}$/,
  );
  t.equal(
    hop(p, 'machine-script')!.data!.script,
    real.body.replace(/token=[A-Za-z0-9_-]+/, 'token=<issued-per-boot>'),
    'the same script',
  );

  const withConfig = await a.api('GET', `/api/v1/machines/${MAC}/preview?arch=7&ipxe=1&config=1`);
  t.equal(withConfig.status, 200);
  t.same(
    withConfig.json.hops.map((h: Hop) => h.step),
    ['dhcp-ipxe', 'boot-script', 'machine-script', 'kernel', 'initramfs', 'config'],
  );
  t.match(
    hop(withConfig.json, 'config')!.data!.yaml,
    /hostname: worker-1/,
    'the rendered config for the admin with config=1',
  );
  const audit = (await a.api('GET', `/api/v1/audit?target=${MAC}`)).json.items as {
    action: string;
    actor: string;
    sourceIp: string;
    detail: { bytes: number };
  }[];
  const previewed = audit.filter((e) => e.action === 'config.previewed');
  t.equal(previewed.length, 1, 'showing the config (its keys) is audited, once');
  t.match(previewed[0], {
    actor: 'api',
    sourceIp: '192.0.2.10',
    detail: { bytes: Buffer.byteLength(hop(withConfig.json, 'config')!.data!.yaml) },
  });
});

t.test('preview of an installed machine, a reimage, and an unknown MAC', async (t) => {
  const a = await setup(t);
  t.equal(
    (
      await a.api('POST', '/api/v1/machines', {
        mac: MAC,
        hostname: 'worker-1',
        role: 'worker',
        cluster: 'prod',
        installed: true,
      })
    ).status,
    201,
  );

  let before = snapshot(a);
  const installed = (await a.api('GET', `/api/v1/machines/${MAC}/preview?ipxe=1`)).json;
  t.match(
    installed,
    { archCode: 7, outcome: 'localboot', machine: { state: 'installed', installed: true } },
    'arch defaults to 7',
  );
  t.equal(snapshot(a), before);
  t.equal((await a.get(`/ipxe?mac=${MAC}&arch=x86_64`, IP)).headers['x-metalboot-script'], 'localboot');

  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/reimage`, {})).status, 202);
  before = snapshot(a);
  const wipe = (await a.api('GET', `/api/v1/machines/${MAC}/preview?arch=7&ipxe=1&config=1`)).json;
  t.match(wipe, {
    outcome: 'wipe',
    machine: { state: 'reimage-requested', reimage: { wipe: 'system', wipeServedAt: null, wipeBootedAt: null } },
  });
  t.same(
    wipe.hops.map((h: Hop) => h.step),
    ['dhcp-ipxe', 'boot-script', 'machine-script', 'kernel', 'initramfs'],
    'no config on the wipe boot',
  );
  t.equal(hop(wipe, 'kernel')!.data!.cmdline.at(-1), 'talos.experimental.wipe=system');
  t.equal(snapshot(a), before, 'no wipe noted, no token revoked, nothing recorded');
  const real = await a.get(`/ipxe?mac=${MAC}&arch=x86_64`, IP);
  t.equal(real.headers['x-metalboot-script'], 'wipe');
  t.equal(hop(wipe, 'machine-script')!.data!.script, real.body, 'the same wipe script');

  // The wipe kernel booted: the next boot installs, and the preview follows.
  t.equal((await a.get('/assets/talos/v1.13.9/initramfs-amd64.xz', IP)).statusCode, 200);
  await new Promise((resolve) => setImmediate(resolve));
  const next = (await a.api('GET', `/api/v1/machines/${MAC}/preview?ipxe=1`)).json;
  t.equal(next.outcome, 'install', 'after the wipe boot, the install');
  t.equal((await a.get(`/ipxe?mac=${MAC}&arch=x86_64`, IP)).headers['x-metalboot-script'], 'install');

  const unknown = '52:54:00:de:ad:01';
  before = snapshot(a);
  const u = await a.api('GET', `/api/v1/machines/${unknown}/preview?arch=0&ipxe=1`);
  t.equal(u.status, 200, 'unknown MACs get a preview too');
  t.match(u.json, { mac: unknown, machine: null, outcome: 'discovery', archName: 'x86 BIOS' });
  t.match(hop(u.json, 'machine-script')!.answer, /discovery script/);
  t.equal(snapshot(a), before, 'not discovered by asking');
  t.equal((await a.api('GET', `/api/v1/machines/${unknown}`)).status, 404);
});

t.test('preview: the server network, unavailable machines, bad input', async (t) => {
  const a = await setup(t, { tftp: false, dhcpMode: 'off' });
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'worker-1', role: 'worker', cluster: 'prod' }))
      .status,
    201,
  );
  const noTftp = (await a.api('GET', `/api/v1/machines/${MAC}/preview?arch=7`)).json;
  t.match(noTftp, {
    outcome: 'no-boot',
    hops: [{ step: 'dhcp', ok: false, problem: 'client needs TFTP, which is disabled' }],
  });
  const http = (await a.api('GET', `/api/v1/machines/${MAC}/preview?arch=16`)).json;
  t.match(hop(http, 'http-boot'), { ok: true, answer: 'assets/ipxe/ipxe.efi (2048 bytes)' });
  t.match(hop(http, 'dhcp')!.answer, /metalboot does not answer DHCP/);

  t.equal((await a.api('PATCH', `/api/v1/machines/${MAC}`, { role: null })).status, 200);
  const noRole = (await a.api('GET', `/api/v1/machines/${MAC}/preview?ipxe=1`)).json;
  t.match(noRole, {
    outcome: 'unavailable',
    hops: [{}, {}, { step: 'machine-script', ok: false, problem: 'no role assigned' }],
  });
  t.equal((await a.get(`/ipxe?mac=${MAC}&arch=x86_64`, IP)).headers['x-metalboot-script'], 'unavailable');

  const bad = await a.api('GET', '/api/v1/machines/not-a-mac/preview');
  t.equal(bad.status, 400);
  t.match(bad.json, { error: 'validation', message: /is not a MAC address/ });
  for (const q of ['arch=65536', 'arch=-1', 'arch=x', 'arch=07', 'ipxe=2', 'config=yes', 'other=1']) {
    t.equal((await a.api('GET', `/api/v1/machines/${MAC}/preview?${q}`)).status, 400, q);
  }
  t.equal((await a.api('GET', `/api/v1/machines/${MAC}/preview?arch=65535`)).json.archName, 'arch 65535');
  const anon = await a.app.inject({ url: `/api/v1/machines/${MAC}/preview` });
  t.equal(anon.statusCode, 401, 'admin token required');
});
