import t from 'tap';
import { join } from 'node:path';
import { blankMachine } from '../../src/core/registry/machines.js';
import { loadTemplates } from '../../src/core/boot/templates.js';
import type { Cluster } from '../../src/core/types.js';
import { buildBootPreview, type BootPreviewEnv } from '../../src/core/boot/preview.js';
import { formatChecks } from '../../src/cli/commands/doctor.js';
import { sameSubnet } from '../../src/doctor/network-checks.js';
import { describeOwner, isMetalbootServe, probeBind } from '../../src/doctor/ports.js';
import { formatPreview, previewBoot } from '../../src/doctor/preview.js';
import type { DoctorApi } from '../../src/doctor/types.js';
import { machineChecks } from '../../src/doctor/server-checks.js';
import { limitsCheck, resolveDoctorSettings } from '../../src/doctor/settings.js';
import { ROOT } from '../helpers/core-app.js';

const NOW = '2026-11-25T10:00:00.000Z';
const cluster: Cluster = {
  name: 'prod',
  talosVersion: 'v1.13.9',
  arch: 'amd64',
  endpoint: null,
  controlplane: '',
  worker: '',
  patches: [],
  kernelArgs: [],
  schematic: null,
  createdAt: NOW,
  updatedAt: NOW,
};

function env(extra: Partial<BootPreviewEnv> = {}): BootPreviewEnv {
  return {
    advertiseUrl: 'http://10.0.0.5:8080/',
    tftp: true,
    dhcpMode: 'proxy',
    discoveryRetrySeconds: 30,
    templates: loadTemplates(join(ROOT, 'templates')),
    extraKernelArgs: () => ['talos.events.sink=10.0.0.5:4002'],
    render: async () => ({ ok: false, errors: ['machine patch 0: boom'] }),
    assetSize: async () => 100,
    computedBy: 'server',
    ...extra,
  };
}

t.test('boot preview: what server-side providers add, invalid configs, unavailable machines', async (t) => {
  const m = {
    ...blankMachine('52:54:00:00:00:01', NOW),
    hostname: 'w1',
    role: 'worker' as const,
    cluster: 'prod',
    ip: '10.0.0.50',
  };
  const req = { mac: m.mac, archCode: 7, ipxe: false, includeConfig: false };
  const p = await buildBootPreview(req, m, cluster, env({ dhcpMode: 'authoritative' }));
  t.match(p.hops[0]!.answer, /offer of the reserved address 10\.0\.0\.50 with boot file ipxe\.efi/);
  t.match(
    p.hops[2]!.answer,
    /offer of the reserved address 10\.0\.0\.50 with boot file http:\/\/10\.0\.0\.5:8080\/boot\.ipxe$/,
    'trailing slash of the advertise URL dropped',
  );
  const kernel = p.hops.find((h) => h.step === 'kernel')!;
  t.ok(
    (kernel.data!.cmdline as string[]).includes('talos.events.sink=10.0.0.5:4002'),
    'provider args before talos.config',
  );
  const config = p.hops.at(-1)!;
  t.match(config, { step: 'config', ok: false, problem: 'machine patch 0: boom', answer: /503/ });
  t.match(
    formatPreview(p, { scripts: false }),
    /outcome: the boot breaks at step 8 \(machine config\): machine patch 0: boom/,
  );
  t.notMatch(
    formatPreview(p, { scripts: false }),
    /computed by this CLI/,
    'a server-computed preview does not apologise',
  );

  const noRole = await buildBootPreview({ ...req, ipxe: true }, { ...m, role: null }, cluster, env());
  t.equal(noRole.outcome, 'unavailable');
  t.match(noRole.hops.at(-1), { ok: false, problem: 'no role assigned' });
  const noCluster = await buildBootPreview({ ...req, ipxe: true }, { ...m, cluster: 'gone' }, undefined, env());
  t.match(noCluster.hops.at(-1)!.problem, 'cluster gone does not exist');
  const weird = await buildBootPreview({ ...req, archCode: 99 }, m, cluster, env());
  t.match(weird, {
    outcome: 'no-boot',
    archName: 'arch 99',
    hops: [{ ok: false, problem: 'unsupported client architecture 99' }],
  });
});

