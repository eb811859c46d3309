/** RFC 2131 server rules, driven through the socket-free handler with a real SQLite lease store. */
import t from 'tap';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { Opt } from '../../src/dhcp/options.js';
import { CLIENT_SHAPES, ip } from '../helpers/dhcp-packets.js';
import { ADVERTISE, makeRig, SERVER_IP } from '../helpers/dhcp-rig.js';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const DISCOVER = 1;
const REQUEST = 3;
const DECLINE = 4;
const RELEASE = 7;
const INFORM = 8;

const sid = (s = SERVER_IP) => [Opt.SERVER_ID, ip(s)] as const;
const req50 = (s: string) => [Opt.REQUESTED_IP, ip(s)] as const;

t.test('DISCOVER → OFFER with pool options; REQUEST → ACK binds the lease', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: DISCOVER, mac: A, xid: 7, options: CLIENT_SHAPES.udhcpc() });
  t.equal(offer?.type, 'OFFER');
  t.equal(offer?.packet.yiaddr, '10.253.0.100');
  t.equal(offer?.packet.xid, 7);
  t.equal(offer?.ipOpt(Opt.SERVER_ID), SERVER_IP);
  t.equal(offer?.ipOpt(Opt.SUBNET_MASK), '255.255.255.0');
  t.equal(offer?.ipOpt(Opt.ROUTER), '10.253.0.1');
  t.equal(offer?.ipOpt(Opt.DNS_SERVERS), '10.253.0.53');
  t.equal(offer?.u32(Opt.LEASE_TIME), 3600);
  t.equal(offer?.u32(Opt.RENEWAL_TIME), 1800);
  t.equal(offer?.out.address, '255.255.255.255', 'no address yet: broadcast');
  t.equal(offer?.out.port, 68);
  t.notOk(offer?.opt(Opt.BOOTFILE_NAME), 'plain clients get no boot options');
  t.ok(offer!.out.buf.length >= 300, 'BOOTP minimum size');

  const [ack] = await rig.send({ type: REQUEST, mac: A, xid: 8, options: [sid(), req50('10.253.0.100')] });
  t.equal(ack?.type, 'ACK');
  t.equal(ack?.packet.yiaddr, '10.253.0.100');
  const lease = await rig.store.leases.get('10.253.0.100');
  t.equal(lease?.state, 'bound');
  t.equal(lease?.mac, A);
  t.equal(lease?.expiresAt, rig.clock.now + 3600_000);
  t.same(
    rig.core.observations.map((o) => [o.messageType, o.reply, o.offeredIp, o.mode]),
    [
      ['DISCOVER', 'OFFER', '10.253.0.100', 'authoritative'],
      ['REQUEST', 'ACK', '10.253.0.100', 'authoritative'],
    ],
  );
});

t.test('never hands an address out twice, also under concurrent DISCOVERs', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  const macs = Array.from({ length: 5 }, (_, i) => `52:54:00:00:01:0${i}`);
  const replies = await Promise.all(macs.map((mac) => rig.send({ type: DISCOVER, mac })));
  const offered = replies.map((r) => r[0]?.packet.yiaddr);
  t.equal(new Set(offered).size, 5, `distinct offers: ${offered.join(' ')}`);
  t.same(await rig.send({ type: DISCOVER, mac: '52:54:00:00:01:99' }), [], 'pool of 5 exhausted: silence');
  const again = await rig.send({ type: DISCOVER, mac: macs[2] });
  t.equal(again[0]?.packet.yiaddr, offered[2], 'a repeated DISCOVER gets the same offer');
  rig.clock.now += 61_000; // offers expire
  const late = await rig.send({ type: DISCOVER, mac: '52:54:00:00:01:99' });
  t.ok(late[0]?.packet.yiaddr, 'expired offers return to the pool');
});

