/**
 * A config goes only to the machine that boots, proven with real clients on a bridge in network
 * namespaces this test creates: the built `metalboot serve` (authoritative DHCP with the default
 * --config-binding; and in proxy mode beside dnsmasq, tied by DHCP alone), a victim that gets
 * its lease with busybox udhcpc and fetches its script and config with curl from its own address,
 * and an attacker on the same segment that knows the victim's MAC and UUID.
 *
 * The attacker gets no config and no working token, never revokes the victim's token (the victim
 * still gets its config afterwards), is audited once per minute with a growing count (not once
 * per request), and asking with the victim's delivered URL is a conflict (red timeline entry,
 * audit, metric).
 */
import t, { type Test } from 'tap';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/core-app.js';
import { labAvailable, makeClientHost, startDnsmasq } from '../helpers/dhcp-lab.js';
import { createNetns, waitForLine, type Netns, type NetnsHost } from '../helpers/netns.js';
import { CLI, TEST_LISTENERS } from '../helpers/spawn-server.js';

const TOKEN = 'binding-lab-token-0123456789';
const VICTIM_MAC = '52:54:00:c0:00:01';
const VICTIM_UUID = '4c4c4544-0031-3510-8052-b4c04f4e3132';
const ATTACKER_MAC = '52:54:00:c0:00:66';
const ATTEMPTS = 6;

