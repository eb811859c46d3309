/**
 * The dashboard end to end in a real browser: Debian's chromium driven by playwright-core against
 * a listening metalboot (real SQLite, real routes). The test plays the network: DHCP and TFTP
 * through the core's adapter ports, HTTP boot requests through the app, Talos through the core.
 */
import { CHROMIUM, CHROMIUM_ARGS, missingChromium } from '../helpers/browser.js';
import { timelineObserver } from '../../src/tftp/timeline-observer.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { blankMachine } from '../../src/core/registry/machines.js';
import { ROOT, TOKEN, clusterBody, configUrlOf, makeApp, type TestApp } from '../helpers/core-app.js';

const W1 = { mac: 'aa:bb:cc:00:11:22', ip: '10.9.0.50' };
const CP1 = { mac: 'aa:bb:cc:00:11:23', ip: '10.9.0.51' };
const NEW = { mac: 'de:ad:be:ef:00:01', ip: '10.9.0.70' };
const EVIL = '<img src=x onerror="window.__pwned=1">';

const missing = missingChromium;
// CI installs chromium (Debian package) and must run this; a developer without it is told, not failed.
if (missing && process.env.CI) t.fail(missing);
t.test('dashboard: sign in, live states, accept, reimage, wake, escaping', { skip: missing }, dashboard);
t.test(
  'dashboard with 40,000 machines: pages of 200 and "Show more", never the whole registry at once',
  { skip: missing },
  manyMachines,
);

async function launch(t: Test, profileDir: string): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  // A persistent context is how playwright takes a --user-data-dir: a fresh one per run, inside
  // the test's directory (t.testdir() again would wipe the app's data and assets).
  const ctx = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
  });
  t.teardown(() => ctx.close());
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) errors.push(msg.text());
  });
  return { ctx, page, errors };
}

/** The state badge of a machine's row, once it shows `state` (the stream, not a poll, must bring it). */
async function waitForState(page: Page, mac: string, state: string) {
  await page.waitForFunction(
    ([m, s]) => document.querySelector(`#machine-rows tr[data-mac="${m}"] .badge`)?.textContent === s,
    [mac, state] as const,
    { timeout: 10_000 },
  );
}

async function apiState(a: TestApp, mac: string): Promise<string> {
  return (await a.api('GET', `/api/v1/machines/${mac}`)).json.state;
}

