/**
 * A machine's BMC through the API (issue 14): the password goes in and never comes out — not in
 * an answer, the audit log, the timeline, a log line, or the database file in the clear.
 */
import t, { type Test } from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { captureLog } from '../helpers/log-capture.js';
import { clusterBody, makeApp, TOKEN } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:22';
const OTHER = 'aa:bb:cc:00:11:33';
const PASSWORD = 'Sup3r-S3cret-BMC-pw';
const BMC = { driver: 'ipmi', address: '10.0.0.21:623', username: 'admin', password: PASSWORD };

async function app(t: Test) {
  const { logger, text: logs } = captureLog();
  const a = await makeApp(t, { logger });
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  for (const mac of [MAC, OTHER])
    t.equal(
      (
        await a.api('POST', '/api/v1/machines', {
          mac,
          hostname: `h-${mac.slice(-2)}`,
          role: 'worker',
          cluster: 'prod',
        })
      ).status,
      201,
    );
  return { ...a, logs };
}

t.test('set, shown without the password, opened only for a driver; delete', async (t) => {
  const a = await app(t);
  const put = await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, BMC);
  t.equal(put.status, 200, put.body);
  t.match(put.json, {
    driver: 'ipmi',
    address: '10.0.0.21:623',
    username: 'admin',
    systemId: null,
    insecureTls: false,
  });
  t.notMatch(put.body, PASSWORD, 'the answer has no password');
  t.notMatch(put.body, /sealed|password/i, 'nor its sealed form');
  const got = await a.api('GET', `/api/v1/machines/${MAC}`);
  t.match(got.json.bmc, { driver: 'ipmi', address: '10.0.0.21:623', username: 'admin' });
  t.notMatch(got.body, PASSWORD);
  t.notMatch(got.body, /passwordSealed/);
  t.equal((await a.api('GET', `/api/v1/machines/${OTHER}`)).json.bmc, null, 'another machine has none');
  t.match(await a.core.bmc.credentials(MAC), { ...BMC }, 'a power driver gets the password back');

  const audit = await a.api('GET', `/api/v1/audit?target=${MAC}`);
  t.ok(
    audit.json.items.some((e: { action: string }) => e.action === 'machine.bmc.set'),
    'audited',
  );
  t.notMatch(audit.body, PASSWORD, 'the audit log has no password');
  const events = await a.api('GET', `/api/v1/machines/${MAC}/events`);
  t.ok(
    events.json.items.some((e: { kind: string }) => e.kind === 'bmc-set'),
    'on the timeline',
  );
  t.notMatch(events.body, PASSWORD, 'the timeline has no password');

  await a.store.flushed();
  const dataDir = join(a.dir, 'data');
  for (const f of readdirSync(dataDir).filter((n) => n.startsWith('metalboot.db')))
    t.notOk(readFileSync(join(dataDir, f)).includes(PASSWORD), `${f} does not hold the password in the clear`);
  t.notMatch(a.logs(), PASSWORD, 'no log line has it');

  const del = await a.api('DELETE', `/api/v1/machines/${MAC}/bmc`);
  t.equal(del.status, 204);
  t.equal((await a.api('GET', `/api/v1/machines/${MAC}`)).json.bmc, null);
  t.equal((await a.api('DELETE', `/api/v1/machines/${MAC}/bmc`)).status, 404, 'deleting nothing');
  t.equal(await a.core.bmc.credentials(MAC), undefined);
});

t.test('bad input is refused with what is wrong, and changes nothing', async (t) => {
  const a = await app(t);
  t.equal((await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, BMC)).status, 200);
  const bad: Array<[string, Record<string, unknown>]> = [
    ['driver', { ...BMC, driver: 'telnet' }],
    ['address', { ...BMC, address: '10.0.0.21:70000' }],
    ['address', { ...BMC, address: 'http://10.0.0.21' }],
    ['address', { ...BMC, address: 'a b' }],
    ['username', { ...BMC, username: 'ad\nmin' }],
    ['password', { ...BMC, password: 'x'.repeat(129) }],
    ['password', { ...BMC, password: 'tab\there' }],
    ['systemId', { ...BMC, systemId: 'System.1' }],
    ['extra', { ...BMC, port: 623 }],
    ['missing', { driver: 'ipmi', address: '10.0.0.1' }],
  ];
  for (const [what, body] of bad) {
    const r = await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, body);
    t.equal(r.status, 400, `${what}: ${r.body}`);
    t.notMatch(r.body, PASSWORD, `${what}: the refusal does not echo the password`);
  }
  t.equal((await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, 'not json')).status, 400);
  t.match((await a.api('GET', `/api/v1/machines/${MAC}`)).json.bmc, { address: '10.0.0.21:623' }, 'unchanged');
  const unknown = await a.api('PUT', '/api/v1/machines/aa:bb:cc:99:99:99/bmc', BMC);
  t.equal(unknown.status, 404, 'not for an unregistered machine');
  t.equal(await a.core.bmc.credentials('aa:bb:cc:99:99:99'), undefined, 'nothing stored for it');
  const redfish = await a.api('PUT', `/api/v1/machines/${OTHER}/bmc`, {
    driver: 'redfish',
    address: '[fd00::21]:8443',
    username: 'root',
    password: PASSWORD,
    systemId: 'System.Embedded.1',
    insecureTls: true,
  });
  t.equal(redfish.status, 200, redfish.body);
  t.match(redfish.json, {
    driver: 'redfish',
    address: '[fd00::21]:8443',
    systemId: 'System.Embedded.1',
    insecureTls: true,
  });
});

t.test('without the API token: refused, and nothing is stored', async (t) => {
  const a = await app(t);
  for (const method of ['PUT', 'DELETE'] as const) {
    const r = await a.app.inject({
      method,
      url: `/api/v1/machines/${MAC}/bmc`,
      remoteAddress: '10.9.0.66',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token' },
      payload: JSON.stringify(BMC),
    });
    t.equal(r.statusCode, 401, method);
  }
  t.equal(await a.core.bmc.credentials(MAC), undefined);
  t.ok(TOKEN.length > 0);
});