t.test('reservation from the registry wins, and is kept from other clients', async (t) => {
  const rig = makeRig({}, { reservations: { [A]: '10.253.0.50' } });
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: DISCOVER, mac: A });
  t.equal(offer?.packet.yiaddr, '10.253.0.50', 'reserved address, even outside the dynamic range');
  const [nak] = await rig.send({ type: REQUEST, mac: B, options: [req50('10.253.0.50')] });
  t.equal(nak?.type, 'NAK', 'INIT-REBOOT of another client into a reserved address');
  const [ack] = await rig.send({ type: REQUEST, mac: A, options: [req50('10.253.0.50')] });
  t.equal(ack?.type, 'ACK', 'INIT-REBOOT into the own reservation is fine without a previous offer');
  const rig2 = makeRig(
    { pool: { range: '10.253.0.100-10.253.0.101', subnetMask: '255.255.255.0', leaseTimeSec: 600 } },
    { reservations: { [A]: '10.253.0.100' } },
  );
  t.teardown(rig2.close);
  const [other] = await rig2.send({ type: DISCOVER, mac: B });
  t.equal(other?.packet.yiaddr, '10.253.0.101', 'dynamic allocation skips addresses reserved for others');
});

t.test('many reservations at the start of the range: others skip them, one lookup per candidate', async (t) => {
  const macOf = (i: number) => `52:54:00:00:02:${i.toString(16).padStart(2, '0')}`;
  const reservations = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [macOf(i), `10.253.0.${100 + i}`]));
  const rig = makeRig(
    { pool: { range: '10.253.0.100-10.253.0.199', subnetMask: '255.255.255.0', leaseTimeSec: 600 } },
    { reservations },
  );
  t.teardown(rig.close);
  const asked: string[] = [];
  const isReserved = rig.core.isReserved.bind(rig.core);
  rig.core.isReserved = async (ip) => {
    asked.push(ip);
    return isReserved(ip);
  };
  const [first] = await rig.send({ type: DISCOVER, mac: B });
  t.equal(first?.packet.yiaddr, '10.253.0.140', 'the 40 reserved addresses at the start are skipped');
  t.equal(asked.length, 41, 'one reservation lookup per candidate, no registry-wide list');
  asked.length = 0;
  const [second] = await rig.send({ type: DISCOVER, mac: '52:54:00:00:03:01' });
  t.equal(second?.packet.yiaddr, '10.253.0.141');
  t.same(asked, ['10.253.0.141'], 'the next allocation starts past them');

  const burst = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      rig.send({ type: DISCOVER, mac: `52:54:00:00:04:${i.toString(16).padStart(2, '0')}` }),
    ),
  );
  const offered = burst.map((r) => r[0]?.packet.yiaddr ?? 'none');
  t.equal(new Set(offered).size, 20, `concurrent DISCOVERs get distinct addresses: ${offered.join(' ')}`);
  t.ok(
    offered.every((ip) => Number(ip.split('.')[3]) >= 142),
    'none of them reserved',
  );

  const [own] = await rig.send({ type: DISCOVER, mac: macOf(20) });
  t.equal(own?.packet.yiaddr, '10.253.0.120', 'a reserved machine gets its reservation');
  const [ack] = await rig.send({ type: REQUEST, mac: macOf(20), options: [sid(), req50('10.253.0.120')] });
  t.equal(ack?.type, 'ACK');
  const [nak] = await rig.send({ type: REQUEST, mac: B, options: [req50('10.253.0.105')] });
  t.equal(nak?.type, 'NAK', "INIT-REBOOT into another machine's reservation");
  t.match(nak?.str(Opt.MESSAGE), /reserved for another machine/);
  const [mine] = await rig.send({ type: REQUEST, mac: B, options: [sid(), req50('10.253.0.140')] });
  t.equal(mine?.type, 'ACK', 'the dynamic address is bound as usual');
});

t.test('REQUEST naming another server is ignored and frees our offer', async (t) => {
  const rig = makeRig({ pool: { range: '10.253.0.100-10.253.0.100', subnetMask: '255.255.255.0', leaseTimeSec: 600 } });
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: DISCOVER, mac: A });
  t.equal(offer?.packet.yiaddr, '10.253.0.100');
  t.same(await rig.send({ type: DISCOVER, mac: B }), [], 'held for A');
  // A took the other server's offer of another address.
  t.same(await rig.send({ type: REQUEST, mac: A, options: [sid('10.253.0.2'), req50('10.253.0.150')] }), []);
  t.match(rig.core.observations.at(-1), { messageType: 'REQUEST', reply: undefined, note: /chose server 10.253.0.2/ });
  const [offerB] = await rig.send({ type: DISCOVER, mac: B });
  t.equal(offerB?.packet.yiaddr, '10.253.0.100', 'the freed address can be offered again');
});

