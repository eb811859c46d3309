import t from 'tap';
import { SourceRateLimiter } from '../../src/core/registry/discovery.js';
import { ValidationError } from '../../src/core/errors.js';
import { isStationMac, parseStationMac } from '../../src/core/registry/mac.js';
import { createDhcpHandler } from '../../src/dhcp/handler.js';
import { handlerContext } from '../../src/dhcp/server.js';
import { clusterBody, makeApp } from '../helpers/core-app.js';
import { clientPacket } from '../helpers/dhcp-packets.js';
import { silentLogger } from '../helpers/dhcp-rig.js';

/** The n-th of many distinct unicast MACs (locally administered, 02:…). */
const macNo = (n: number) =>
  `02:00:${[n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const HOUR = 3600_000;
const DAY = 24 * HOUR;

t.test('zero, broadcast and multicast MACs are not a NIC', async (t) => {
  for (const mac of [
    '00:00:00:00:00:00',
    'ff:ff:ff:ff:ff:ff',
    '01:00:5e:00:00:fb',
    '33:33:00:00:00:01',
    '03:00:00:00:00:00',
  ])
    t.notOk(isStationMac(mac), mac);
  for (const mac of ['52:54:00:12:34:56', '02:00:00:00:00:01', 'fe:ff:ff:ff:ff:ff']) t.ok(isStationMac(mac), mac);
  t.throws(() => parseStationMac('01-00-5E-00-00-FB'), ValidationError);
  t.throws(() => parseStationMac('000000000000'), /all-zero/);
  t.throws(() => parseStationMac('ff:ff:ff:ff:ff:ff'), /broadcast/);
  t.equal(parseStationMac('52:54:00:12:34:56'), '52:54:00:12:34:56');
});

t.test('/ipxe never records zero, broadcast or multicast MACs, nor does registration take them', async (t) => {
  const { get, api, core, store } = await makeApp(t);
  for (const mac of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:7f:00:01']) {
    const res = await get(`/ipxe?mac=${mac}`, '10.9.0.70');
    t.equal(res.statusCode, 200, 'answered, as any unknown machine');
    t.equal(res.headers['x-metalboot-script'], 'discovery');
    t.equal((await api('GET', `/api/v1/machines/${mac}`)).status, 404, `${mac} not recorded`);
  }
  t.equal(await store.machines.countDiscovered(), 0);
  t.equal(core.machines.discoveryRefused.notStation, 3);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const reg = await api('POST', '/api/v1/machines', {
    mac: '01:00:5e:7f:00:01',
    hostname: 'x',
    role: 'worker',
    cluster: 'prod',
  });
  t.equal(reg.status, 400);
  t.equal(reg.json.field, 'mac');
  t.match(reg.json.message, /multicast/);
});

t.test('DHCP never records zero, broadcast or multicast MACs; a unicast PXE client is discovered', async (t) => {
  const { core, store } = await makeApp(t);
  const ctx = handlerContext({
    mode: 'authoritative',
    interface: 'unused',
    serverIp: '10.253.0.1',
    advertiseUrl: 'http://10.253.0.1:8080',
    pool: { range: '10.253.0.100-10.253.0.199', subnetMask: '255.255.255.0', leaseTimeSec: 3600 },
    core: core.network,
    leases: store.leases,
    logger: silentLogger,
  });
  const handler = createDhcpHandler(ctx, () => undefined);
  const discover = (mac: string, xid: number) =>
    handler.handle(
      clientPacket({
        type: 1,
        mac,
        xid,
        options: [
          [60, 'PXEClient:Arch:00007:UNDI:003016'],
          [93, [0, 7]],
        ],
      }),
      { address: '0.0.0.0', port: 68 },
      'server',
    );
  let xid = 1;
  for (const mac of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:ff:00:00:01'])
    await discover(mac, xid++);
  await store.flushed();
  t.equal(await store.machines.countDiscovered(), 0, 'none recorded');
  t.equal(core.machines.discoveryRefused.notStation, 4);
  await discover('52:54:00:aa:bb:01', xid++);
  await store.flushed();
  t.equal(
    (await store.machines.get('52:54:00:aa:bb:01'))?.state,
    'discovered',
    'the rig does discover a unicast PXE client',
  );
});

/** `n` unknown MACs booting, a second apart, each from its own address; 1,000 at a time (one commit each, as a storm is). */
async function storm(core: import('../../src/core/index.js').Core, clock: { advance(ms: number): void }, n: number) {
  for (let start = 0; start < n; start += 1000) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      clock.advance(1000); // discover() reads the clock before its first await
      batch.push(core.machines.discover(macNo(i), { ip: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}` }));
    }
    await Promise.all(batch);
  }
  await core.flushed();
}

t.test('20,000 unknown MACs: discovered machines stay within a small cap, the most recently seen kept', async (t) => {
  const { core, clock, store } = await makeApp(t, { discovery: { maxDiscovered: 250 } });
  await storm(core, clock, 20_000);
  t.equal(await store.machines.countDiscovered(), 250);
  t.ok(await store.machines.get(macNo(19_999)), 'the newest is kept');
  t.ok(await store.machines.get(macNo(19_750)), 'the 250th newest is kept');
  t.notOk(await store.machines.get(macNo(19_749)), 'older ones made room');
});

