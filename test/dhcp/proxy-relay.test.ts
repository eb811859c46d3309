/** ProxyDHCP replies and relayed (giaddr) requests, through the socket-free handler. */
import t from 'tap';
import { Opt } from '../../src/dhcp/options.js';
import { handlerContext } from '../../src/dhcp/server.js';
import { CLIENT_SHAPES, ip } from '../helpers/dhcp-packets.js';
import { ADVERTISE, makeRig, SERVER_IP, silentLogger, stubCore } from '../helpers/dhcp-rig.js';

const MAC = '52:54:00:00:00:0c';
const proxy = { mode: 'proxy' as const, pool: undefined };

t.test('proxy: OFFER to a PXE DISCOVER carries boot info but no address', async (t) => {
  const rig = makeRig(proxy);
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: 1, mac: MAC, options: CLIENT_SHAPES.ovmfPxe() });
  t.equal(offer?.type, 'OFFER');
  t.equal(offer?.packet.yiaddr, '0.0.0.0');
  t.equal(offer?.packet.siaddr, SERVER_IP);
  t.equal(offer?.packet.file, 'ipxe.efi');
  t.equal(offer?.str(Opt.VENDOR_CLASS), 'PXEClient');
  t.equal(offer?.ipOpt(Opt.SERVER_ID), SERVER_IP);
  t.same([...(offer?.opt(Opt.VENDOR_SPECIFIC) ?? [])], [6, 1, 8, 255]);
  t.equal(offer?.opt(Opt.CLIENT_MACHINE_ID)?.length, 17);
  t.notOk(offer?.opt(Opt.LEASE_TIME), 'no lease options from a proxy');
  t.notOk(offer?.opt(Opt.SUBNET_MASK));
  t.equal(offer?.out.address, '255.255.255.255');
  t.equal((await rig.store.leases.list()).length, 0, 'a proxy keeps no leases');
  t.match(rig.core.observations, [
    { mode: 'proxy', reply: 'OFFER', offeredIp: undefined, bootFile: 'ipxe.efi', arch: 'amd64' },
  ]);
});

t.test('proxy: non-PXE clients are ignored entirely', async (t) => {
  const rig = makeRig(proxy);
  t.teardown(rig.close);
  t.same(await rig.send({ type: 1, mac: MAC, options: CLIENT_SHAPES.udhcpc() }), []);
  t.same(
    await rig.send({ type: 1, mac: MAC, options: CLIENT_SHAPES.udhcpc([[93, [0, 7]]]) }),
    [],
    'option 93 alone is not enough in proxy mode',
  );
  t.same(rig.core.observations, [], 'not even recorded');
});

t.test('proxy: REQUESTs on 67 only when naming us; on 4011 always, unicast back', async (t) => {
  const rig = makeRig(proxy);
  t.teardown(rig.close);
  const other = [Opt.SERVER_ID, ip('10.253.0.2')] as const;
  t.same(
    await rig.send({ type: 3, mac: MAC, options: CLIENT_SHAPES.ipxeEfi([other]) }),
    [],
    'REQUEST to the real DHCP server',
  );
  const [ack67] = await rig.send({
    type: 3,
    mac: MAC,
    options: CLIENT_SHAPES.ipxeEfi([[Opt.SERVER_ID, ip(SERVER_IP)]]),
  });
  t.equal(ack67?.type, 'ACK');
  t.equal(ack67?.str(Opt.BOOTFILE_NAME), `${ADVERTISE}/boot.ipxe`);
  const [ack] = await rig.send(
    { type: 3, mac: MAC, ciaddr: '10.253.0.120', options: CLIENT_SHAPES.ipxeEfi() },
    'proxy',
    { address: '10.253.0.120', port: 68 },
  );
  t.equal(ack?.type, 'ACK');
  t.equal(ack?.out.via, 'proxy', 'sent from the 4011 socket');
  t.same([ack?.out.address, ack?.out.port], ['10.253.0.120', 68]);
  t.equal(ack?.packet.yiaddr, '0.0.0.0');
  t.equal(ack?.str(Opt.VENDOR_CLASS), 'PXEClient');
  t.equal(ack?.packet.file, `${ADVERTISE}/boot.ipxe`);
  t.same(
    await rig.send({ type: 1, mac: MAC, options: CLIENT_SHAPES.ovmfPxe() }, 'proxy'),
    [],
    'DISCOVER on 4011 ignored',
  );
});

