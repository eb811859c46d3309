/**
 * Power through a machine's BMC (issue 14), against OpenIPMI's `ipmi_sim` with Debian's `ipmitool`
 * as the independent check: every API call's effect is read back from the BMC by ipmitool (and the
 * simulator's chassis-control log), never from metalboot's own answer alone.
 */
import t, { type Test } from 'tap';
import { captureLog } from '../helpers/log-capture.js';
import { clusterBody, makeApp } from '../helpers/core-app.js';
import { ipmitoolCli, missingIpmiTools, OPERATOR, startIpmiSim, waitFor } from '../helpers/ipmi-sim.js';

const MAC = '52:54:00:aa:00:01';
const SECOND = '52:54:00:aa:00:02';
const NO_BMC = '52:54:00:aa:00:03';

const missing = missingIpmiTools();
if (missing && process.env.CI) t.fail(`${missing} — CI must provide these (.ci/run installs them), refusing to skip`);
if (missing) t.plan(0, missing);

/** One sample of the Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
const metrics = async (a: { app: { inject(o: { url: string }): Promise<{ body: string }> } }) =>
  (await a.app.inject({ url: '/metrics' })).body;

async function lab(t: Test) {
  const { logger, text: logs } = captureLog();
  const sim = await startIpmiSim(t);
  const a = await makeApp(t, { logger });
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  for (const [mac, rack] of [
    [MAC, 'r1'],
    [SECOND, 'r1'],
    [NO_BMC, 'r2'],
  ] as const) {
    const r = await a.api('POST', '/api/v1/machines', {
      mac,
      hostname: `w-${mac.slice(-2)}`,
      role: 'worker',
      cluster: 'prod',
      labels: { rack },
    });
    t.equal(r.status, 201, r.body);
  }
  const bmc = { driver: 'ipmi', address: sim.address, ...OPERATOR };
  for (const mac of [MAC, SECOND]) t.equal((await a.api('PUT', `/api/v1/machines/${mac}/bmc`, bmc)).status, 200);
  const ipmitool = (...args: string[]) => ipmitoolCli(sim.port, args).stdout;
  const events = async (mac: string) =>
    (await a.api('GET', `/api/v1/machines/${mac}/events?limit=500`)).json.items as Array<{
      kind: string;
      detail: Record<string, unknown>;
    }>;
  return { ...a, sim, ipmitool, events, logs };
}

t.test('on, status, cycle, off, boot device: what ipmitool reads back', async (t) => {
  const a = await lab(t);
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is off/);
  t.match((await a.api('GET', `/api/v1/machines/${MAC}/power`)).json, { state: 'off', driver: 'ipmi' });

  const on = await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' });
  t.equal(on.status, 202, on.body);
  t.match(on.json, { mac: MAC, action: 'on', driver: 'ipmi', detail: { bmc: a.sim.address } });
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is on/, 'ipmitool: on');
  const status = await a.api('GET', `/api/v1/machines/${MAC}/power`);
  t.same(status.json, {
    mac: MAC,
    state: 'on',
    driver: 'ipmi',
    actions: ['on', 'off', 'cycle', 'reset', 'soft'],
    bootDevice: true,
  });

  const before = a.sim.log().length;
  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'cycle' })).status, 202);
  await waitFor('the cycle on the chassis', () => a.sim.log().slice(before).join(' ') === 'power=0 power=1');
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is on/, 'on again after the cycle');

  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'off' })).status, 202);
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is off/, 'ipmitool: off');
  t.match((await a.api('GET', `/api/v1/machines/${MAC}/power`)).json, { state: 'off' });

  t.notMatch(a.ipmitool('chassis', 'bootparam', 'get', '5'), /Force PXE/);
  const boot = await a.api('POST', `/api/v1/machines/${MAC}/boot-device`, { device: 'pxe' });
  t.equal(boot.status, 200, boot.body);
  t.match(boot.json, { mac: MAC, device: 'pxe', persistent: false, efi: false, driver: 'ipmi' });
  t.match(a.ipmitool('chassis', 'bootparam', 'get', '5'), /Boot Device Selector : Force PXE/, 'ipmitool: PXE');

  const kinds = (await a.events(MAC)).map((e) => e.kind);
  for (const k of ['power-on-requested', 'power-cycle-requested', 'power-off-requested', 'boot-device-set'])
    t.ok(kinds.includes(k), `${k} on the timeline`);
  const audit = (await a.api('GET', '/api/v1/audit?limit=100')).json.items.map((e: { action: string }) => e.action);
  for (const k of ['machine.power-on', 'machine.power-cycle', 'machine.power-off', 'machine.boot-device'])
    t.ok(audit.includes(k), `${k} audited`);

  const m = await metrics(a);
  for (const action of ['on', 'cycle', 'off'])
    t.equal(sample(m, 'metalboot_power_actions_total', `driver="ipmi",action="${action}",result="ok"`), 1, action);
  t.equal(sample(m, 'metalboot_power_actions_total', 'driver="ipmi",action="boot-device",result="ok"'), 1);
  t.equal(sample(m, 'metalboot_bmcs', 'reachable="true"'), 1, 'one BMC answered');
  t.equal(sample(m, 'metalboot_bmcs', 'reachable="false"'), 0);

  // The password is nowhere metalboot writes or answers.
  const everything = [
    JSON.stringify(await a.events(MAC)),
    JSON.stringify((await a.api('GET', '/api/v1/audit?limit=100')).json),
    (await a.api('GET', `/api/v1/machines/${MAC}`)).body,
    a.logs(),
  ].join('\n');
  t.notOk(everything.includes(OPERATOR.password), 'no password in timeline, audit, machine or logs');
});

t.test('a wrong password is a 502 with the BMC words, on the timeline, and changes nothing', async (t) => {
  const a = await lab(t);
  const wrong = 'not-the-password';
  t.equal(
    (
      await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, {
        driver: 'ipmi',
        address: a.sim.address,
        username: 'admin',
        password: wrong,
      })
    ).status,
    200,
  );
  const r = await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' });
  t.equal(r.status, 502, r.body);
  t.equal(r.json.error, 'power_failed');
  t.match(r.json.message, /authentication failed.*RAKP 2 HMAC is invalid/);
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is off/, 'still off');
  const last = (await a.events(MAC)).at(-1)!;
  t.match(last, { kind: 'power-on-failed', detail: { driver: 'ipmi', reason: 'auth' } });
  const status = await a.api('GET', `/api/v1/machines/${MAC}/power`);
  t.equal(status.status, 502, 'the state cannot be read either');
  t.match(status.json, { error: 'power_failed', state: 'unknown', driver: 'ipmi', bootDevice: true });
  t.same(status.json.actions, ['on', 'off', 'cycle', 'reset', 'soft'], 'what the driver could do, all the same');
  t.match(status.json.message, /RAKP 2 HMAC is invalid/);
  t.notOk(`${r.body}${status.body}${JSON.stringify(await a.events(MAC))}${a.logs()}`.includes(wrong));

  // Nothing listens there: unreachable, within the driver's bounded retries.
  t.equal(
    (
      await a.api('PUT', `/api/v1/machines/${SECOND}/bmc`, {
        driver: 'ipmi',
        address: '127.0.0.1:9',
        ...{ username: 'admin', password: 'x' },
      })
    ).status,
    200,
  );
  const gone = await a.api('POST', `/api/v1/machines/${SECOND}/power`, { action: 'off' });
  t.equal(gone.status, 502);
  t.match(gone.json.message, /does not answer/);
  t.match((await a.events(SECOND)).at(-1), { kind: 'power-off-failed', detail: { reason: 'unreachable' } });
  const m = await metrics(a);
  t.equal(sample(m, 'metalboot_power_actions_total', 'driver="ipmi",action="on",result="auth"'), 1);
  t.equal(sample(m, 'metalboot_power_actions_total', 'driver="ipmi",action="off",result="unreachable"'), 1);
  t.equal(sample(m, 'metalboot_bmcs', 'reachable="false"'), 2, 'both BMCs failing');
});

t.test('reimage with power: PXE once, then a cycle (or on when off), every step on the timeline', async (t) => {
  const a = await lab(t);
  const r = await a.api('POST', `/api/v1/machines/${MAC}/reimage`, { wipe: 'system', power: 'cycle' });
  t.equal(r.status, 202, r.body);
  t.match(r.json, { mac: MAC, state: 'reimage-requested', power: { bootDevice: 'pxe', action: 'on', driver: 'ipmi' } });
  t.match(a.ipmitool('chassis', 'bootparam', 'get', '5'), /Force PXE/);
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is on/, 'an off machine is switched on');
  const kinds = (await a.events(MAC)).map((e) => e.kind);
  const steps = ['reimage-requested', 'boot-device-set', 'power-on-requested'];
  t.same(
    kinds.filter((k) => steps.includes(k)),
    steps,
    'in this order',
  );

  // Now it is on: the same request cycles it.
  const before = a.sim.log().length;
  const again = await a.api('POST', `/api/v1/machines/${MAC}/reimage`, { power: 'cycle' });
  t.equal(again.status, 202, again.body);
  t.equal(again.json.power.action, 'cycle');
  await waitFor('the cycle', () => a.sim.log().slice(before).join(' ').endsWith('power=0 power=1'));
});

t.test(
  'once the wipe boot is served, the BMC boots the network once more (the wipe leaves the disk bootable)',
  async (t) => {
    const a = await lab(t);
    t.equal((await a.api('POST', `/api/v1/machines/${MAC}/reimage`, { power: 'cycle' })).status, 202);
    // The BMC used its flag for the wipe boot (a real one clears it); what follows must set it again.
    t.equal(ipmitoolCli(a.sim.port, ['chassis', 'bootdev', 'none']).status, 0);
    t.notMatch(a.ipmitool('chassis', 'bootparam', 'get', '5'), /Force PXE/);
    const ip = '192.0.2.77';
    const script = await a.get(`/ipxe?mac=${MAC}&arch=x86_64&platform=efi`, ip);
    t.equal(script.headers['x-metalboot-script'], 'wipe');
    const sets = async () => (await a.events(MAC)).filter((e) => e.kind === 'boot-device-set');
    for (let i = 0; i < 200 && (await sets()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    t.equal((await sets()).length, 2, 'boot-device-set again, once the wipe boot was served');
    t.match(a.ipmitool('chassis', 'bootparam', 'get', '5'), /Force PXE/, 'ipmitool: PXE again');
    t.match((await sets()).at(-1), { detail: { device: 'pxe', persistent: false, driver: 'ipmi' } });

    // A reimage without power leaves the BMC alone after its wipe boot.
    const other = await a.api('POST', `/api/v1/machines/${SECOND}/reimage`, {});
    t.equal(other.status, 202);
    t.equal(
      (await a.get(`/ipxe?mac=${SECOND}&arch=x86_64&platform=efi`, '192.0.2.78')).headers['x-metalboot-script'],
      'wipe',
    );
    await new Promise((r) => setTimeout(r, 200));
    t.notOk(
      (await a.events(SECOND)).some((e) => e.kind.startsWith('boot-device')),
      'no BMC call for it',
    );
  },
);

t.test('without a BMC: Wake-on-LAN or nothing, refused before anything changes', async (t) => {
  const a = await lab(t);
  t.same((await a.api('GET', `/api/v1/machines/${NO_BMC}/power`)).json, {
    mac: NO_BMC,
    state: 'unknown',
    driver: null,
    actions: [],
    bootDevice: false,
  });
  const on = await a.api('POST', `/api/v1/machines/${NO_BMC}/power`, { action: 'on' });
  t.equal(on.status, 409);
  t.match(on.json.message, /give it a BMC/);
  const boot = await a.api('POST', `/api/v1/machines/${NO_BMC}/boot-device`, { device: 'pxe' });
  t.equal(boot.status, 409);
  const before = (await a.api('GET', `/api/v1/machines/${NO_BMC}`)).json;
  const re = await a.api('POST', `/api/v1/machines/${NO_BMC}/reimage`, { power: 'cycle' });
  t.equal(re.status, 409);
  t.match(re.json.message, /needs a BMC/);
  const after = (await a.api('GET', `/api/v1/machines/${NO_BMC}`)).json;
  t.same(after, before, 'the machine is as it was: no reimage requested');
  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'dance' })).status, 400);
  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/boot-device`, { device: 'floppy' })).status, 400);
  t.equal((await a.api('POST', '/api/v1/machines/52:54:00:ff:ff:ff/power', { action: 'on' })).status, 404);
});

t.test('a batch by label powers its machines one after another', async (t) => {
  const a = await lab(t);
  t.equal((await a.api('POST', '/api/v1/power/batches', { action: 'on' })).status, 400, 'no selector: refused');
  t.equal(
    (await a.api('POST', '/api/v1/power/batches', { action: 'on', label: 'rack=none' })).status,
    404,
    'nothing matches',
  );
  const started = await a.api('POST', '/api/v1/power/batches', { action: 'on', label: 'rack=r1', staggerMs: 200 });
  t.equal(started.status, 202, started.body);
  t.same(
    started.json.items.map((i: { mac: string }) => i.mac),
    [MAC, SECOND],
  );
  let batch = started.json;
  for (let i = 0; i < 300 && batch.finishedAt === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const got = await a.api('GET', `/api/v1/power/batches/${started.json.id}`);
    t.equal(got.status, 200, got.body);
    batch = got.json;
  }
  t.not(batch.finishedAt, null, 'the batch finished');
  t.same(
    batch.items.map((i: { status: string }) => i.status),
    ['done', 'done'],
  );
  t.ok(batch.items[0].at <= batch.items[1].at, 'one after the other');
  for (const mac of [MAC, SECOND]) t.ok((await a.events(mac)).some((e) => e.kind === 'power-on-requested'));
  t.match(a.ipmitool('chassis', 'power', 'status'), /Chassis Power is on/);
  t.equal((await a.api('GET', '/api/v1/power/batches/999')).status, 404);
});
