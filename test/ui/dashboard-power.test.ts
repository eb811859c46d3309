/**
 * The dashboard's power, in a real browser (chromium via playwright-core): the Power and BMC rows,
 * a power menu of exactly what the driver can do, destructive actions behind the confirm form, a
 * BMC's failure in its own words, and no power buttons for a machine nothing can switch. The BMC is
 * an in-test PowerDriver (core.power.setBmcDrivers) that records what it is asked. And a failed
 * install's reason (Talos's first cause) in the pane.
 */
import { CHROMIUM, CHROMIUM_ARGS, missingChromium } from '../helpers/browser.js';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import type { BmcTarget, PowerAction, PowerDriver } from '../../src/core/power/power-driver.js';
import { TOKEN, clusterBody, makeApp, type TestApp } from '../helpers/core-app.js';
import { makeTalosApp } from '../helpers/talos-app.js';
import { ev, failedInstall } from '../helpers/talos-standin.js';

const BMC_MAC = 'aa:bb:cc:00:88:01';
const BARE_MAC = 'aa:bb:cc:00:88:02';
const PASSWORD = 'pw-Zq81-never-shown';

const missing = missingChromium;
if (missing && process.env.CI) t.fail(missing);

/** A BMC in the test: what it was asked, and how it answers (switch `failWith` to make it throw). */
function fakeBmc() {
  const calls: { call: string; arg?: unknown; password?: string }[] = [];
  const bmc = { power: 'on' as 'on' | 'off', failWith: '' };
  const factory = (target: BmcTarget): PowerDriver => ({
    name: target.driver,
    supports: (c) => c !== 'soft', // everything but the ACPI shutdown: the menu must follow this
    async perform(action: PowerAction) {
      calls.push({ call: 'perform', arg: action, password: target.password });
      if (bmc.failWith) throw Object.assign(new Error(bmc.failWith), { kind: 'auth' });
      if (action === 'off') bmc.power = 'off';
      if (action === 'on' || action === 'cycle') bmc.power = 'on';
      return { driver: target.driver, detail: { bmc: target.address } };
    },
    async status() {
      calls.push({ call: 'status' });
      if (bmc.failWith) throw Object.assign(new Error(bmc.failWith), { kind: 'auth' });
      return bmc.power;
    },
    async setBootDevice(request) {
      calls.push({ call: 'setBootDevice', arg: request });
      return { driver: target.driver, detail: { bmc: target.address } };
    },
  });
  return { calls, bmc, factory };
}

async function signedIn(t: Test, a: TestApp): Promise<{ page: Page; errors: string[] }> {
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(a.app.server.address() as { port: number }).port}`;
  // The profile lives outside the test's fixture dir (see security-signals.test.ts).
  const profile = mkdtempSync(join(tmpdir(), 'metalboot-ui-profile-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  t.teardown(async () => {
    await ctx.close();
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });
  const page: Page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    // A BMC's refusal is a 502 the page shows; the browser logs every failed request.
    if (msg.type() === 'error' && !/status of (4\d\d|502)/.test(msg.text())) errors.push(msg.text());
  });
  await page.goto(`${base}/ui`);
  await page.fill('#token', TOKEN);
  await page.click('#login button[type=submit]');
  await page.locator('#lists').waitFor({ state: 'visible' });
  return { page, errors };
}

async function open(page: Page, mac: string): Promise<void> {
  await page.evaluate(() => {
    location.hash = '';
  });
  await page.locator('#detail').waitFor({ state: 'hidden' });
  await page.click(`#machine-rows tr[data-mac="${mac}"]`);
  await page.locator('#detail').waitFor({ state: 'visible' });
}

const text = (page: Page, sel: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? '', sel);
/** The power buttons shown: their actions (data-power-action) and the other menu entries (ids). */
const menu = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLButtonElement>('#action-wake, #power-menu button')]
      .filter((b) => !b.hidden)
      .map((b) => b.getAttribute('data-power-action') ?? b.id),
  );

