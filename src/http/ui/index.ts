import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadClientScript } from './bundle.js';
import { STYLE } from './style.js';

export { escapeHtml, renderPage } from './page.js';

/**
 * The whole script (client/*.ts bundled by esbuild into one function scope: no globals leak into
 * the page, one request to load). From dist/ it is the file `npm run build` wrote; from the sources
 * it is bundled on import. bundle.ts says why.
 */
export const APP_JS = loadClientScript(import.meta.url);
export const APP_CSS = STYLE;

/** Changes whenever the script or stylesheet does: cache-busts `?v=` and serves as the ETag. */
export const ASSET_VERSION = createHash('sha256').update(APP_JS).update(APP_CSS).digest('hex').slice(0, 16);

/**
 * metalboot's version from package.json, resolved relative to this file: src/http/ui/ and
 * dist/http/ui/ are both three levels below the package root, so one path serves both.
 */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
