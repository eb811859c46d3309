/**
 * The whole first half of a network boot through the real `metalboot serve` (built CLI), with real
 * clients, inside network namespaces this test creates: busybox udhcpc gets its reserved address
 * and boot file from metalboot's authoritative DHCP, tftp-hpa fetches the iPXE binary, curl plays
 * iPXE and Talos over HTTP — and the machine's timeline shows every hop.
 */
import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/core-app.js';
import { createNetns, skipUnlessRoot, waitForLine } from '../helpers/netns.js';
import { CLI } from '../helpers/spawn-server.js';

const TOKEN = 'integration-token-0123456789';

t.test('DHCP → TFTP → iPXE script → kernel → config, on one timeline', async (t) => {
  if (!skipUnlessRoot(t)) return;
  const dir = t.testdir({});
  const assets = join(dir, 'assets');
  mkdirSync(join(assets, 'ipxe'), { recursive: true });
  mkdirSync(join(assets, 'talos', 'v1.13.9'), { recursive: true });
  const ipxe = Buffer.alloc(70_000);
  for (let i = 0; i < ipxe.length; i++) ipxe[i] = (i * 31 + 7) & 0xff;
  writeFileSync(join(assets, 'ipxe', 'undionly.kpxe'), ipxe);
  writeFileSync(join(assets, 'talos', 'v1.13.9', 'vmlinuz-amd64'), Buffer.alloc(200_000, 3));
  writeFileSync(join(assets, 'talos', 'v1.13.9', 'initramfs-amd64.xz'), Buffer.alloc(300_000, 4));
  const script = join(dir, 'udhcpc.sh');
  writeFileSync(
    script,
    '#!/bin/sh\ncase "$1" in bound|renew)\n  ip addr flush dev "$interface"\n  ip addr add "$ip/${mask:-24}" dev "$interface"\n  echo "LEASE ip=$ip siaddr=$siaddr boot_file=$boot_file";;\nesac\n',
  );
  chmodSync(script, 0o755);
  writeFileSync(
    join(dir, 'cluster.json'),
    JSON.stringify({
      name: 'lab',
      talosVersion: 'v1.13.9',
      controlplane: fixture('talos/examples/v1.13/controlplane.yaml'),
      worker: fixture('talos/examples/v1.13/worker.yaml'),
    }),
  );

  const net = await createNetns(t, { hosts: 2, subnet: '10.254.7' });
  const [server, client] = net.hosts as [(typeof net.hosts)[0], (typeof net.hosts)[0]];
  const mb = net.spawn(
    server.ns,
    [
      process.execPath,
      CLI,
      'serve',
      '--listen',
      `${server.address}:8080`,
      '--dhcp',
      'authoritative',
      '--interface',
      server.ifname,
      '--dhcp-range',
      '10.254.7.100-10.254.7.150',
      '--dhcp-router',
      server.address,
      '--tftp-listen',
      `${server.address}:69`,
    ],
    {
      ...process.env,
      METALBOOT_DATA_DIR: join(dir, 'data'),
      METALBOOT_ASSETS_DIR: assets,
      METALBOOT_API_TOKEN: TOKEN,
    },
  );
  await waitForLine(mb, /metalboot ready/, 20_000);

  const clientMac = (await net.run(client.ns, ['cat', `/sys/class/net/${client.ifname}/address`])).stdout.trim();
  const base = `http://${server.address}:8080`;
  const curl = async (...args: string[]) => {
    const r = await net.run(client.ns, ['curl', '-sS', '--max-time', '10', ...args], 15_000);
    t.equal(r.code, 0, `curl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const auth = ['-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Content-Type: application/json'];
  t.match(
    JSON.parse(await curl(...auth, '--data-binary', `@${join(dir, 'cluster.json')}`, `${base}/api/v1/clusters`)),
    { cluster: { name: 'lab' } },
  );
  const reg = JSON.parse(
    await curl(
      ...auth,
      '-d',
      JSON.stringify({
        mac: clientMac.toUpperCase(),
        hostname: 'node-7',
        role: 'worker',
        cluster: 'lab',
        ip: '10.254.7.77',
        installDisk: '/dev/vda',
      }),
      `${base}/api/v1/machines`,
    ),
  );
  t.equal(reg.mac, clientMac);

  // Legacy BIOS PXE firmware: arch 0, vendor class PXEClient
  const dhcp = await net.run(
    client.ns,
    [
      'busybox',
      'udhcpc',
      '-i',
      client.ifname,
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
      '-x',
      '0x5d:0000',
    ],
    30_000,
  );
  t.match(
    dhcp.stdout,
    `LEASE ip=10.254.7.77 siaddr=${server.address} boot_file=undionly.kpxe`,
    `reserved address and BIOS boot file\n${dhcp.stdout}\n${dhcp.stderr}`,
  );

  const got = join(dir, 'got.kpxe');
  const tftp = await net.run(
    client.ns,
    ['tftp', '-m', 'binary', server.address, '-c', 'get', 'undionly.kpxe', got],
    20_000,
  );
  t.equal(tftp.code, 0, tftp.stderr);
  t.ok(readFileSync(got).equals(ipxe), 'iPXE binary byte-identical');

  const ipxeScript = await curl(`${base}/ipxe?mac=${encodeURIComponent(clientMac)}&arch=x86_64&platform=pcbios`);
  const configUrl = /talos\.config=(\S+)/.exec(ipxeScript)?.[1];
  t.ok(configUrl, 'install script with a config URL');
  t.equal(await curl('-o', '/dev/null', '-w', '%{http_code}', `${base}/assets/talos/v1.13.9/vmlinuz-amd64`), '200');
  t.equal(
    await curl('-o', '/dev/null', '-w', '%{http_code}', `${base}/assets/talos/v1.13.9/initramfs-amd64.xz`),
    '200',
  );
  const config = await curl(configUrl!);
  t.match(config, /hostname: node-7/);

  const events = (
    JSON.parse(await curl(...auth, `${base}/api/v1/machines/${clientMac}/events?limit=1000`)) as {
      items: Array<{ kind: string; state: string | null; sourceIp: string }>;
    }
  ).items;
  const kinds = events.map((e) => e.kind);
  for (const k of [
    'registered',
    'dhcp-discover',
    'dhcp-request',
    'tftp-started',
    'tftp-completed',
    'machine-script',
    'kernel-download-completed',
    'initramfs-download-completed',
    'config-delivered',
  ]) {
    t.ok(kinds.includes(k), `timeline has ${k}`);
  }
  t.ok(
    kinds.indexOf('dhcp-request') < kinds.indexOf('tftp-completed') &&
      kinds.indexOf('tftp-completed') < kinds.indexOf('machine-script'),
    'in order',
  );
  const states = events.filter((e) => e.state).map((e) => e.state);
  t.same(
    states,
    ['registered', 'dhcp', 'pxe', 'pxe-booting', 'kernel-loaded', 'config-delivered'],
    'state follows the boot',
  );
  t.ok(
    events.filter((e) => e.kind.startsWith('tftp')).every((e) => e.sourceIp === '10.254.7.77'),
    'TFTP attributed by the leased address',
  );
});
