/**
 * Power through a Redfish BMC (issue 14), against the project's Redfish emulator (itself proven with
 * redfishtool and sushy in test/power/redfish-emulator.test.ts): each effect read from the
 * emulator's state, never from metalboot's answer alone.
 */
import t, { type Test } from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';
import { EMU_ADMIN, missingOpenssl, startRedfishEmulator } from '../helpers/redfish-emulator/index.js';

const MAC = '52:54:00:bb:00:01';
const missing = missingOpenssl();
if (missing && process.env.CI) t.fail(`${missing} — CI must provide it (.ci/run installs it), refusing to skip`);

async function lab(t: Test) {
  const emu = await startRedfishEmulator(t);
  const a = await makeApp(t);
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'w-1', role: 'worker', cluster: 'prod' })).status,
    201,
  );
  const events = async () =>
    (await a.api('GET', `/api/v1/machines/${MAC}/events?limit=500`)).json.items as Array<{
      kind: string;
      detail: Record<string, unknown>;
    }>;
  return { ...a, emu, events };
}

t.test('a pinned CA: on, status, boot device (UEFI once), reimage with a cycle', { skip: missing }, async (t) => {
  const a = await lab(t);
  const put = await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, {
    driver: 'redfish',
    address: a.emu.address,
    ...EMU_ADMIN,
    caCert: a.emu.cert.cert,
  });
  t.equal(put.status, 200, put.body);
  t.match((await a.api('GET', `/api/v1/machines/${MAC}/power`)).json, { state: 'off', driver: 'redfish' });
  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' })).status, 202);
  t.equal(a.emu.system().power, 'On', 'the emulator is on');
  t.match((await a.api('GET', `/api/v1/machines/${MAC}/power`)).json, { state: 'on' });

  // The machine booted UEFI (what DHCP saw): the override says so.
  await a.core.network.record({
    mac: MAC,
    messageType: 'DISCOVER',
    reply: 'OFFER',
    mode: 'authoritative',
    arch: 'amd64',
    firmware: 'efi',
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000',
    clientIp: '0.0.0.0',
  });
  const boot = await a.api('POST', `/api/v1/machines/${MAC}/boot-device`, { device: 'pxe' });
  t.equal(boot.status, 200, boot.body);
  t.match(a.emu.system().boot, { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
  t.match(boot.json, { efi: true, driver: 'redfish' });

  const before = a.emu.system().resets.length;
  const re = await a.api('POST', `/api/v1/machines/${MAC}/reimage`, { power: 'cycle' });
  t.equal(re.status, 202, re.body);
  t.match(re.json, { state: 'reimage-requested', power: { action: 'cycle', driver: 'redfish' } });
  t.same(a.emu.system().resets.slice(before), ['PowerCycle'], 'one PowerCycle');
  t.equal(a.emu.system().boots.at(-1), 'Pxe', 'and it came back up from the network');
  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'soft' })).status, 202);
  t.equal(a.emu.system().resets.at(-1), 'GracefulShutdown');
  t.notOk(JSON.stringify(await a.events()).includes(EMU_ADMIN.password), 'no password on the timeline');
});

t.test('refusals: a self-signed BMC without a pin, a wrong password, a bad CA', { skip: missing }, async (t) => {
  const a = await lab(t);
  const set = (extra: Record<string, unknown>) =>
    a.api('PUT', `/api/v1/machines/${MAC}/bmc`, { driver: 'redfish', address: a.emu.address, ...EMU_ADMIN, ...extra });
  t.equal((await set({})).status, 200);
  const tls = await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' });
  t.equal(tls.status, 502, tls.body);
  t.match(tls.json.message, /certificate/i);
  t.match((await a.events()).at(-1), { kind: 'power-on-failed', detail: { driver: 'redfish', reason: 'tls' } });
  t.equal(a.emu.system().power, 'Off', 'nothing reached the system');

  t.equal((await set({ insecureTls: true, password: 'wrong-pw-123' })).status, 200);
  const auth = await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' });
  t.equal(auth.status, 502);
  t.match((await a.events()).at(-1), { detail: { reason: 'auth' } });
  t.notMatch(auth.body, 'wrong-pw-123');

  t.equal((await set({ caCert: 'not a certificate' })).status, 400, 'a CA that is not PEM');
  t.equal((await set({ caCert: a.emu.cert.cert, insecureTls: true })).status, 400, 'pin or insecure, not both');
  const ipmiWithCa = await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, {
    driver: 'ipmi',
    address: '127.0.0.1:623',
    username: 'u',
    password: 'p',
    caCert: a.emu.cert.cert,
  });
  t.equal(ipmiWithCa.status, 400, 'a CA is a Redfish setting');
});
