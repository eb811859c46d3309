/**
 * Where /ui/app.js comes from: from the sources it is bundled on import, from a build it is the
 * file `npm run build` wrote beside the built module. Both must be the same script.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { CLIENT_BUNDLE, bundleClient, loadClientScript } from '../../src/http/ui/bundle.js';
import { APP_JS } from '../../src/http/ui/index.js';
import { ROOT } from '../helpers/core-app.js';

t.test('from the sources, the client is bundled in memory: one strict IIFE', async (t) => {
  t.ok(APP_JS.startsWith('"use strict";\n(() => {'), 'strict, one function scope');
  t.match(APP_JS, '// src/http/ui/client/main.ts', 'built from client/main.ts');
  t.notMatch(APP_JS, /^(import|export) /m, 'no module syntax left');
  t.equal(bundleClient(join(ROOT, 'src/http/ui')), APP_JS, 'the same bytes on every bundle');
});

t.test('from a build, the script is the file next to the module', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'metalboot-ui-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const moduleUrl = pathToFileURL(join(dir, 'index.js')).href;
  t.throws(() => loadClientScript(moduleUrl), /client\.js is missing: `npm run build` writes it/);
  writeFileSync(join(dir, CLIENT_BUNDLE), 'built();');
  t.equal(loadClientScript(moduleUrl), 'built();');
});

// npm test builds before tap runs; a developer who runs this file alone without a build is told.
const built = join(ROOT, 'dist/http/ui', CLIENT_BUNDLE);
const unbuilt = existsSync(built) ? false : `${built} is missing: npm run build`;
if (unbuilt && process.env.CI) t.fail(unbuilt);
t.test('npm run build wrote the same script the sources bundle to', { skip: unbuilt }, async (t) => {
  const fromDist = loadClientScript(pathToFileURL(join(ROOT, 'dist/http/ui/index.js')).href);
  t.equal(fromDist, APP_JS, 'dist/http/ui/client.js is current (if not: npm run build)');
});