t.test('the dry run asks the server first, and computes it itself only on a server without the route', async (t) => {
  const m = { ...blankMachine('52:54:00:00:00:01', NOW), hostname: 'w1', role: 'worker' as const, cluster: 'prod' };
  const asked: string[] = [];
  const api = (preview: unknown): DoctorApi => ({
    server: 'http://127.0.0.1:1',
    health: async () => undefined,
    get: async () => {
      throw new Error('not used');
    },
    find: async <T>(path: string) => {
      asked.push(path);
      if (path.includes('/preview')) return preview as T;
      return (path === `/machines/${m.mac}` ? m : path === '/clusters/prod' ? cluster : undefined) as T;
    },
    head: async () => ({ status: 200, size: 10 }),
  });
  const { settings } = resolveDoctorSettings({
    listen: '127.0.0.1:9000',
    dhcp: 'off',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: join(ROOT, 'templates'),
    discoveryRetry: '30',
    tftpListen: 'off',
  });
  const req = { mac: m.mac, archCode: 7, ipxe: false, includeConfig: true };

  const fromServer = { computedBy: 'server', hops: [] };
  t.equal(await previewBoot(req, api(fromServer), settings), fromServer, "the server's answer as is");
  t.same(asked, [`/machines/${m.mac}/preview?arch=7&ipxe=0&config=1`]);

  asked.length = 0;
  const local = await previewBoot(req, api(undefined), settings);
  t.same(
    asked,
    [`/machines/${m.mac}/preview?arch=7&ipxe=0&config=1`, `/machines/${m.mac}`, '/clusters/prod'],
    'then the records',
  );
  t.match(
    local,
    {
      computedBy: 'cli',
      outcome: 'no-boot',
      hops: [{ step: 'dhcp', ok: false, problem: 'client needs TFTP, which is disabled' }],
    },
    "against doctor's own settings",
  );
  t.match(formatPreview(local, { scripts: false }), /computed by this CLI/);
});

