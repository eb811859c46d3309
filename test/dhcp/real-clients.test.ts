/**
 * Acceptance: metalboot's DHCP server against real clients (busybox udhcpc, ISC dhclient), beside
 * a real DHCP server (dnsmasq, for proxy mode) and behind a real relay (ISC dhcrelay), all inside
 * namespaces the test creates on 10.253.x.y. Needs root; CI runs it, elsewhere it skips visibly.
 */
import t from 'tap';
import { join } from 'node:path';
import { createNetns, waitForLine } from '../helpers/netns.js';
import {
  addLinkedNamespace,
  addRoute,
  capture,
  dhclient,
  labAvailable,
  makeClientHost,
  spawnNodeMain,
  startDhcpChild,
  startDnsmasq,
  startRelay,
  udhcpc,
} from '../helpers/dhcp-lab.js';
import type { ChildConfig } from '../helpers/dhcp-server-child.js';

const RESERVED_MAC = '52:54:00:ab:cd:02';

t.test('authoritative: udhcpc and dhclient get leases, boot file follows the client', async (t) => {
  if (!labAvailable(t)) return;
  const tmp = t.testdir({});
  const net = await createNetns(t, { hosts: 4, subnet: '10.253.20', bridge: true });
  const [srv, c1, c2, c3] = net.hosts;
  makeClientHost(c1!.ns, '52:54:00:ab:cd:01');
  makeClientHost(c2!.ns, RESERVED_MAC);
  makeClientHost(c3!.ns, '52:54:00:ab:cd:03');
  const cfg: ChildConfig = {
    server: {
      mode: 'authoritative',
      interface: 'eth0',
      serverIp: srv!.address,
      advertiseUrl: 'http://10.253.20.1:8080',
      pool: {
        range: '10.253.20.100-10.253.20.120',
        subnetMask: '255.255.255.0',
        router: '10.253.20.1',
        dns: ['10.253.20.1'],
        leaseTimeSec: 600,
      },
    },
    dbFile: join(tmp, 'metalboot.db'),
    reservations: { [RESERVED_MAC]: '10.253.20.50' },
  };
  let server = await startDhcpChild(net, srv!.ns, cfg);

  const plain = await udhcpc(net, c1!.ns, tmp);
  t.match(
    plain.env?.ip,
    /^10\.253\.20\.1[01]\d$/,
    `udhcpc got a pool address (${plain.result.stderr.trim().split('\n').at(-1)})`,
  );
  t.equal(plain.env?.subnet, '255.255.255.0');
  t.equal(plain.env?.router, '10.253.20.1');
  t.equal(plain.env?.serverid, '10.253.20.1');
  t.equal(plain.env?.lease, '600');
  t.notOk(plain.env?.boot_file, 'no boot file for a plain client');

  const reserved = await dhclient(net, c2!.ns, tmp);
  t.equal(reserved.env?.new_ip_address, '10.253.20.50', 'dhclient got the reserved address');
  t.equal(reserved.env?.new_subnet_mask, '255.255.255.0');
  t.equal(reserved.env?.new_routers, '10.253.20.1');
  if (!reserved.env) t.comment(reserved.log);

  const bios = await udhcpc(net, c3!.ns, tmp, ['-x', '0x5d:0000']);
  t.equal(bios.env?.boot_file, 'undionly.kpxe', 'arch 0 → BIOS iPXE');
  t.equal(bios.env?.siaddr, '10.253.20.1', 'next-server');
  const efi = await udhcpc(net, c3!.ns, tmp, ['-x', '0x5d:0007']);
  t.equal(efi.env?.boot_file, 'ipxe.efi', 'arch 7 → UEFI iPXE');
  t.equal(efi.env?.ip, bios.env?.ip, 'same client, same address');
  const ipxe = await udhcpc(net, c3!.ns, tmp, ['-x', '0x5d:0007', '-x', '0x4d:69505845', '-x', '0xaf:0101']);
  t.equal(ipxe.env?.boot_file, 'http://10.253.20.1:8080/boot.ipxe', 'iPXE → boot script URL');

  t.ok(
    server.observations.some(
      (o) =>
        o.mac === RESERVED_MAC && o.messageType === 'REQUEST' && o.reply === 'ACK' && o.offeredIp === '10.253.20.50',
    ),
    'observations reach the core',
  );
  t.ok(server.observations.some((o) => o.mac === '52:54:00:ab:cd:03' && o.firmware === 'pcbios'));

  // Restart: leases come back from SQLite, so a new client cannot be given c1's address.
  const stats = await server.stop();
  t.equal(stats?.errors, 0, 'no handler errors');
  server = await startDhcpChild(net, srv!.ns, cfg);
  const again = await udhcpc(net, c1!.ns, tmp);
  t.equal(again.env?.ip, plain.env?.ip, 'after a restart the client keeps its address');
  await server.stop();
});

