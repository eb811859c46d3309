import { Script } from 'node:vm';
import t from 'tap';
import { UI_CSP } from '../../src/http/routes/ui.js';
import { APP_JS, ASSET_VERSION, escapeHtml, renderPage } from '../../src/http/ui/index.js';
import { makeApp } from '../helpers/core-app.js';

t.test('the page, script and stylesheet are served without a token, hardened', async (t) => {
  const { app } = await makeApp(t);
  const page = await app.inject({ url: '/ui' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], 'text/html');
  t.equal(page.headers['content-security-policy'], UI_CSP);
  t.match(UI_CSP, "script-src 'self'");
  t.notMatch(UI_CSP, 'unsafe', 'no inline script or eval');
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['cache-control'], 'no-store');
  t.match(page.body, `/ui/app.js?v=${ASSET_VERSION}`);
  t.notMatch(page.body, /<script>/, 'no inline script (the CSP would block it)');
  t.notMatch(page.body, / style="/, 'no inline style (the CSP would block it)');

  const js = await app.inject({ url: '/ui/app.js' });
  t.equal(js.statusCode, 200);
  t.match(js.headers['content-type'], 'text/javascript');
  t.equal(js.headers.etag, `"${ASSET_VERSION}"`);
  t.equal(
    (await app.inject({ url: '/ui/app.js', headers: { 'if-none-match': `"${ASSET_VERSION}"` } })).statusCode,
    304,
  );
  const css = await app.inject({ url: '/ui/app.css' });
  t.match(css.headers['content-type'], 'text/css');

  t.equal((await app.inject({ url: '/' })).headers.location, '/ui');
  t.equal((await app.inject({ url: '/ui/' })).headers.location, '/ui');
});

t.test('the script parses and renders only through text nodes', async (t) => {
  t.doesNotThrow(() => new Script(APP_JS, { filename: 'app.js' }), 'valid JavaScript');
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) {
    t.notOk(APP_JS.includes(sink), `no ${sink}`);
  }
  t.notMatch(APP_JS, /\?token=/, 'the token never goes into a URL');
});

t.test('escapeHtml', async (t) => {
  t.equal(
    escapeHtml(`<img src=x onerror="a('b')">&\``),
    '&#60;img src=x onerror=&#34;a(&#39;b&#39;)&#34;&#62;&#38;&#96;',
  );
  t.equal(escapeHtml(42), '42');
  t.match(renderPage({ version: '<b>1</b>', assetVersion: 'a b' }), '&#60;b&#62;1&#60;/b&#62;');
  t.match(renderPage({ version: '1', assetVersion: 'a b' }), 'app.js?v=a%20b');
});