t.test('doctor helpers', async (t) => {
  t.ok(sameSubnet('10.0.0.9', '10.0.0.1', '255.255.255.0'));
  t.notOk(sameSubnet('10.0.1.9', '10.0.0.1', '255.255.255.0'));
  t.ok(isMetalbootServe(['/usr/bin/node', '/opt/metalboot/dist/cli/main.js', 'serve', '--listen', ':8080']));
  t.ok(isMetalbootServe(['/usr/local/bin/metalboot', 'serve']));
  t.notOk(isMetalbootServe(['/usr/local/bin/metalboot', 'doctor']));
  t.notOk(isMetalbootServe(['/usr/sbin/dnsmasq', '-k']));
  t.equal(
    describeOwner({ pid: 7, command: '/usr/sbin/dnsmasq -k --conf-file=/etc/x', isMetalboot: false }),
    'dnsmasq (pid 7)',
  );
  t.equal(
    describeOwner({ pid: 8, command: '/usr/bin/node --enable-source-maps /srv/app/server.js', isMetalboot: false }),
    'node app/server.js (pid 8)',
  );
  t.same(
    await probeBind('tcp', '192.0.2.254', 0).then((r) => r.state),
    'error',
    'an address not on this host cannot be bound',
  );

  const { settings, checks } = resolveDoctorSettings({
    listen: ':9000',
    dhcp: 'proxy',
    interface: 'nosuchif0',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: 't',
    discoveryRetry: 'x',
    tftpListen: 'off',
  });
  t.match(settings, {
    listen: { host: '0.0.0.0', port: 9000 },
    tftp: null,
    dhcpMode: 'proxy',
    advertiseUrl: 'http://127.0.0.1:9000',
    discoveryRetrySeconds: 30,
  });
  t.match(checks, [{ area: 'settings', status: 'fail', message: /nosuchif0.*does not exist/ }]);
  t.notOk(
    checks.some((c) => c.status === 'info'),
    'resolving settings only reports problems (a dry run prints each as a warning)',
  );
  t.match(
    limitsCheck(settings),
    {
      area: 'settings',
      message: /^connection limits: HTTP: header 60 s, .*64 per source\); TFTP: 8 transfers per source$/,
    },
    'doctor shows the connection limits',
  );
  t.equal(settings.limits.http.maxConnectionsPerSource, 64);
  const limited = resolveDoctorSettings({
    listen: ':9000',
    dhcp: 'off',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: 't',
    discoveryRetry: '30',
    httpKeepaliveTimeout: '90',
    httpMaxConnectionsPerSource: '16',
  });
  t.match(
    limited.checks,
    [
      {
        area: 'settings',
        status: 'fail',
        message: /--http-keepalive-timeout must be a whole number from 1 to 75, got "90"/,
        hint: /serve refuses/,
      },
    ],
    'a limit serve would refuse fails doctor',
  );
  const custom = resolveDoctorSettings({
    listen: ':9000',
    dhcp: 'off',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: 't',
    discoveryRetry: '30',
    httpMaxConnectionsPerSource: '16',
    tftpMaxTransfersPerSource: '2',
  });
  t.match(
    limitsCheck(custom.settings),
    { status: 'info', message: /\(16 per source\); TFTP: 2 transfers per source/ },
    'and shows the ones it was given',
  );

  const growth = resolveDoctorSettings({
    listen: ':9000',
    dhcp: 'off',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: 't',
    discoveryRetry: '30',
    discoveredMax: '0',
    eventMaxRows: '5',
  }).checks;
  t.match(
    growth,
    [{ area: 'settings', status: 'fail', message: /--discovered-max must be/, hint: /serve refuses/ }],
    'serve would refuse these limits: so does doctor',
  );

  const many = Array.from({ length: 25 }, (_, i) => ({
    ...blankMachine(`52:54:00:00:01:${String(i).padStart(2, '0')}`, NOW),
    state: 'discovered' as const,
  }));
  const listed = machineChecks(many)[0]!.message;
  t.match(listed, /^25 discovered machine\(s\) waiting to be accepted: 52:54:00:00:01:00, .*, …$/);
  t.equal(listed.split(', ').length, 11, 'ten MACs shown, not the whole list');

  const base = {
    listen: ':9000',
    dhcp: 'off',
    dataDir: 'd',
    assetsDir: 'a',
    templatesDir: 't',
    discoveryRetry: '30',
    tftpListen: 'off',
  };
  t.same(resolveDoctorSettings(base).checks, [], 'the default --config-binding: nothing to say');
  t.match(resolveDoctorSettings({ ...base, configBinding: 'first-request' }).checks, [
    {
      area: 'settings',
      status: 'warn',
      message: /--config-binding first-request: any host that knows a registered MAC/,
    },
  ]);
  t.match(resolveDoctorSettings({ ...base, configBinding: 'arp' }).checks, [
    { area: 'settings', status: 'fail', message: /--config-binding .arp. must be/ },
  ]);

  const machines = [
    { ...blankMachine('52:54:00:00:00:01', NOW), state: 'discovered' as const },
    {
      ...blankMachine('52:54:00:00:00:02', NOW),
      hostname: 'w2',
      state: 'stalled' as const,
      cluster: 'prod',
      role: 'worker' as const,
    },
    { ...blankMachine('52:54:00:00:00:03', NOW), hostname: 'w3' },
  ];
  const found = machineChecks(machines);
  t.match(found, [
    { status: 'info', message: /1 discovered/ },
    { status: 'warn', message: /w2 is stalled/ },
    { status: 'warn', message: /w3 cannot install: no cluster/ },
  ]);
  t.equal(formatChecks(found).split('\n')[0], 'machines');
  t.match(
    formatChecks(found),
    /\n {2}warn {2}w2 is stalled since .*\n {8}→ metalboot machine events 52:54:00:00:00:02/,
  );
});
