/**
 * The dashboard script: src/http/ui/client/*.ts, bundled by esbuild into one file.
 *
 * Two ways to the same bytes, both through `bundleClient` so the options live only here:
 * - `npm run build` (tsc, then scripts/build-ui.mjs, which imports this module from dist/) writes
 *   dist/http/ui/client.js; the built server reads it next to its own index.js. esbuild is a
 *   devDependency, so a production install has no bundler and needs none.
 * - Running from the TypeScript sources (tap's TS loader, the bench), this module's URL ends in
 *   `.ts`: the script is bundled in memory on first import (buildSync, tens of milliseconds, once
 *   per process). Tests therefore always serve the current client sources, never a stale dist/.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundle's file name, next to the built index.js. */
export const CLIENT_BUNDLE = 'client.js';

/**
 * Bundle the client sources below `uiSrcDir` (the src/http/ui folder) and return the script.
 * Throws with esbuild's messages when the sources do not compile.
 */
export function bundleClient(uiSrcDir: string): string {
  // Loaded here, not at the top: the built server never bundles and must not need esbuild.
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const root = join(uiSrcDir, '..', '..', '..');
  const result = esbuild.buildSync({
    entryPoints: [join(uiSrcDir, 'client', 'main.ts')],
    // The `// src/http/ui/client/…` comments in the output are relative to this: same bytes from any cwd.
    absWorkingDir: root,
    tsconfig: join(root, 'tsconfig.client.json'),
    bundle: true,
    // One function scope, run at once: nothing leaks into the page's globals.
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('esbuild produced no output for the dashboard script');
  return out.text;
}

/**
 * The dashboard script for the module at `moduleUrl` (src/http/ui/index.ts or its built
 * dist/http/ui/index.js): bundled now from the sources, or read from the build's output.
 */
export function loadClientScript(moduleUrl: string): string {
  const dir = dirname(fileURLToPath(moduleUrl));
  if (moduleUrl.endsWith('.ts')) return bundleClient(dir);
  const file = join(dir, CLIENT_BUNDLE);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`the dashboard script ${file} is missing: \`npm run build\` writes it (scripts/build-ui.mjs)`, {
      cause: err,
    });
  }
}
