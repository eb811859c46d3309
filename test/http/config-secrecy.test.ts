import t, { type Test } from 'tap';
import { clusterBody, configUrlOf, makeApp } from '../helpers/core-app.js';

const mac = '52:54:00:12:34:56';
const IP = '10.9.0.60';

async function setup(t: Test) {
  const ctx = await makeApp(t);
  t.equal((await ctx.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await ctx.api('POST', '/api/v1/machines', { mac, hostname: 'cp-1', role: 'controlplane', cluster: 'prod' }))
      .status,
    201,
  );
  const script = await ctx.get(`/ipxe?mac=${mac}&arch=x86_64&platform=pcbios`, IP);
  return { ...ctx, url: configUrlOf(script.body) };
}

t.test('refusals are audited and on the timeline', async (t) => {
  const { get, api, store, url } = await setup(t);
  t.equal((await get(url, '10.9.0.61')).statusCode, 403);
  t.equal((await get('/config/52:54:00:00:00:01?token=x', IP)).statusCode, 404, 'unknown machine');
  t.equal((await get('/config/not-a-mac?token=x', IP)).statusCode, 400, 'malformed MAC');
  const audit = await store.audit.list();
  const refused = audit.filter((a) => a.action === 'config.refused');
  t.equal(refused.length, 3);
  t.same(
    refused.map((a) => a.sourceIp),
    [IP, IP, '10.9.0.61'],
  );
  const viaApi = await api('GET', `/api/v1/audit?target=${mac.toUpperCase()}`);
  t.equal(viaApi.status, 200);
  t.same(
    viaApi.json.items.map((a: { action: string }) => a.action),
    ['config.refused', 'machine.create'],
    'audit API, newest first',
  );
  const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json.items;
  t.ok(
    events.some((e: { kind: string; sourceIp: string }) => e.kind === 'config-refused' && e.sourceIp === '10.9.0.61'),
  );
});

t.test('a token expires', async (t) => {
  const { get, clock, url } = await setup(t);
  clock.advance(3 * 3600_000 + 1);
  const res = await get(url, IP);
  t.equal(res.statusCode, 403);
  t.match(res.json().message, 'expired');
});

t.test('only the latest boot token works', async (t) => {
  const { get, url } = await setup(t);
  const second = configUrlOf((await get(`/ipxe?mac=${mac}&arch=x86_64`, IP)).body);
  t.not(second, url, 'each boot gets a fresh token');
  t.equal((await get(url, IP)).statusCode, 403, 'the old token is revoked');
  t.equal((await get(second, IP)).statusCode, 200);
});

t.test('an installed machine gets no config and boots its disk; reimage reopens the window', async (t) => {
  const { get, api, url } = await setup(t);
  const patched = await api('PATCH', `/api/v1/machines/${mac}`, { installed: true });
  t.equal(patched.status, 200, patched.body);
  t.equal(patched.json.state, 'installed');
  t.equal((await get(url, IP)).statusCode, 403, 'config refused outside the install window');
  const local = await get(`/ipxe?mac=${mac}&arch=x86_64`, IP);
  t.equal(local.headers['x-metalboot-script'], 'localboot');
  t.match(local.body, /^exit$/m);
  t.notMatch(local.body, 'kernel ');
  t.equal((await api('PATCH', `/api/v1/machines/${mac}`, { localBoot: 'sanboot' })).status, 200);
  t.match((await get(`/ipxe?mac=${mac}&arch=x86_64`, IP)).body, 'sanboot --no-describe --drive 0x80');
  t.equal((await api('GET', `/api/v1/machines/${mac}`)).json.state, 'booting-from-disk');

  const re = await api('POST', `/api/v1/machines/${mac}/reimage`, {});
  t.equal(re.status, 202, re.body);
  t.equal(re.json.state, 'reimage-requested');
  t.same(re.json.reimage.wipe, 'system');
  // Reimage = one wipe boot (talos.experimental.wipe=system, no config), then a normal install.
  const wipe = await get(`/ipxe?mac=${mac}&arch=x86_64`, IP);
  t.equal(wipe.headers['x-metalboot-script'], 'wipe', 'the wipe boot comes first');
  t.match(wipe.body, 'talos.experimental.wipe=system');
  t.notMatch(wipe.body, 'talos.config=', 'the wipe boot gets no config');
  t.equal((await get('/assets/talos/v1.13.9/initramfs-amd64.xz', IP)).statusCode, 200, 'the wipe kernel boots');
  await new Promise((resolve) => setImmediate(resolve)); // the transfer's bookkeeping runs after the response
  const again = await get(`/ipxe?mac=${mac}&arch=x86_64`, IP);
  t.equal(again.headers['x-metalboot-script'], 'install', 'installer served again after reimage');
  t.equal((await get(configUrlOf(again.body), IP)).statusCode, 200);
  const kinds = (await api('GET', `/api/v1/machines/${mac}/events`)).json.items.map((e: { kind: string }) => e.kind);
  t.ok(kinds.includes('reimage-requested'));
  const audit = (await api('GET', `/api/v1/machines/${mac}`)).json;
  t.equal(audit.state, 'config-delivered');
});

t.test('an invalid rendered config is not served: 503 and the reason on the timeline', async (t) => {
  const { get, api } = await setup(t);
  // a patch that parses but yields a key Talos does not know
  const p = await api('PATCH', `/api/v1/machines/${mac}`, { patches: ['machine:\n  instal:\n    disk: /dev/sda\n'] });
  t.equal(p.status, 400, 'caught at the API already');
  t.match(p.json.message, 'instal');
  const script = await get(`/ipxe?mac=${mac}&arch=x86_64`, IP);
  t.equal((await get(configUrlOf(script.body), IP)).statusCode, 200, 'machine unchanged by the refused patch');
});