t.test('REQUEST naming another server for the address we offered: it stays held for the client', async (t) => {
  const rig = makeRig({ pool: { range: '10.253.0.100-10.253.0.100', subnetMask: '255.255.255.0', leaseTimeSec: 600 } });
  t.teardown(rig.close);
  await rig.send({ type: DISCOVER, mac: A });
  // On a shared lease table that row is what the other server binds; on separate tables the client
  // is about to use the address anyway: offering it to B would hand out an address in use.
  t.same(await rig.send({ type: REQUEST, mac: A, options: [sid('10.253.0.2'), req50('10.253.0.100')] }), []);
  t.equal((await rig.store.leases.get('10.253.0.100'))?.state, 'offered', 'not cancelled');
  t.same(await rig.send({ type: DISCOVER, mac: B }), [], 'not offered to another client');
});

t.test('SELECTING an address not offered to this client gets NAK (broadcast)', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  await rig.send({ type: DISCOVER, mac: A });
  const [nak] = await rig.send({ type: REQUEST, mac: B, options: [sid(), req50('10.253.0.100')] });
  t.equal(nak?.type, 'NAK');
  t.equal(nak?.packet.yiaddr, '0.0.0.0');
  t.equal(nak?.out.address, '255.255.255.255');
  t.notOk(nak?.opt(Opt.LEASE_TIME));
  t.match(nak?.str(Opt.MESSAGE), /not offered/);
  const [nak2] = await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.103')] });
  t.equal(nak2?.type, 'NAK', 'another address than the one offered');
});

t.test('INIT-REBOOT: wrong subnet → NAK, unknown client → silence, own lease → ACK', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  const [wrong] = await rig.send({ type: REQUEST, mac: A, options: [req50('192.168.1.7')] });
  t.equal(wrong?.type, 'NAK');
  t.same(await rig.send({ type: REQUEST, mac: A, options: [req50('10.253.0.101')] }), [], 'no record: silent');
  t.same(await rig.send({ type: REQUEST, mac: A, options: [] }), [], 'no address at all: silent');
  await rig.send({ type: DISCOVER, mac: A });
  await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.100')] });
  rig.clock.now += 7200_000; // lease expired meanwhile; address still free
  const [ack] = await rig.send({ type: REQUEST, mac: A, options: [req50('10.253.0.100')] });
  t.equal(ack?.type, 'ACK', 'rebooting client keeps its (expired but free) address');
  const [nak] = await rig.send({ type: REQUEST, mac: B, options: [req50('10.253.0.100')] });
  t.equal(nak?.type, 'NAK', 'address bound to someone else');
  const [outside] = await rig.send({ type: REQUEST, mac: B, options: [req50('10.253.0.20')] });
  t.equal(outside?.type, 'NAK', 'on the subnet but outside the pool');
});

t.test('RENEWING (unicast ACK to ciaddr) and REBINDING; unknown lease → NAK', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  await rig.send({ type: DISCOVER, mac: A });
  await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.100')] });
  rig.clock.now += 1800_000;
  const [renew] = await rig.send({ type: REQUEST, mac: A, ciaddr: '10.253.0.100' });
  t.equal(renew?.type, 'ACK');
  t.equal(renew?.packet.ciaddr, '10.253.0.100');
  t.same([renew?.out.address, renew?.out.port], ['10.253.0.100', 68], 'unicast to ciaddr');
  t.equal((await rig.store.leases.get('10.253.0.100'))?.expiresAt, rig.clock.now + 3600_000, 'extended');
  const [rebind] = await rig.send({ type: REQUEST, mac: A, ciaddr: '10.253.0.100', flags: 0x8000 });
  t.equal(rebind?.type, 'ACK');
  const [nak] = await rig.send({ type: REQUEST, mac: B, ciaddr: '10.253.0.100' });
  t.equal(nak?.type, 'NAK', "renewing somebody else's address");
  t.equal(nak?.out.address, '255.255.255.255', 'NAK is broadcast');
  const [unknown] = await rig.send({ type: REQUEST, mac: B, ciaddr: '10.253.0.102' });
  t.equal(unknown?.type, 'NAK', 'renewing a lease we never gave');
  t.same(await rig.send({ type: REQUEST, mac: B, ciaddr: '172.16.0.9' }), [], 'foreign address: not ours to judge');
});

