/**
 * What the dashboard shows of config secrecy, in a real browser (chromium via playwright-core):
 * a red banner while --config-binding is first-request (none otherwise), and a config conflict —
 * a second source asking for a config already delivered — as a red entry on the timeline.
 */
import { CHROMIUM, CHROMIUM_ARGS, missingChromium } from '../helpers/browser.js';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import type { ConfigBinding } from '../../src/core/binding/config-binding.js';
import { TOKEN, clusterBody, configUrlOf, makeApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:77:01';

const missing = missingChromium;
if (missing && process.env.CI) t.fail(missing);

async function signedIn(t: Test, configBinding: ConfigBinding) {
  const a = await makeApp(t, { configBinding });
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(a.app.server.address() as { port: number }).port}`;
  // The profile lives outside the test's fixture dir: chromium may still be writing its cache while
  // tap removes that dir (ENOTEMPTY, then a browser never closed). Close first, then remove.
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
  await page.goto(`${base}/ui`);
  await page.fill('#token', TOKEN);
  await page.click('#login button[type=submit]');
  await page.locator('#lists').waitFor({ state: 'visible' });
  return { a, page };
}

t.test('first-request: a red banner says what it means', { skip: missing }, async (t) => {
  const { a, page } = await signedIn(t, 'first-request');
  await page.locator('#server-warnings').waitFor({ state: 'visible', timeout: 10_000 });
  t.match(
    await page.textContent('#server-warnings'),
    /--config-binding first-request: any host that knows a registered MAC can fetch that machine's config/,
  );
  t.equal(
    await page.$eval('#server-warnings', (el) => getComputedStyle(el).backgroundColor),
    'rgb(220, 38, 38)',
    'red',
  );

  // A conflict: the config went to one address, another asks for it.
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'cp-1', role: 'controlplane', cluster: 'prod' }))
      .status,
    201,
  );
  const url = configUrlOf((await a.get(`/ipxe?mac=${MAC}&arch=x86_64`, '10.9.0.40')).body);
  t.equal((await a.get(url, '10.9.0.40')).statusCode, 200);
  t.equal((await a.get(url, '10.9.0.66')).statusCode, 403);
  await page.goto(`${page.url().split('#')[0]}#machine=${encodeURIComponent(MAC)}`);
  const entry = page.locator('#timeline li[data-kind="config-conflict"]');
  await entry.waitFor({ state: 'visible', timeout: 10_000 });
  t.equal(await entry.getAttribute('class'), 'critical');
  // Read the colour once the page's styles apply to the new entry (polled, bounded: 5 s).
  let colour = '';
  for (let i = 0; i < 50 && colour !== 'rgb(220, 38, 38)'; i++) {
    colour = await entry.locator('.kind').evaluate((el) => getComputedStyle(el).color);
    if (colour !== 'rgb(220, 38, 38)') await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(colour, 'rgb(220, 38, 38)', 'shown red');
  t.equal(
    await page.locator('#timeline li[data-kind="config-delivered"]').getAttribute('class'),
    null,
    'other entries are not',
  );
});

t.test('a binding that ties requests to machines: no banner', { skip: missing }, async (t) => {
  const { a, page } = await signedIn(t, ['neighbour', 'dhcp']);
  const status = await a.api('GET', '/api/v1/server');
  t.same(status.json, { configBinding: 'neighbour,dhcp', store: 'sqlite', leader: true, warnings: [] });
  await page.locator('#server-warnings[data-checked]').waitFor({ state: 'attached', timeout: 10_000 });
  t.equal(await page.isVisible('#server-warnings'), false, 'the page asked, and there is nothing to warn about');
});
