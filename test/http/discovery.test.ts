import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

t.test('an unknown MAC is discovered, installs nothing, and can be accepted', async (t) => {
  const { get, api } = await makeApp(t);
  const mac = 'de:ad:be:ef:00:01';
  const res = await get(
    `/ipxe?mac=${encodeURIComponent(mac)}&uuid=4c4c4544-0042-3510-8057-b4c04f4d4e31&serial=SN123&arch=x86_64&platform=pcbios`,
    '10.9.0.70',
  );
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-metalboot-script'], 'discovery');
  t.notMatch(res.body, /^kernel /m, 'nothing to install');
  t.match(res.body, /sleep 30/);
  t.match(res.body, 'chain --autofree http://10.9.0.1:8080/boot.ipxe');

  const listed = await api('GET', '/api/v1/machines?state=discovered');
  t.equal(listed.json.items.length, 1);
  t.equal(listed.json.next, null, 'one page');
  t.equal(listed.json.items[0].uuid, '4c4c4544-0042-3510-8057-b4c04f4d4e31');
  t.equal(listed.json.items[0].serial, 'SN123');
  t.equal(listed.json.items[0].lastSeen.ip, '10.9.0.70');
  t.equal(listed.json.items[0].lastSeen.firmware, 'pcbios');
  t.equal(
    (await get(`/ipxe?mac=${mac}`, '10.9.0.70')).headers['x-metalboot-script'],
    'discovery',
    'still discovery on retry',
  );

  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const accepted = await api('POST', '/api/v1/machines', { mac, hostname: 'w-9', role: 'worker', cluster: 'prod' });
  t.equal(accepted.status, 201, accepted.body);
  t.equal(accepted.json.state, 'registered');
  t.equal(accepted.json.uuid, '4c4c4544-0042-3510-8057-b4c04f4d4e31', 'what discovery saw is kept');
  t.equal((await get(`/ipxe?mac=${mac}&arch=x86_64`, '10.9.0.70')).headers['x-metalboot-script'], 'install');
  const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json.items;
  t.same(
    events.map((e: { kind: string }) => e.kind),
    ['discovered', 'machine-script', 'accepted', 'machine-script'],
  );
  const newest = events.at(-1);
  t.same(
    (await api('GET', '/api/v1/machines')).json.items[0].lastEvent,
    { id: newest.id, kind: 'machine-script', at: newest.at },
    'the list carries the newest event',
  );
  t.same((await api('GET', `/api/v1/machines/${mac}`)).json.lastEvent, undefined, 'only the list');
});

t.test('a registered machine without a usable cluster waits instead of failing', async (t) => {
  const { get, api } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const mac = 'de:ad:be:ef:00:02';
  t.equal(
    (await api('POST', '/api/v1/machines', { mac, hostname: 'w-1', role: 'worker', cluster: 'prod' })).status,
    201,
  );
  t.equal((await api('PATCH', `/api/v1/machines/${mac}`, { cluster: null })).status, 200);
  const res = await get(`/ipxe?mac=${mac}`, '10.9.0.71');
  t.equal(res.headers['x-metalboot-script'], 'unavailable');
  t.match(res.body, 'no cluster assigned');
});

t.test('generic boot script is attributed by source address when known', async (t) => {
  const { get, api } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const mac = 'de:ad:be:ef:00:03';
  t.equal(
    (await api('POST', '/api/v1/machines', { mac, hostname: 'w-3', role: 'worker', cluster: 'prod', ip: '10.9.0.73' }))
      .status,
    201,
  );
  await get('/boot.ipxe', '10.9.0.73');
  await get('/boot.ipxe', '10.9.0.74');
  const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json.items;
  t.same(
    events.map((e: { kind: string }) => e.kind),
    ['registered', 'boot-script'],
  );
  t.equal(events[1].state, 'pxe-booting');
});

t.test('the same machine booting from another NIC is found by its SMBIOS UUID, over DHCP and HTTP', async (t) => {
  const { get, api, core } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const mac = '52:54:00:0a:0b:01';
  const otherNic = '52:54:00:0a:0b:02';
  const uuid = '4c4c4544-0042-3510-8057-b4c04f4d4e32';
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac,
        hostname: 'w-uuid',
        role: 'worker',
        cluster: 'prod',
        uuid,
        bootFile: 'snponly.efi',
      })
    ).status,
    201,
  );
  // An earlier boot from the second NIC, before anything tied the two, left a discovered record.
  await core.machines.discover(otherNic, { uuid });

  t.match(
    await core.network.lookup(otherNic, uuid),
    { known: true, bootFileOverride: 'snponly.efi' },
    'DHCP: the machine, by UUID',
  );
  t.same(await core.network.lookup(otherNic, undefined), { known: false }, 'without a UUID: an unknown NIC');
  await core.network.record({
    mac: otherNic,
    uuid,
    messageType: 'DISCOVER',
    reply: 'OFFER',
    mode: 'authoritative',
    vendorClass: 'PXEClient:Arch:00007',
    offeredIp: '10.9.0.77',
    arch: 'amd64',
    firmware: 'efi',
  } as never);
  const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json.items;
  t.match(
    events.at(-1),
    { kind: 'dhcp-discover', detail: { nic: otherNic } },
    "on the machine's timeline, naming the NIC",
  );

  const res = await get(`/ipxe?mac=${otherNic}&uuid=${uuid}&arch=x86_64&platform=efi`, '10.9.0.77');
  t.equal(res.headers['x-metalboot-script'], 'install', 'HTTP: the install script, not discovery');
  const url = /talos\.config=(\S+)/.exec(res.body)![1]!;
  t.match(url, `/config/${mac}?`, "the config URL is the machine's own");
  t.equal(
    (await get(url.replace('http://10.9.0.1:8080', ''), '10.9.0.77')).statusCode,
    200,
    'and its config is delivered',
  );
  t.equal(
    (await api('GET', `/api/v1/machines/${otherNic}`)).json.state,
    'discovered',
    'the NIC record is left as it was',
  );
  t.equal(
    (await get(`/ipxe?mac=${otherNic}&arch=x86_64`, '10.9.0.77')).headers['x-metalboot-script'],
    'discovery',
    'without the UUID: discovery',
  );
});

t.test('a UUID shared by several machines, or a firmware placeholder, identifies nobody', async (t) => {
  const { get, api, core } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const shared = '4c4c4544-0042-3510-8057-b4c04f4d4e33';
  for (const [mac, host] of [
    ['52:54:00:0c:00:01', 'a'],
    ['52:54:00:0c:00:02', 'b'],
  ]) {
    t.equal(
      (await api('POST', '/api/v1/machines', { mac, hostname: host, role: 'worker', cluster: 'prod', uuid: shared }))
        .status,
      201,
    );
  }
  t.same(await core.network.lookup('52:54:00:0c:00:09', shared), { known: false }, 'two machines have it: no match');
  const placeholder = '03000200-0400-0500-0006-000700080009';
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: '52:54:00:0c:00:03',
        hostname: 'c',
        role: 'worker',
        cluster: 'prod',
        uuid: placeholder,
      })
    ).status,
    201,
  );
  t.same(await core.network.lookup('52:54:00:0c:00:0a', placeholder), { known: false }, 'a placeholder UUID: no match');
  const res = await get(`/ipxe?mac=52:54:00:0c:00:0a&uuid=${placeholder}&arch=x86_64`, '10.9.0.88');
  t.equal(res.headers['x-metalboot-script'], 'discovery', "the other board is discovered, not given c's config");
  t.equal((await api('GET', '/api/v1/machines/52:54:00:0c:00:0a')).json.state, 'discovered');
});