t.test('a client moved to a reservation is NAKed off its dynamic address', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  await rig.send({ type: DISCOVER, mac: A });
  await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.100')] });
  rig.core.config.reservations = { [A]: '10.253.0.60' };
  const [nak] = await rig.send({ type: REQUEST, mac: A, ciaddr: '10.253.0.100' });
  t.equal(nak?.type, 'NAK');
  const [offer] = await rig.send({ type: DISCOVER, mac: A });
  t.equal(offer?.packet.yiaddr, '10.253.0.60');
  await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.60')] });
  t.equal((await rig.store.leases.get('10.253.0.100'))?.state, 'released', 'old dynamic lease let go');
});

t.test('RELEASE frees the address, DECLINE quarantines it', async (t) => {
  const rig = makeRig({
    pool: { range: '10.253.0.100-10.253.0.101', subnetMask: '255.255.255.0', leaseTimeSec: 600 },
    declineQuarantineSec: 600,
  });
  t.teardown(rig.close);
  await rig.send({ type: DISCOVER, mac: A });
  await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.100')] });
  t.same(await rig.send({ type: RELEASE, mac: B, ciaddr: '10.253.0.100', options: [sid()] }), []);
  t.equal(
    (await rig.store.leases.get('10.253.0.100'))?.state,
    'bound',
    'a RELEASE from another client changes nothing',
  );
  t.same(await rig.send({ type: RELEASE, mac: A, ciaddr: '10.253.0.100', options: [sid()] }), []);
  t.equal((await rig.store.leases.get('10.253.0.100'))?.state, 'released');
  const [again] = await rig.send({ type: DISCOVER, mac: A });
  t.equal(again?.packet.yiaddr, '10.253.0.100', 'a released address is remembered for its client');

  t.same(await rig.send({ type: DECLINE, mac: A, options: [sid(), req50('10.253.0.100')] }), [], 'no reply to DECLINE');
  t.equal((await rig.store.leases.get('10.253.0.100'))?.state, 'declined');
  const [next] = await rig.send({ type: DISCOVER, mac: A });
  t.equal(next?.packet.yiaddr, '10.253.0.101', 'declined address is not offered, not even to the decliner');
  const [none] = await rig.send({ type: DISCOVER, mac: B });
  t.equal(none, undefined, 'quarantined address is out of the pool');
  await rig.send({ type: DECLINE, mac: B, options: [sid(), req50('10.253.0.101')] });
  t.equal((await rig.store.leases.get('10.253.0.101'))?.state, 'offered', "cannot decline another client's address");
  rig.clock.now += 601_000;
  const [back] = await rig.send({ type: DISCOVER, mac: B });
  t.equal(back?.packet.yiaddr, '10.253.0.100', 'after the quarantine the address is back');
});

t.test('INFORM gets configuration without a lease, unicast', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  const [ack] = await rig.send({ type: INFORM, mac: A, ciaddr: '10.253.0.33' });
  t.equal(ack?.type, 'ACK');
  t.equal(ack?.packet.yiaddr, '0.0.0.0');
  t.equal(ack?.ipOpt(Opt.SUBNET_MASK), '255.255.255.0');
  t.notOk(ack?.opt(Opt.LEASE_TIME), 'no lease time in an ACK to INFORM');
  t.same([ack?.out.address, ack?.out.port], ['10.253.0.33', 68]);
  t.same(await rig.send({ type: INFORM, mac: A }), [], 'INFORM without ciaddr');
  t.same(await rig.send({ type: INFORM, mac: A, ciaddr: '172.16.0.1' }), [], 'INFORM from a foreign subnet');
});