t.test('proxy: HTTP boot and unsupported clients', async (t) => {
  const rig = makeRig(proxy);
  t.teardown(rig.close);
  const [http] = await rig.send({ type: 1, mac: MAC, options: CLIENT_SHAPES.uefiHttp(16) });
  t.equal(http?.str(Opt.VENDOR_CLASS), 'HTTPClient');
  t.equal(http?.packet.file, `${ADVERTISE}/assets/ipxe/ipxe.efi`);
  t.notOk(http?.opt(Opt.VENDOR_SPECIFIC), 'no PXE discovery control for HTTP boot');
  t.same(
    await rig.send({
      type: 1,
      mac: MAC,
      options: [
        [60, 'PXEClient:Arch:00010:UNDI:003000'],
        [93, [0, 10]],
      ],
    }),
    [],
  );
  t.match(rig.core.observations.at(-1), { note: /unsupported client architecture 10/ });
});

const relayConfig = {
  pool: { range: '10.253.0.100-10.253.0.110', subnetMask: '255.255.255.0', leaseTimeSec: 600 },
  relaySubnets: [
    { subnet: '10.253.2.0/24', range: '10.253.2.100-10.253.2.110', router: '10.253.2.1', leaseTimeSec: 900 },
    { subnet: '10.253.3.0/24', range: '10.253.3.100-10.253.3.110', leaseTimeSec: 900 },
  ],
};

t.test('relay: pool chosen by giaddr, reply unicast to the relay, option 82 echoed', async (t) => {
  const rig = makeRig(relayConfig);
  t.teardown(rig.close);
  const info82 = [1, 6, 0, 4, 0, 1, 0, 7, 2, 3, 1, 2, 3];
  const [offer] = await rig.send({ type: 1, mac: MAC, giaddr: '10.253.2.1', hops: 1, options: [[82, info82]] });
  t.equal(offer?.packet.yiaddr, '10.253.2.100');
  t.equal(offer?.packet.giaddr, '10.253.2.1');
  t.same([offer?.out.address, offer?.out.port], ['10.253.2.1', 67], "to the relay agent's server port");
  t.equal(offer?.ipOpt(Opt.ROUTER), '10.253.2.1');
  t.equal(offer?.u32(Opt.LEASE_TIME), 900);
  t.same([...(offer?.opt(Opt.RELAY_AGENT_INFO) ?? [])], info82);
  t.equal(rig.core.observations[0]?.relay, '10.253.2.1');
  const [ack] = await rig.send({
    type: 3,
    mac: MAC,
    giaddr: '10.253.2.1',
    options: [
      [54, ip(SERVER_IP)],
      [50, ip('10.253.2.100')],
      [82, info82],
    ],
  });
  t.equal(ack?.type, 'ACK');
  t.same([...(ack?.opt(Opt.RELAY_AGENT_INFO) ?? [])], info82);
  const [nak] = await rig.send({ type: 3, mac: MAC, giaddr: '10.253.3.1', options: [[50, ip('10.253.2.100')]] });
  t.equal(nak?.type, 'NAK', 'address of the wrong relayed subnet');
  t.equal(nak!.packet.flags & 0x8000, 0x8000, 'relayed NAK asks the relay to broadcast');
  t.same([nak?.out.address, nak?.out.port], ['10.253.3.1', 67]);
  const [other] = await rig.send({ type: 1, mac: '52:54:00:00:00:0d', giaddr: '10.253.3.1' });
  t.equal(other?.packet.yiaddr, '10.253.3.100');
  t.same(await rig.send({ type: 1, mac: MAC, giaddr: '10.9.9.1' }), [], 'unknown relay subnet: silence');
  const [local] = await rig.send({ type: 1, mac: MAC });
  t.equal(local?.packet.yiaddr, '10.253.0.100', 'direct requests use the local pool');
  const [renew] = await rig.send({ type: 3, mac: MAC, ciaddr: '10.253.2.100' });
  t.equal(renew?.type, 'ACK', 'a unicast renewal from a relayed subnet finds its pool by ciaddr');
  t.same([renew?.out.address, renew?.out.port], ['10.253.2.100', 68]);
});