async function dashboard(t: Test) {
  const a = await makeApp(t);
  const { api, get, core, clock, store } = a;
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(a.app.server.address() as { port: number }).port}`;

  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: W1.mac,
        hostname: 'worker-1',
        role: 'worker',
        cluster: 'prod',
        ip: W1.ip,
      })
    ).status,
    201,
  );
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: CP1.mac,
        hostname: 'cp-1',
        role: 'controlplane',
        cluster: 'prod',
        ip: CP1.ip,
      })
    ).status,
    201,
  );
  // cp-1 fetches its script, then goes silent past the deadline: the stall detector marks it.
  await get('/boot.ipxe', CP1.ip);
  clock.advance(11 * 60_000);
  t.equal((await core.stall.check()).length, 1, 'cp-1 stalled');
  // An unknown machine boots; its serial (sent by iPXE, so attacker-influenced) carries markup.
  const serial = encodeURIComponent('<b id="injected">SN-1</b>');
  t.equal(
    (
      await get(
        `/ipxe?mac=${NEW.mac}&uuid=4c4c4544-0042-3510-8057-b4c04f4d4e31&serial=${serial}&arch=x86_64&platform=efi`,
        NEW.ip,
      )
    ).headers['x-metalboot-script'],
    'discovery',
  );

  const { ctx, page, errors } = await launch(t, join(a.dir, 'browser-profile'));
  await page.goto(`${base}/ui`);
  await page.locator('#login').waitFor({ state: 'visible' });

  await page.fill('#token', 'wrong-token');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => /refused/.test(document.getElementById('login-error')?.textContent ?? ''));
  t.pass('a wrong token is refused on the login form');

  const requested: string[] = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.fill('#token', TOKEN);
  await page.click('#login button[type=submit]');
  await waitForState(page, W1.mac, 'registered');
  await waitForState(page, CP1.mac, 'stalled');
  // The list carries each machine's newest event: no request per machine to show it.
  const cp1Last = (await api('GET', '/api/v1/machines')).json.items.find(
    (m: { mac: string }) => m.mac === CP1.mac,
  ).lastEvent;
  await page.waitForFunction(
    ([m, kind]) =>
      document.querySelector(`#machine-rows tr[data-mac="${m}"] td:nth-child(7)`)?.textContent?.startsWith(`${kind} `),
    [CP1.mac, cp1Last.kind] as const,
    { timeout: 10_000 },
  );
  t.notOk(
    requested.some((p) => p.endsWith('/progress')),
    'last events from the list, no /progress per machine',
  );
  t.ok(await page.locator(`#machine-rows tr[data-mac="${CP1.mac}"].stalled`).count(), 'stalled machine highlighted');
  await page.waitForFunction(() => document.getElementById('stream')?.getAttribute('data-status') === 'live');
  t.equal(await page.evaluate(() => sessionStorage.getItem('metalboot.token')), TOKEN, 'token kept for the tab');

  // worker-1 boots: DHCP → TFTP → iPXE script → kernel → config, each seen live.
  // Some events are recorded after the response (asset transfers, in onResponse), so each step
  // names the state it leads to and waits for the page to show it.
  const step = async (what: string, state: string, act: () => Promise<unknown>) => {
    await act();
    await waitForState(page, W1.mac, state);
    t.equal(await apiState(a, W1.mac), state, `${what}: dashboard shows ${state}`);
  };
  await step('DHCP', 'dhcp', () =>
    core.network.record({
      mac: W1.mac,
      messageType: 'DISCOVER',
      reply: 'OFFER',
      mode: 'proxy',
      arch: 'amd64',
      firmware: 'efi',
      vendorClass: 'PXEClient:Arch:00007',
      offeredIp: W1.ip,
    }),
  );
  await step('TFTP', 'pxe', async () => {
    timelineObserver(core.network).onTransferComplete?.({
      file: 'ipxe.efi',
      clientAddress: W1.ip,
      clientPort: 2070,
      bytes: 1_000_000,
      durationMs: 900,
    });
  });
  await step('boot script', 'pxe-booting', () => get('/boot.ipxe', W1.ip));
  let script = '';
  await step(
    'machine script',
    'pxe-booting',
    async () => (script = (await get(`/ipxe?mac=${W1.mac}&arch=x86_64&platform=efi`, W1.ip)).body),
  );
  await step('kernel', 'kernel-loaded', () => get('/assets/talos/v1.13.9/vmlinuz-amd64', W1.ip));
  await step('initramfs', 'kernel-loaded', () => get('/assets/talos/v1.13.9/initramfs-amd64.xz', W1.ip));
  await step('config', 'config-delivered', () => get(configUrlOf(script), W1.ip));
  await step('Talos install', 'installing', async () => {
    const m = await core.machines.get(W1.mac);
    await core.timeline.record(
      m,
      'talos-sequence',
      { sequence: 'install', action: 'START' },
      { sourceIp: W1.ip, state: 'installing' },
    );
  });

  // What a machine on the network controls (event details, kernel-log lines, Talos's condition
  // texts) reaches the page as text: cp-1 carries markup in all three.
  const line = (msg: string) => ({
    receivedAt: new Date().toISOString(),
    msg,
    facility: 'user',
    priority: 'info',
    seq: null,
    clock: null,
    level: null,
    talosTime: null,
  });
  // Sent three times: identical repeats are one timeline entry with a count.
  for (let i = 0; i < 3; i++)
    await core.timeline.record(CP1.mac, 'talos-event', { message: EVIL }, { sourceIp: CP1.ip });
  core.kernelLogs.append(CP1.mac, line(`[talos] hostname from DHCP: ${EVIL}`));
  await store.progress.put({
    ...(await core.progress.progressOf(CP1.mac)),
    unmetConditions: [{ name: 'network', reason: `waiting for ${EVIL}` }],
  });
  await page.click(`#machine-rows tr[data-mac="${CP1.mac}"]`);
  await page.locator('#detail').waitFor({ state: 'visible' });
  await page.waitForFunction(() => /hostname from DHCP: <img/.test(document.getElementById('kmsg')?.textContent ?? ''));
  await page.waitForFunction(() => /waiting for <img/.test(document.querySelector('ul.unmet')?.textContent ?? ''));
  t.match(await page.textContent('#timeline'), EVIL, 'event detail shown as text');
  t.match(
    await page.textContent('#timeline li[data-kind="talos-event"]'),
    /×3 until/,
    'the repeats counted on one entry',
  );
  t.match(await page.textContent('#detail-body'), 'Stalled in', 'why cp-1 is highlighted');

  // worker-1's pane: unmet conditions, timeline and kernel log as Talos reports them.
  await store.progress.put({
    ...(await core.progress.progressOf(W1.mac)),
    stage: 'INSTALLING',
    unmetConditions: [{ name: 'network', reason: 'waiting for addresses' }],
  });
  for (const msg of [
    '[talos] task installSequence (1/4): starting',
    '[talos] installing Talos v1.13.9 to /dev/sda',
    '[talos] task installSequence (2/4): writing partitions',
  ]) {
    core.kernelLogs.append(W1.mac, line(msg));
  }
  await page.click(`#machine-rows tr[data-mac="${W1.mac}"]`);
  await page.waitForFunction(() =>
    /installing Talos v1\.13\.9/.test(document.getElementById('kmsg')?.textContent ?? ''),
  );
  await page.waitForFunction(() => /waiting for addresses/.test(document.querySelector('ul.unmet')?.textContent ?? ''));
  t.match(await page.textContent('#timeline'), 'talos-sequence', 'timeline lists the events');
  t.match(await page.textContent('#timeline'), 'config-delivered');
  // The same event twice while the pane is open: one new entry (newest first) showing its count.
  const entries = await page.locator('#timeline li').count();
  for (let i = 0; i < 2; i++)
    await core.timeline.record(W1.mac, 'talos-event', { message: 'live repeat' }, { sourceIp: W1.ip });
  await page.waitForFunction(() =>
    /live repeat[\s\S]*×2 until|×2 until[\s\S]*live repeat/.test(
      document.querySelector('#timeline li:first-child')?.textContent ?? '',
    ),
  );
  t.equal(await page.locator('#timeline li').count(), entries + 1, 'one entry, counted twice');

  // Accept the discovered machine.
  await page.waitForFunction((mac) => !!document.querySelector(`#discovered-rows tr[data-mac="${mac}"]`), NEW.mac);
  t.match(
    await page.textContent(`#discovered-rows tr[data-mac="${NEW.mac}"]`),
    '<b id="injected">SN-1</b>',
    'serial shown as text',
  );
  await page.click(`#discovered-rows tr[data-mac="${NEW.mac}"] button[data-action=accept]`);
  await page.selectOption('#accept-cluster', 'prod');
  await page.selectOption('#accept-role', 'worker');
  await page.fill('#accept-hostname', 'worker-9');
  await page.click('#accept-form button[type=submit]');
  await waitForState(page, NEW.mac, 'registered');
  await page.locator('#discovered').waitFor({ state: 'hidden' });
  const accepted = (await api('GET', `/api/v1/machines/${NEW.mac}`)).json;
  t.match(
    accepted,
    {
      hostname: 'worker-9',
      role: 'worker',
      cluster: 'prod',
      state: 'registered',
      uuid: '4c4c4544-0042-3510-8057-b4c04f4d4e31',
    },
    'accepted through the API',
  );

  // Wake: with no power driver there is no Wake button; with Wake-on-LAN (on only), it is sent.
  await page.waitForFunction(() => /no power control/.test(document.getElementById('power-state')?.textContent ?? ''));
  t.ok(await page.locator('#action-wake').isHidden(), 'no Wake button without power control');
  core.power.setDriver({
    name: 'wol',
    supports: (c) => c === 'on',
    perform: async () => ({ driver: 'wol', detail: { sentTo: '10.9.0.255:9' } }),
  });
  // The pane reads what the driver can do when it opens.
  await page.evaluate(() => {
    location.hash = '';
  });
  await page.locator('#detail').waitFor({ state: 'hidden' });
  await page.click(`#machine-rows tr[data-mac="${W1.mac}"]`);
  await page.locator('#action-wake').waitFor({ state: 'visible' });
  t.equal(await page.locator('#power-menu button').count(), 0, 'Wake-on-LAN: nothing but Wake');
  await page.click('#action-wake');
  await page.waitForFunction(() => /Wake-on-LAN sent/.test(document.getElementById('toast')?.textContent ?? ''));
  await page.waitForFunction(() => /power-on-requested/.test(document.getElementById('timeline')?.textContent ?? ''));
  t.pass('wake sent and on the timeline');

  // Reimage worker-1 from its pane.
  await page.click('#action-reimage');
  await page.selectOption('#reimage-wipe', 'system');
  await page.click('#reimage-form button[type=submit]');
  await waitForState(page, W1.mac, 'reimage-requested');
  t.match(
    (await api('GET', `/api/v1/machines/${W1.mac}`)).json.reimage,
    { wipe: 'system' },
    'reimage requested through the API',
  );
  await page.locator('#action-cancel-reimage').waitFor({ state: 'visible' });

  t.equal(
    await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
    undefined,
    'no injected script ran',
  );
  t.equal(await page.locator('#injected, img[src="x"]').count(), 0, 'no injected element');
  t.same(errors, [], 'no script errors on the page');

  if (process.env.UPDATE_SCREENSHOT) {
    // A calmer picture for the README: worker-1 installing, not mid-reimage.
    await api('DELETE', `/api/v1/machines/${W1.mac}/reimage`);
    await waitForState(page, W1.mac, 'installing');
    await get('/ipxe?mac=de:ad:be:ef:00:02&arch=x86_64&platform=pcbios&serial=PowerEdge-R650', '10.9.0.71');
    await page.locator('#discovered').waitFor({ state: 'visible' });
    await page.evaluate(() => document.getElementById('toast')?.replaceChildren());
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'docs/dashboard.png') });
  }

  await page.click('#logout');
  await page.locator('#login').waitFor({ state: 'visible' });
  t.equal(await page.evaluate(() => sessionStorage.getItem('metalboot.token')), null, 'log out forgets the token');
  await ctx.close(); // before the server: a browser still reconnecting would hold it open
}