t.test("proxy: beside dnsmasq, the client gets dnsmasq's address and metalboot's boot file", async (t) => {
  if (!labAvailable(t)) return;
  const tmp = t.testdir({});
  const net = await createNetns(t, { hosts: 4, subnet: '10.253.30', bridge: true });
  const [srv, dns, pxe, plainHost] = net.hosts;
  makeClientHost(pxe!.ns, '52:54:00:ab:cd:11');
  makeClientHost(plainHost!.ns, '52:54:00:ab:cd:12');
  await startDnsmasq(net, dns!.ns, tmp, '10.253.30.100-10.253.30.150');
  const server = await startDhcpChild(net, srv!.ns, {
    server: { mode: 'proxy', interface: 'eth0', serverIp: srv!.address, advertiseUrl: 'http://10.253.30.1:8080' },
    dbFile: join(tmp, 'metalboot.db'),
  });

  const plain = await udhcpc(net, plainHost!.ns, tmp);
  t.match(plain.env?.ip, /^10\.253\.30\.1[0-5]\d$/, "a plain client gets dnsmasq's address");
  t.equal(plain.env?.serverid, '10.253.30.2');
  t.notOk(
    server.observations.some((o) => o.mac === '52:54:00:ab:cd:12'),
    'and never hears from the proxy',
  );

  const cap = await capture(net, pxe!.ns, tmp, 'udp port 67 or udp port 68 or udp port 4011');
  const runClient = async (args: object) => {
    const child = spawnNodeMain(net, pxe!.ns, 'test/helpers/pxe-client-child.ts', args);
    const line = await waitForLine(child, /^RESULT (.*)$/, 20_000);
    return JSON.parse(line[1]!) as Record<string, unknown>;
  };
  const first = await runClient({ phase: 'discover', ifname: 'eth0' });
  t.match(first.address, /^10\.253\.30\.1[0-5]\d$/, 'address from dnsmasq');
  t.equal(first.addressServer, '10.253.30.2');
  t.equal(first.bootFile, 'ipxe.efi', "boot file from metalboot's proxy offer");
  t.equal(first.nextServer, '10.253.30.1');

  // Now iPXE runs with the address and asks the proxy directly on 4011.
  const addr = first.address as string;
  const { spawnSync } = await import('node:child_process');
  spawnSync('ip', ['-n', pxe!.ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
  const second = await runClient({ phase: 'proxy-request', ifname: 'eth0', ciaddr: addr, proxy: '10.253.30.1' });
  t.match(second.acks, [
    { type: 5, yiaddr: '0.0.0.0', bootfile: 'http://10.253.30.1:8080/boot.ipxe', vendorClass: 'PXEClient' },
  ]);

  // tcpdump's own decoder as an independent reader of what went over the wire.
  const text = await cap.stop();
  t.match(text, /10\.253\.30\.1\.67 > 255\.255\.255\.255\.68: .*BOOTP\/DHCP, Reply/s, 'proxy OFFER broadcast');
  t.match(text, /Vendor-Class \(60\), length 9: "PXEClient"/);
  t.match(text, /file "ipxe\.efi"/);
  t.match(text, /10\.253\.30\.1\.4011 > 10\.253\.30\.1\d\d\.68/, 'proxy ACK from 4011, unicast');
  t.match(server.observations, [{ mode: 'proxy', reply: 'OFFER', bootFile: 'ipxe.efi' }]);
  await server.stop();
});

t.test("relay: a client behind dhcrelay gets a lease from the relayed subnet's pool", async (t) => {
  if (!labAvailable(t)) return;
  const tmp = t.testdir({});
  const net = await createNetns(t, { hosts: 2, subnet: '10.253.40' });
  const [srv, relay] = net.hosts;
  const client = addLinkedNamespace(net, relay!.ns, 'eth1', '10.253.41.1/24');
  makeClientHost(client, '52:54:00:ab:cd:21');
  addRoute(srv!.ns, '10.253.41.0/24', relay!.address);
  const server = await startDhcpChild(net, srv!.ns, {
    server: {
      mode: 'authoritative',
      interface: 'eth0',
      serverIp: srv!.address,
      advertiseUrl: 'http://10.253.40.1:8080',
      pool: { range: '10.253.40.100-10.253.40.120', subnetMask: '255.255.255.0', leaseTimeSec: 600 },
      relaySubnets: [
        { subnet: '10.253.41.0/24', range: '10.253.41.100-10.253.41.120', router: '10.253.41.1', leaseTimeSec: 900 },
      ],
    },
    dbFile: join(tmp, 'metalboot.db'),
  });
  await startRelay(net, relay!.ns, tmp, 'eth1', 'eth0', srv!.address);
  const cap = await capture(net, srv!.ns, tmp, 'udp port 67');
  const got = await udhcpc(net, client, tmp, ['-x', '0x5d:0007']);
  t.match(got.env?.ip, /^10\.253\.41\.1[01]\d$/, 'address from the relayed pool');
  t.equal(got.env?.router, '10.253.41.1');
  t.equal(got.env?.lease, '900');
  t.equal(got.env?.boot_file, 'ipxe.efi');
  const text = await cap.stop();
  t.match(text, /10\.253\.40\.1\.67 > 10\.253\.41\.1\.67: .*Reply/s, 'replies unicast to the relay (giaddr:67)');
  t.ok(
    server.observations.some((o) => o.relay === '10.253.41.1' && o.reply === 'ACK'),
    'relay recorded',
  );
  await server.stop();
});