t.test('boot options for PXE clients in authoritative mode', async (t) => {
  const rig = makeRig({}, { overrides: { [B]: 'snponly.efi' } });
  t.teardown(rig.close);
  const [ovmf] = await rig.send({ type: DISCOVER, mac: A, options: CLIENT_SHAPES.ovmfPxe() });
  t.equal(ovmf?.packet.siaddr, SERVER_IP, 'next-server');
  t.equal(ovmf?.packet.file, 'ipxe.efi');
  t.equal(ovmf?.str(Opt.BOOTFILE_NAME), 'ipxe.efi');
  t.equal(ovmf?.str(Opt.TFTP_SERVER_NAME), SERVER_IP);
  t.equal(ovmf?.str(Opt.VENDOR_CLASS), 'PXEClient');
  t.same([...(ovmf?.opt(Opt.VENDOR_SPECIFIC) ?? [])], [6, 1, 8, 255], 'discovery control: use the boot file');
  t.equal(ovmf?.opt(Opt.CLIENT_MACHINE_ID)?.length, 17, 'option 97 echoed');
  t.match(rig.core.observations.at(-1), {
    arch: 'amd64',
    firmware: 'efi',
    uuid: '00112233-4455-6677-8899-aabbccddeeff',
    bootFile: 'ipxe.efi',
  });
  const [snp] = await rig.send({ type: DISCOVER, mac: B, options: CLIENT_SHAPES.ovmfPxe() });
  t.equal(snp?.packet.file, 'snponly.efi', 'per-machine override');
  const [ipxe] = await rig.send({ type: DISCOVER, mac: A, options: CLIENT_SHAPES.seabiosIpxe() });
  t.equal(ipxe?.str(Opt.BOOTFILE_NAME), `${ADVERTISE}/boot.ipxe`, 'iPXE gets the script: no chainload loop');
  const [http] = await rig.send({ type: DISCOVER, mac: A, options: CLIENT_SHAPES.uefiHttp(19) });
  t.equal(http?.str(Opt.VENDOR_CLASS), 'HTTPClient');
  t.equal(http?.str(Opt.BOOTFILE_NAME), `${ADVERTISE}/assets/ipxe/ipxe-arm64.efi`);
  const [bios] = await rig.send({ type: DISCOVER, mac: A, options: CLIENT_SHAPES.udhcpc([[93, [0, 0]]]) });
  t.equal(bios?.packet.file, 'undionly.kpxe', 'udhcpc -x 0x5d:0000');
  t.notOk(bios?.str(Opt.VENDOR_CLASS), 'no PXEClient class for a client that did not send one');
});

t.test('leases survive a restart (SQLite file)', async (t) => {
  const file = join(t.testdir({}), 'leases.db');
  const rig = makeRig({}, {}, new SqliteStore(file));
  await rig.send({ type: DISCOVER, mac: A });
  await rig.send({ type: REQUEST, mac: A, options: [sid(), req50('10.253.0.100')] });
  await rig.close();
  const rig2 = makeRig({}, {}, new SqliteStore(file));
  t.teardown(rig2.close);
  const [offerB] = await rig2.send({ type: DISCOVER, mac: B });
  t.equal(offerB?.packet.yiaddr, '10.253.0.101', 'bound address not offered to another client after restart');
  const [renew] = await rig2.send({ type: REQUEST, mac: A, ciaddr: '10.253.0.100' });
  t.equal(renew?.type, 'ACK');
});

t.test('never throws: failing registry and recorder are counted, not fatal', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  rig.core.failLookup = true;
  t.same(await rig.send({ type: DISCOVER, mac: A }), []);
  t.equal(rig.handler.stats.errors, 1);
  rig.core.failLookup = false;
  rig.core.record = async () => {
    throw new Error('disk full');
  };
  const [offer] = await rig.send({ type: DISCOVER, mac: A });
  t.equal(offer?.type, 'OFFER', 'the reply goes out even when recording fails');
  t.equal(rig.handler.stats.errors, 2);
  t.same(await rig.send(Buffer.from('garbage')), []);
  t.equal(rig.handler.stats.malformed, 1);
  t.same(await rig.send({ type: 2, mac: A }), [], 'an OFFER from a "client" is ignored');
});

t.test('no reply before the lease behind it is committed; a failed commit means no reply', async (t) => {
  const rig = makeRig();
  t.teardown(rig.close);
  let release!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  rig.core.flushed = () => gate.then(() => rig.store.flushed());
  const pending = rig.send({ type: DISCOVER, mac: A, xid: 21, options: CLIENT_SHAPES.udhcpc() });
  for (let i = 0; i < 20; i++) await new Promise((ok) => setImmediate(ok));
  t.equal(rig.sent.length, 0, 'the OFFER waits for the commit');
  release();
  const [offer] = await pending;
  t.equal(offer?.type, 'OFFER');

  rig.core.flushed = async () => {
    throw new Error('disk full');
  };
  const errors = rig.handler.stats.errors;
  const none = await rig.send({ type: DISCOVER, mac: B, xid: 22, options: CLIENT_SHAPES.udhcpc() });
  t.same(none, [], 'nothing is sent for a lease that may not be on disk');
  t.equal(rig.handler.stats.errors, errors + 1, 'counted as an error');
});
