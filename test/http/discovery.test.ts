import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

t.test('an unknown MAC is discovered, installs nothing, and can be accepted', async (t) => {
  const { get, api } = await makeApp(t);
  const mac = 'de:ad:be:ef:00:01';
  const res = await get(`/ipxe?mac=${encodeURIComponent(mac)}&uuid=4c4c4544-0042-3510-8057-b4c04f4d4e31&serial=SN123&arch=x86_64&platform=pcbios`, '10.9.0.70');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-metalboot-script'], 'discovery');
  t.notMatch(res.body, /^kernel /m, 'nothing to install');
  t.match(res.body, /sleep 30/);
  t.match(res.body, 'chain --autofree http://10.9.0.1:8080/boot.ipxe');

  const listed = await api('GET', '/api/v1/machines?state=discovered');
  t.equal(listed.json.length, 1);
  t.equal(listed.json[0].uuid, '4c4c4544-0042-3510-8057-b4c04f4d4e31');
  t.equal(listed.json[0].serial, 'SN123');
  t.equal(listed.json[0].lastSeen.ip, '10.9.0.70');
  t.equal(listed.json[0].lastSeen.firmware, 'pcbios');
  t.equal((await get(`/ipxe?mac=${mac}`, '10.9.0.70')).headers['x-metalboot-script'], 'discovery', 'still discovery on retry');

  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const accepted = await api('POST', '/api/v1/machines', { mac, hostname: 'w-9', role: 'worker', cluster: 'prod' });
  t.equal(accepted.status, 201, accepted.body);
  t.equal(accepted.json.state, 'registered');
  t.equal(accepted.json.uuid, '4c4c4544-0042-3510-8057-b4c04f4d4e31', 'what discovery saw is kept');
  t.equal((await get(`/ipxe?mac=${mac}&arch=x86_64`, '10.9.0.70')).headers['x-metalboot-script'], 'install');
  const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json;
  t.same(events.map((e: { kind: string }) => e.kind), ['discovered', 'machine-script', 'accepted', 'machine-script']);
  const newest = events.at(-1);
  t.same((await api('GET', '/api/v1/machines')).json[0].lastEvent, { id: newest.id, kind: 'machine-script', at: newest.at }, 'the list carries the newest event');
  t.same((await api('GET', `/api/v1/machines/${mac}`)).json.lastEvent, undefined, 'only the list');
});

t.test('a registered machine without a usable cluster waits instead of failing', async (t) => {
  const { get, api } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const mac = 'de:ad:be:ef:00:02';
  t.equal((await api('POST', '/api/v1/machines', { mac, hostname: 'w-1', role: 'worker', cluster: 'prod' })).status, 201);
  t.equal((await api('PATCH', `/api/v1/machines/${mac}`, { cluster: null })).status, 200);
  const res = await get(`/ipxe?mac=${mac}`, '10.9.0.71');
  t.equal(res.headers['x-metalboot-script'], 'unavailable');
  t.match(res.body, 'no cluster assigned');
});

t.test('generic boot script is attributed by source address when known', async (t) => {
  const { get, api } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const mac = 'de:ad:be:ef:00:03';
  t.equal((await api('POST', '/api/v1/machines', { mac, hostname: 'w-3', role: 'worker', cluster: 'prod', ip: '10.9.0.73' })).status, 201);
  await get('/boot.ipxe', '10.9.0.73');
  await get('/boot.ipxe', '10.9.0.74');
  const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json;
  t.same(events.map((e: { kind: string }) => e.kind), ['registered', 'boot-script']);
  t.equal(events[1].state, 'pxe-booting');
});