t.test('relay: a giaddr inside the local subnet is served from the local pool, as Kea does', async (t) => {
  const rig = makeRig(relayConfig);
  t.teardown(rig.close);
  const [offer] = await rig.send({ type: 1, mac: MAC, giaddr: '10.253.0.2', hops: 1 });
  t.equal(offer?.type, 'OFFER');
  t.equal(offer?.packet.yiaddr, '10.253.0.100', 'local pool');
  t.equal(offer?.u32(Opt.LEASE_TIME), 600);
  t.same([offer?.out.address, offer?.out.port], ['10.253.0.2', 67], 'answered to the relay agent, not broadcast');
  const [ack] = await rig.send({
    type: 3,
    mac: MAC,
    giaddr: '10.253.0.2',
    options: [
      [54, ip(SERVER_IP)],
      [50, ip('10.253.0.100')],
    ],
  });
  t.equal(ack?.type, 'ACK');
  t.same([ack?.out.address, ack?.out.port], ['10.253.0.2', 67]);
  t.equal(rig.core.observations.at(-1)?.relay, '10.253.0.2');
  const onlyRelays = makeRig({ pool: undefined, relaySubnets: relayConfig.relaySubnets });
  t.teardown(onlyRelays.close);
  t.same(await onlyRelays.send({ type: 1, mac: MAC, giaddr: '10.253.0.2' }), [], 'no local pool configured: silence');
  t.match(onlyRelays.core.observations, [{ note: 'no relay subnet configured for giaddr 10.253.0.2' }]);
});

t.test('configuration errors stop startup with a message naming the setting', async (t) => {
  const base = {
    mode: 'authoritative' as const,
    interface: 'x',
    serverIp: SERVER_IP,
    advertiseUrl: ADVERTISE,
    core: stubCore(),
    leases: makeRig().store.leases,
    logger: silentLogger,
  };
  const pool = relayConfig.pool;
  t.throws(() => handlerContext({ ...base }), /needs a pool/);
  t.throws(() => handlerContext({ ...base, pool, mode: 'other' as never }), /mode/);
  t.throws(() => handlerContext({ ...base, pool, serverIp: '10.253.0' }), /serverIp/);
  t.throws(() => handlerContext({ ...base, pool, advertiseUrl: 'ftp://x' }), /advertise URL/);
  t.throws(() => handlerContext({ ...base, pool: { ...pool, range: '10.253.0.10' } }), /range/);
  t.throws(() => handlerContext({ ...base, pool: { ...pool, range: '10.253.0.20-10.253.0.10' } }), /ends before/);
  t.throws(
    () => handlerContext({ ...base, pool: { ...pool, range: '10.253.0.0-10.253.0.10' } }),
    /network or broadcast/,
  );
  t.throws(
    () => handlerContext({ ...base, pool: { ...pool, range: '10.253.1.1-10.253.1.10' } }),
    /not inside the subnet/,
  );
  t.throws(() => handlerContext({ ...base, pool: { ...pool, leaseTimeSec: 5 } }), /leaseTimeSec/);
  t.throws(() => handlerContext({ ...base, pool: { ...pool, router: 'r' } }), /router/);
  t.throws(
    () =>
      handlerContext({
        ...base,
        relaySubnets: [{ subnet: '10.253.2.0/33', range: '10.253.2.5-10.253.2.6', leaseTimeSec: 60 }],
      }),
    /CIDR/,
  );
  t.throws(
    () =>
      handlerContext({
        ...base,
        relaySubnets: [relayConfig.relaySubnets[0]!, { ...relayConfig.relaySubnets[0]!, subnet: '10.253.2.0/25' }],
      }),
    /overlap/,
  );
  t.throws(
    () =>
      handlerContext({
        ...base,
        pool,
        relaySubnets: [{ subnet: '10.253.0.0/24', range: '10.253.0.200-10.253.0.210', leaseTimeSec: 60 }],
      }),
    /relay subnet 10\.253\.0\.0\/24 overlaps the local subnet 10\.253\.0\.0\/24: relays inside the local subnet are served from the local pool/,
    'a relay subnet that is the local one is refused with what to do instead',
  );
  t.throws(
    () =>
      handlerContext({
        ...base,
        pool,
        relaySubnets: [{ subnet: '10.253.0.128/25', range: '10.253.0.200-10.253.0.210', leaseTimeSec: 60 }],
      }),
    /overlaps the local subnet/,
    'also one inside it',
  );
  t.ok(handlerContext({ ...base, ...relayConfig }));
});
