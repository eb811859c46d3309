import { createSocket, type Socket } from 'node:dgram';
import t, { type Test } from 'tap';
import { interfaceBroadcast, magicPacket, parseWolBroadcast, WakeOnLanDriver } from '../../src/power/index.js';
import { blankMachine } from '../../src/core/registry/machines.js';
import { clusterBody, makeApp } from '../helpers/core-app.js';

/** A UDP listener on loopback standing in for the sleeping NIC. Never anything but loopback here. */
async function listener(t: Test, address = '127.0.0.1') {
  const socket: Socket = createSocket('udp4');
  const packets: { data: Buffer; from: string }[] = [];
  socket.on('message', (data, rinfo) => packets.push({ data, from: rinfo.address }));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  t.teardown(() => socket.close());
  const waitFor = async (n: number) => {
    for (let i = 0; i < 200 && packets.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return packets;
  };
  return { port: socket.address().port, packets, waitFor };
}

t.test('the magic packet: 6 × 0xFF, then the MAC 16 times', async (t) => {
  const p = magicPacket('52:54:00:12:34:56');
  t.equal(p.length, 102);
  t.same([...p.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  for (let i = 0; i < 16; i++) t.same([...p.subarray(6 + i * 6, 12 + i * 6)], [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
  t.throws(() => magicPacket('nope'));
});

t.test('the driver sends one datagram to the configured target', async (t) => {
  const l = await listener(t);
  const driver = new WakeOnLanDriver({ broadcast: '127.0.0.1', port: l.port });
  const r = await driver.perform('on', blankMachine('aa:bb:cc:dd:ee:ff', new Date().toISOString()));
  t.same(r, { driver: 'wol', detail: { to: `127.0.0.1:${l.port}`, bytes: 102 } });
  const [packet] = await l.waitFor(1);
  t.same(packet!.data, magicPacket('aa:bb:cc:dd:ee:ff'));
});

t.test('--wol-interface: bind to the interface address, send to its subnet broadcast', async (t) => {
  t.same(interfaceBroadcast('lo'), { address: '127.0.0.1', broadcast: '127.255.255.255' });
  t.throws(() => interfaceBroadcast('no-such-if0'), /no such interface/);
  const l = await listener(t, '0.0.0.0');
  const driver = new WakeOnLanDriver({ interface: 'lo', port: l.port });
  t.same(driver.target(), { address: '127.255.255.255', port: l.port, bindAddress: '127.0.0.1' });
  await driver.perform('on', blankMachine('aa:bb:cc:dd:ee:01', new Date().toISOString()));
  const [packet] = await l.waitFor(1);
  t.same(packet?.data, magicPacket('aa:bb:cc:dd:ee:01'), 'received on loopback');
  t.equal(packet?.from, '127.0.0.1', 'sent from the interface address');
});

t.test('--wol-broadcast values', async (t) => {
  t.same(parseWolBroadcast('255.255.255.255'), { broadcast: '255.255.255.255', port: 9 });
  t.same(parseWolBroadcast('10.0.0.255:7'), { broadcast: '10.0.0.255', port: 7 });
  t.throws(() => parseWolBroadcast('10.0.0.256'));
  t.throws(() => parseWolBroadcast('host:9'));
});

t.test('POST /api/v1/machines/:mac/power {action:"on"}', async (t) => {
  const { api, core, store } = await makeApp(t);
  await api('POST', '/api/v1/clusters', clusterBody());
  await api('POST', '/api/v1/machines', {
    mac: '52:54:00:12:34:56',
    hostname: 'worker-1',
    role: 'worker',
    cluster: 'prod',
  });

  const off = await api('POST', '/api/v1/machines/52:54:00:12:34:56/power', { action: 'on' });
  t.equal(off.status, 409, 'no driver configured: refused, nothing sent');
  t.match(off.json.message, '--wol-broadcast');

  const l = await listener(t);
  core.power.setDriver(new WakeOnLanDriver({ broadcast: '127.0.0.1', port: l.port }));
  const on = await api('POST', '/api/v1/machines/52-54-00-12-34-56/power', { action: 'on' });
  t.equal(on.status, 202, on.body);
  t.same(on.json, {
    mac: '52:54:00:12:34:56',
    action: 'on',
    driver: 'wol',
    detail: { to: `127.0.0.1:${l.port}`, bytes: 102 },
  });
  t.same((await l.waitFor(1))[0]!.data, magicPacket('52:54:00:12:34:56'));
  const events = (await api('GET', '/api/v1/machines/52:54:00:12:34:56/events')).json.items;
  t.match(events.at(-1), {
    kind: 'power-on-requested',
    detail: { driver: 'wol', to: `127.0.0.1:${l.port}` },
    sourceIp: '192.0.2.10',
    state: null,
  });
  const audit = await store.audit.list({ target: '52:54:00:12:34:56' });
  t.equal(audit[0]!.action, 'machine.power-on');

  t.equal((await api('POST', '/api/v1/machines/52:54:00:99:99:99/power', { action: 'on' })).status, 404);
  const cycle = await api('POST', '/api/v1/machines/52:54:00:12:34:56/power', { action: 'cycle' });
  t.equal(cycle.status, 409, 'Wake-on-LAN cannot cycle');
  t.match(cycle.json.message, /only switches on/);
  t.equal((await api('POST', '/api/v1/machines/52:54:00:12:34:56/power', { action: 'dance' })).status, 400);
  t.equal((await api('POST', '/api/v1/machines/52:54:00:12:34:56/power', {})).status, 400);

  core.power.setDriver({
    name: 'broken',
    supports: () => true,
    perform: async () => Promise.reject(new Error('EHOSTUNREACH')),
  });
  const failed = await api('POST', '/api/v1/machines/52:54:00:12:34:56/power', { action: 'on' });
  t.equal(failed.status, 502);
  t.same(failed.json, { error: 'power_failed', message: 'power on via broken failed: EHOSTUNREACH' });
  t.equal((await api('GET', '/api/v1/machines/52:54:00:12:34:56/events')).json.items.at(-1).kind, 'power-on-failed');
});