t.test('a machine with a BMC: state, BMC, its menu, confirm, failure', { skip: missing }, async (t) => {
  const a = await makeApp(t);
  const fake = fakeBmc();
  a.core.power.setBmcDrivers(fake.factory);
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  for (const [mac, hostname] of [
    [BMC_MAC, 'bmc-1'],
    [BARE_MAC, 'bare-1'],
  ])
    t.equal((await a.api('POST', '/api/v1/machines', { mac, hostname, role: 'worker', cluster: 'prod' })).status, 201);
  const put = await a.api('PUT', `/api/v1/machines/${BMC_MAC}/bmc`, {
    driver: 'ipmi',
    address: '127.0.0.1:623',
    username: 'admin',
    password: PASSWORD,
  });
  t.equal(put.status, 200, 'BMC set');

  const { page, errors } = await signedIn(t, a);
  await open(page, BMC_MAC);
  await page.waitForFunction(() => document.querySelector('#power-state [data-power-state]')?.textContent === 'on');
  t.match(await text(page, '#power-state'), /on via ipmi/, 'the Power row: state and driver');
  t.equal(await text(page, '#bmc-info'), 'ipmi://admin@127.0.0.1:623', 'the BMC row');
  t.same(
    (await menu(page)).sort(),
    ['action-pxe', 'action-reimage-cycle', 'cycle', 'off', 'on', 'reset'].sort(),
    "the menu: exactly the driver's actions, PXE next boot and reimage + cycle",
  );
  t.equal(await text(page, '#action-wake'), 'Power on', 'on through a BMC is not Wake-on-LAN');
  t.notOk((await page.evaluate(() => document.body.innerHTML)).includes(PASSWORD), 'no password in the pane');

  // Off waits for the confirm: cancel does nothing, confirm powers off.
  await page.click('#power-menu button[data-power-action="off"]');
  await page.locator('#power-confirm').waitFor({ state: 'visible' });
  t.match(await text(page, '#power-confirm-text'), /Power off bmc-1\?/);
  await page.click('#power-confirm-cancel');
  await page.locator('#power-confirm').waitFor({ state: 'hidden' });
  t.notOk(
    fake.calls.some((c) => c.call === 'perform'),
    'nothing performed before the confirm',
  );
  await page.click('#power-menu button[data-power-action="off"]');
  await page.click('#power-confirm button[type=submit]');
  await page.waitForFunction(() => /power-off-requested/.test(document.getElementById('timeline')?.textContent ?? ''));
  t.match(
    fake.calls.filter((c) => c.call === 'perform'),
    [{ arg: 'off', password: PASSWORD }],
    'the driver was asked to switch off, with the password it needs',
  );
  await page.waitForFunction(() => /Power off requested/.test(document.getElementById('toast')?.textContent ?? ''));
  await page.waitForFunction(() => document.querySelector('#power-state [data-power-state]')?.textContent === 'off');
  t.pass('the state is re-read after the action');

  // PXE next boot sets the boot device, without a confirm.
  await page.click('#action-pxe');
  await page.waitForFunction(() => /boot-device-set/.test(document.getElementById('timeline')?.textContent ?? ''));
  t.match(
    fake.calls.filter((c) => c.call === 'setBootDevice'),
    [{ arg: { device: 'pxe', persistent: false } }],
  );

  // Reimage + power cycle, behind the confirm: PXE once, then on (it is off) through the BMC.
  await page.click('#action-reimage-cycle');
  t.match(await text(page, '#power-confirm-text'), /Reimage \+ power cycle bmc-1\?/);
  await page.click('#power-confirm button[type=submit]');
  await page.waitForFunction(() =>
    /Reimage requested for bmc-1/.test(document.getElementById('toast')?.textContent ?? ''),
  );
  t.match((await a.api('GET', `/api/v1/machines/${BMC_MAC}`)).json, {
    state: 'reimage-requested',
    reimage: { wipe: 'system' },
  });
  t.same(
    fake.calls.filter((c) => c.call !== 'status').map((c) => c.arg),
    ['off', { device: 'pxe', persistent: false, efi: false }, { device: 'pxe', persistent: false, efi: false }, 'on'],
    'the BMC: off, PXE next boot, then (reimage) PXE once and on',
  );

  // The BMC refuses: its words in the Power row (shown as an error) and in the toast, no crash.
  fake.bmc.failWith = 'BMC says: invalid user name or password';
  await page.click('#power-menu button[data-power-action="reset"]');
  await page.click('#power-confirm button[type=submit]');
  await page.waitForFunction(() =>
    /Power reset failed: .*invalid user name or password/.test(document.getElementById('toast')?.textContent ?? ''),
  );
  await page.waitForFunction(() =>
    /invalid user name or password/.test(document.querySelector('#power-state .error')?.textContent ?? ''),
  );
  t.pass('a driver that throws: its words shown as an error');
  await page.waitForFunction(() => /power-reset-failed/.test(document.getElementById('timeline')?.textContent ?? ''));
  t.ok(await page.locator('#power-menu button[data-power-action="cycle"]').isVisible(), 'the menu stays');
  fake.bmc.failWith = '';

  // A machine nothing can switch (no BMC, no Wake-on-LAN): no power buttons at all.
  await open(page, BARE_MAC);
  await page.waitForFunction(() => /no power control/.test(document.getElementById('power-state')?.textContent ?? ''));
  t.equal(await text(page, '#bmc-info'), 'none', 'the BMC row says none');
  t.same(await menu(page), [], 'no power buttons');

  t.notOk(
    (await page.evaluate(() => document.body.innerHTML)).includes(PASSWORD),
    'the password never reaches the page',
  );
  t.same(errors, [], 'no script errors on the page');
});

t.test("a failed install: Talos's first cause in the pane, not the consequence", { skip: missing }, async (t) => {
  const a = await makeTalosApp(t);
  await a.register({ mac: BARE_MAC, hostname: 'bare-1' });
  await a.netboot(BARE_MAC);
  await a.talos.publishAll(failedInstall('failed to install: no disk found matching selector'));
  await a.talos.publishAll([ev.service('machined', 'FAILED', 'install failed')]);
  t.equal((await a.machine(BARE_MAC)).state, 'failed');
  const { page, errors } = await signedIn(t, a);
  await open(page, BARE_MAC);
  await page.waitForFunction(() => /no disk found/.test(document.getElementById('detail')?.textContent ?? ''));
  const detail = await text(page, '#detail');
  t.match(detail, /Failure\s*install sequence failed: .*failed to install: no disk found matching selector/);
  t.notMatch(detail, /Failure\s*install failed/, 'the consequence is not shown as the reason');
  t.same(errors, []);
});