interface Http {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** curl inside a namespace (bounded), with status and headers. */
async function curl(net: Netns, ns: string, url: string, extra: string[] = []): Promise<Http> {
  const r = await net.run(ns, ['curl', '-sS', '-i', '--max-time', '10', ...extra, url], 15_000);
  if (r.code !== 0) throw new Error(`curl ${url} in ${ns}: ${r.stderr}`);
  const split = r.stdout.indexOf('\r\n\r\n');
  const head = r.stdout.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(
    head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(head[0]!.split(' ')[1]), headers, body: r.stdout.slice(split + 4) };
}

interface Lab {
  net: Netns;
  server: NetnsHost;
  victim: NetnsHost;
  attacker: NetnsHost;
  base: string;
  api: (path: string, body?: unknown) => Promise<any>;
  dir: string;
}

/** metalboot serve in the first namespace, the cluster and the victim registered through its API. */
async function startLab(
  t: Test,
  net: Netns,
  server: NetnsHost,
  victim: NetnsHost,
  attacker: NetnsHost,
  serveArgs: string[],
): Promise<Lab> {
  const dir = t.testdir({});
  const assets = join(dir, 'assets');
  mkdirSync(join(assets, 'talos', 'v1.13.9'), { recursive: true });
  writeFileSync(join(assets, 'talos', 'v1.13.9', 'vmlinuz-amd64'), Buffer.alloc(4096, 3));
  writeFileSync(join(assets, 'talos', 'v1.13.9', 'initramfs-amd64.xz'), Buffer.alloc(4096, 4));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('METALBOOT_')));
  const mb = net.spawn(
    server.ns,
    [
      process.execPath,
      CLI,
      'serve',
      '--listen',
      `${server.address}:8080`,
      '--interface',
      'eth0',
      '--tftp-listen',
      'off',
      ...serveArgs,
    ],
    {
      ...env,
      ...TEST_LISTENERS,
      METALBOOT_DATA_DIR: join(dir, 'data'),
      METALBOOT_ASSETS_DIR: assets,
      METALBOOT_API_TOKEN: TOKEN,
    },
  );
  await waitForLine(mb, /metalboot ready/, 20_000);
  const base = `http://${server.address}:8080`;
  const api = async (path: string, body?: unknown) => {
    const extra = [
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      ...(body ? ['-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body)] : []),
    ];
    const r = await curl(net, server.ns, `${base}/api/v1${path}`, extra);
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  };
  await api('/clusters', {
    name: 'lab',
    talosVersion: 'v1.13.9',
    controlplane: fixture('talos/examples/v1.13/controlplane.yaml'),
    worker: fixture('talos/examples/v1.13/worker.yaml'),
  });
  await api('/machines', {
    mac: VICTIM_MAC,
    uuid: VICTIM_UUID,
    hostname: 'cp-1',
    role: 'controlplane',
    cluster: 'lab',
    installDisk: '/dev/vda',
  });
  return { net, server, victim, attacker, base, api, dir };
}

/** The victim's lease from busybox udhcpc (as PXE firmware: vendor class PXEClient), applied to its interface. */
async function victimLease(t: Test, lab: Lab): Promise<string> {
  const script = join(lab.dir, 'udhcpc.sh');
  writeFileSync(
    script,
    '#!/bin/sh\ncase "$1" in bound|renew)\n  ip addr flush dev "$interface"\n  ip addr add "$ip/${mask:-24}" dev "$interface"\n  echo "LEASE ip=$ip";;\nesac\n',
  );
  chmodSync(script, 0o755);
  makeClientHost(lab.victim.ns, VICTIM_MAC);
  const r = await lab.net.run(
    lab.victim.ns,
    [
      'busybox',
      'udhcpc',
      '-i',
      'eth0',
      '-n',
      '-q',
      '-f',
      '-t',
      '5',
      '-T',
      '2',
      '-s',
      script,
      '-V',
      'PXEClient:Arch:00000:UNDI:002001',
    ],
    30_000,
  );
  const ip = /LEASE ip=(\S+)/.exec(r.stdout)?.[1];
  t.ok(ip, `the victim got a lease\n${r.stdout}\n${r.stderr}`);
  return ip!;
}

/** The attack and the victim's boot, the same in every DHCP mode. */
async function attackAndBoot(t: Test, lab: Lab, victimIp: string, refusedReason: string): Promise<void> {
  const { net, base } = lab;
  const script = (ns: string, query: string) => curl(net, ns, `${base}/ipxe?${query}&arch=x86_64&platform=pcbios`);

  // The victim asks first, from its own address: its install script, with a config URL.
  const own = await script(lab.victim.ns, `mac=${encodeURIComponent(VICTIM_MAC)}&uuid=${VICTIM_UUID}`);
  t.equal(own.headers['x-metalboot-script'], 'install', "the victim's install script");
  const configUrl = /talos\.config=(\S+)/.exec(own.body)?.[1];
  t.ok(configUrl, 'the victim gets a config URL');

  // The attacker, with the victim's MAC, and with its own MAC and the victim's UUID.
  for (let i = 0; i < ATTEMPTS; i++) {
    const stolen = await script(lab.attacker.ns, `mac=${encodeURIComponent(VICTIM_MAC)}&uuid=${VICTIM_UUID}`);
    t.equal(stolen.headers['x-metalboot-script'], 'refused', `attempt ${i + 1}: refused`);
    t.notMatch(stolen.body, 'talos.config=', 'no config URL');
    const byUuid = await script(lab.attacker.ns, `mac=${encodeURIComponent(ATTACKER_MAC)}&uuid=${VICTIM_UUID}`);
    t.equal(byUuid.headers['x-metalboot-script'], 'refused', `attempt ${i + 1} by UUID: refused`);
    t.notMatch(byUuid.body, 'talos.config=');
    const guessed = await curl(net, lab.attacker.ns, `${base}/config/${VICTIM_MAC}?token=guess${i}`);
    t.equal(guessed.status, 403, 'no working token either');
  }

  // The victim's token survived all of it.
  const config = await curl(net, lab.victim.ns, configUrl!);
  t.equal(config.status, 200, 'the victim gets its config');
  t.match(config.body, /hostname: cp-1/);

  // The attacker with the victim's delivered URL (say, sniffed): refused, and a conflict.
  const replay = await curl(net, lab.attacker.ns, configUrl!);
  t.equal(replay.status, 403);
  t.notMatch(replay.body, 'machine:', 'no config in the refusal');

  const audit = (
    (await lab.api('/audit?limit=1000')) as {
      items: Array<{ action: string; sourceIp: string; detail: { reason: string; count: number } }>;
    }
  ).items;
  const fromAttacker = (action: string) =>
    audit.filter((e) => e.action === action && e.sourceIp === lab.attacker.address);
  const binding = fromAttacker('config.binding-refused');
  t.same(
    binding.map((e) => [e.detail.reason, e.detail.count]).sort(),
    [
      ['matched by UUID only, which any client can claim', ATTEMPTS],
      [refusedReason, ATTEMPTS],
    ].sort(),
    'one entry per reason for the minute, counting every attempt',
  );
  const configRefusals = fromAttacker('config.refused');
  t.same(
    configRefusals.map((e) => [e.detail.reason, e.detail.count]).sort(),
    [
      ['request from another address than the one the boot script was fetched from', 1],
      ['wrong token', ATTEMPTS],
    ].sort(),
  );
  t.equal(fromAttacker('config.conflict').length, 1, 'the conflict is audited');
  t.equal(audit.filter((e) => e.action === 'config.delivered').length, 1, "one config delivered: the victim's");

  const events = (
    (await lab.api(`/machines/${VICTIM_MAC}/events?limit=1000`)) as {
      items: Array<{ kind: string; sourceIp: string; detail: Record<string, unknown> }>;
    }
  ).items;
  t.match(
    events.find((e) => e.kind === 'config-conflict'),
    { sourceIp: lab.attacker.address, detail: { severity: 'critical', deliveredTo: victimIp } },
    'red on the timeline',
  );
  t.ok(
    events.filter((e) => e.kind === 'machine-script').every((e) => e.sourceIp === victimIp),
    "only the victim's script requests moved the machine",
  );
  const metrics = await curl(net, lab.server.ns, `${base}/metrics`);
  t.match(metrics.body, /^metalboot_config_conflicts_total 1$/m);
}

t.test('authoritative DHCP, default binding: the attacker next door gets nothing', async (t) => {
  if (!labAvailable(t)) return;
  const net = await createNetns(t, { hosts: 3, bridge: true, subnet: '10.246.31' });
  const [server, victim, attacker] = net.hosts as [NetnsHost, NetnsHost, NetnsHost];
  const lab = await startLab(t, net, server, victim, attacker, [
    '--dhcp',
    'authoritative',
    '--dhcp-range',
    '10.246.31.100-10.246.31.150',
  ]);
  const victimIp = await victimLease(t, lab);
  t.match(victimIp, /^10\.246\.31\.1\d\d$/, "from metalboot's pool");
  // The attacker's neighbour entry on the server names the attacker's MAC, not the victim's.
  await attackAndBoot(t, lab, victimIp, 'the neighbour table holds another MAC for the source address');
});

t.test(
  'proxy DHCP beside dnsmasq, --config-binding dhcp: the REQUEST metalboot overheard ties the victim alone',
  async (t) => {
    if (!labAvailable(t)) return;
    const net = await createNetns(t, { hosts: 4, bridge: true, subnet: '10.246.32' });
    const [server, dhcpServer, victim, attacker] = net.hosts as [NetnsHost, NetnsHost, NetnsHost, NetnsHost];
    await startDnsmasq(net, dhcpServer.ns, t.testdir({}), '10.246.32.100-10.246.32.150');
    const lab = await startLab(t, net, server, victim, attacker, ['--dhcp', 'proxy', '--config-binding', 'dhcp']);
    const victimIp = await victimLease(t, lab);
    t.match(victimIp, /^10\.246\.32\.1\d\d$/, 'from dnsmasq');
    // Only the DHCP sighting could tie the victim; the attacker's own neighbour entry still speaks against it.
    await attackAndBoot(t, lab, victimIp, 'the neighbour table holds another MAC for the source address');
  },
);