t.test('20,000 unknown MACs at the default cap: 10,000 discovered machines', async (t) => {
  const { core, clock, store } = await makeApp(t);
  t.equal(core.machines.discoveryLimits.maxDiscovered, 10_000, 'the default');
  await storm(core, clock, 20_000);
  t.equal(await store.machines.countDiscovered(), 10_000);
  t.ok(await store.machines.get(macNo(19_999)), 'the newest is kept');
  t.notOk(await store.machines.get(macNo(9_999)), 'the oldest made room');
});

t.test('a registered machine is never evicted by discoveries', async (t) => {
  const { core, api, store } = await makeApp(t, { discovery: { maxDiscovered: 5, perSourcePerMinute: 0 } });
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: '52:54:00:00:00:01',
        hostname: 'keep',
        role: 'worker',
        cluster: 'prod',
      })
    ).status,
    201,
  );
  for (let i = 0; i < 50; i++) await core.machines.discover(macNo(i), { ip: '10.0.0.1' });
  await store.flushed();
  t.equal(await store.machines.countDiscovered(), 5);
  t.equal((await store.machines.get('52:54:00:00:00:01'))?.hostname, 'keep');
});

t.test('discovery is rate-limited per source address', async (t) => {
  const { core, get, clock, store } = await makeApp(t, { discovery: { perSourcePerMinute: 10 } });
  for (let i = 0; i < 30; i++)
    t.equal((await get(`/ipxe?mac=${macNo(i)}`, '10.9.0.66')).headers['x-metalboot-script'], 'discovery');
  await store.flushed();
  t.equal(await store.machines.countDiscovered(), 10, 'one source: its burst only');
  t.equal(core.machines.discoveryRefused.rateLimited, 20);
  t.equal((await get(`/ipxe?mac=${macNo(100)}`, '10.9.0.67')).statusCode, 200);
  t.ok(await store.machines.get(macNo(100)), 'another source is not held back');
  clock.advance(60_000);
  await get(`/ipxe?mac=${macNo(200)}`, '10.9.0.66');
  t.ok(await store.machines.get(macNo(200)), 'the source may discover again a minute later');
  const known = macNo(0);
  const before = (await store.machines.get(known))!.lastSeen.at;
  clock.advance(1000);
  for (let i = 0; i < 20; i++) await get(`/ipxe?mac=${known}`, '10.9.0.66');
  t.not(
    (await store.machines.get(known))!.lastSeen.at,
    before,
    'a machine already discovered is still seen (the limit is on new records)',
  );
});

t.test('the rate limiter remembers a bounded number of sources', async (t) => {
  let now = 0;
  const limiter = new SourceRateLimiter(2, 100, () => now);
  for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 0xff}`);
  t.equal(limiter.size, 100);
  t.ok(limiter.take('a') && limiter.take('a'), 'a burst of 2');
  t.notOk(limiter.take('a'), 'then refused');
  now += 30_000;
  t.ok(limiter.take('a'), 'refilled evenly: one after half a minute');
  t.notOk(limiter.take('a'));
  t.ok(new SourceRateLimiter(0, 1, () => 0).take('x'), '0: no limit');
});

t.test('discovered machines not seen for the expiry are forgotten by housekeeping; seen ones stay', async (t) => {
  const { core, clock, get, store } = await makeApp(t);
  await get(`/ipxe?mac=${macNo(1)}`, '10.9.0.10');
  await get(`/ipxe?mac=${macNo(2)}`, '10.9.0.11');
  clock.advance(6 * DAY);
  await get(`/ipxe?mac=${macNo(2)}`, '10.9.0.11'); // seen again
  clock.advance(1.5 * DAY);
  const report = await core.housekeeping.runOnce();
  t.equal(report.discoveredExpired, 1);
  t.notOk(await store.machines.get(macNo(1)), 'unseen for 7.5 days: gone');
  t.ok(await store.machines.get(macNo(2)), 'seen 1.5 days ago: kept');
  t.equal((await core.housekeeping.runOnce()).discoveredExpired, 0, 'nothing more');
});

t.test('housekeeping trims discovered machines in batches after the cap was lowered', async (t) => {
  const { core, store, clock } = await makeApp(t, { discovery: { perSourcePerMinute: 0 } });
  for (let i = 0; i < 1200; i++) {
    clock.advance(10);
    await core.machines.discover(macNo(i), { ip: '10.0.0.2' });
  }
  (core.machines.discoveryLimits as { maxDiscovered: number }).maxDiscovered = 100;
  let commits = store.groupCommit.commits;
  const report = await core.housekeeping.runOnce();
  t.equal(report.discoveredTrimmed, 1100);
  t.equal(await store.machines.countDiscovered(), 100);
  t.ok(await store.machines.get(macNo(1199)), 'the newest stay');
  commits = store.groupCommit.commits - commits;
  t.ok(commits >= 3, `deleted over several commits (${commits}), not one long write`);
});
