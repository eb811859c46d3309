/**
 * The hostile LAN against the BMC (issue 14): the wipe script of a powered reimage goes to whoever
 * asks for the MAC, and serving it makes metalboot call the machine's BMC ("PXE once" again). A host
 * flooding /ipxe with that MAC, or with garbage, must not flood the BMC: at most one follow-up call
 * in flight per machine and none within FOLLOW_UP_GAP_MS of the last.
 */
import t from 'tap';
import type { BmcTarget, PowerDriver } from '../../src/core/power/power-driver.js';
import { FOLLOW_UP_GAP_MS } from '../../src/core/power/reimage-with-power.js';
import { clusterBody, makeApp } from '../helpers/core-app.js';

const MAC = '52:54:00:cc:00:01';
const HOSTILE = '192.0.2.66';

t.test('a flood of /ipxe with a reimaging machine’s MAC, and garbage: the BMC hears bounded calls', async (t) => {
  const a = await makeApp(t);
  const calls: string[] = [];
  let release: () => void = () => undefined;
  a.core.power.setBmcDrivers(
    (bmc: BmcTarget): PowerDriver => ({
      name: bmc.driver,
      supports: () => true,
      async perform(action) {
        calls.push(action);
        return { driver: bmc.driver, detail: {} };
      },
      async status() {
        return 'on';
      },
      async setBootDevice(request) {
        calls.push(`boot-${request.device}`);
        // The follow-up call hangs until the test lets it go: the flood arrives while it is in flight.
        if (calls.filter((c) => c === 'boot-pxe').length > 1) await new Promise<void>((r) => (release = r));
        return { driver: bmc.driver, detail: {} };
      },
    }),
  );
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'w-1', role: 'worker', cluster: 'prod' })).status,
    201,
  );
  const bmc = { driver: 'ipmi', address: '127.0.0.1:623', username: 'admin', password: 'x-pw-1' };
  t.equal((await a.api('PUT', `/api/v1/machines/${MAC}/bmc`, bmc)).status, 200);
  t.equal((await a.api('POST', `/api/v1/machines/${MAC}/reimage`, { power: 'cycle' })).status, 202);
  t.same(calls, ['boot-pxe', 'cycle'], 'the reimage: PXE once, then the cycle');

  const flood = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const wipe = await a.get(`/ipxe?mac=${MAC}&arch=x86_64&platform=efi`, HOSTILE);
      t.equal(wipe.headers['x-metalboot-script'], 'wipe');
      const garbage = await a.get(`/ipxe?mac=zz:${i}&arch=%00&platform=${'x'.repeat(300)}`, HOSTILE);
      t.ok(garbage.statusCode < 500, 'garbage: no server error');
    }
  };
  await flood(100);
  await new Promise((r) => setImmediate(r));
  t.same(calls, ['boot-pxe', 'cycle', 'boot-pxe'], '100 wipe scripts: one follow-up call, still in flight');
  release();
  await new Promise((r) => setTimeout(r, 20));
  await flood(50);
  t.equal(calls.length, 3, 'within the gap after it: none');
  a.clock.advance(FOLLOW_UP_GAP_MS);
  await flood(50);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(calls.filter((c) => c === 'boot-pxe').length, 3, 'past the gap: one more, for 200 requests in all');
  release();
  const kinds = (await a.api('GET', `/api/v1/machines/${MAC}/events?limit=1000`)).json.items.map(
    (e: { kind: string }) => e.kind,
  );
  t.ok(kinds.filter((k: string) => k === 'boot-device-set').length <= 3, 'and the timeline holds no more than that');
});