async function manyMachines(t: Test) {
  const a = await makeApp(t);
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(a.app.server.address() as { port: number }).port}`;
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  // 10,000 registered and 30,000 discovered, written straight to the store (one commit).
  const now = '2026-11-25T09:00:00.000Z';
  const mac = (n: number) =>
    `02:00:00:${[n >> 16, (n >> 8) & 0xff, n & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  for (let i = 0; i < 40_000; i++) {
    const registered = i % 4 === 0;
    await a.store.machines.insert({
      ...blankMachine(mac(i), now),
      state: registered ? 'registered' : 'discovered',
      hostname: registered ? `node-${i}` : null,
      cluster: registered ? 'prod' : null,
      role: registered ? 'worker' : null,
    });
  }
  await a.store.flushed();

  const { page, errors } = await launch(t, join(a.dir, 'browser-profile'));
  const limits: number[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/machines') limits.push(Number(u.searchParams.get('limit') ?? 'NaN'));
  });
  await page.goto(`${base}/ui`);
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', TOKEN);
  await page.click('#login button[type=submit]');
  const rows = (sel: string) => page.locator(`${sel} tr[data-mac]`).count();
  await page.waitForFunction(() => document.querySelectorAll('#machine-rows tr[data-mac]').length === 200, undefined, {
    timeout: 20_000,
  });
  await page.waitForFunction(
    () => document.querySelectorAll('#discovered-rows tr[data-mac]').length === 200,
    undefined,
    { timeout: 20_000 },
  );
  t.equal(await page.textContent('#machines-count'), '200+', 'the count says there is more');
  t.equal(await page.textContent('#discovered-count'), '200+');
  t.ok(await page.isVisible('#machines-more'), '"Show more" under the machines');

  await page.click('#machines-more');
  await page.waitForFunction(() => document.querySelectorAll('#machine-rows tr[data-mac]').length === 400, undefined, {
    timeout: 20_000,
  });
  t.equal(await rows('#discovered-rows'), 200, 'the discovered table keeps its page');
  await page.click('#discovered-more');
  await page.waitForFunction(
    () => document.querySelectorAll('#discovered-rows tr[data-mac]').length === 400,
    undefined,
    { timeout: 20_000 },
  );

  // The filter narrows what is shown without asking for more.
  await page.fill('#filter', 'node-400');
  await page.waitForFunction(() => document.querySelectorAll('#machine-rows tr[data-mac]').length < 400);
  t.ok(await page.locator('#machine-rows tr[data-mac="02:00:00:00:01:90"]').count(), 'node-400 is shown');

  t.ok(limits.length > 0, 'the dashboard read the machine list');
  t.ok(
    limits.every((n) => n >= 1 && n <= 1000),
    `every list request asks for one page of at most 1,000 (${[...new Set(limits)].join(', ')})`,
  );
  t.ok(Math.max(...limits) <= 400, 'never more than what is shown');
  t.same(errors, [], 'no script errors');
}
