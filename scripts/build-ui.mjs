// `npm run build`, after tsc: bundle the dashboard's browser code (src/http/ui/client) into
// dist/http/ui/client.js, which the built server serves as /ui/app.js. The esbuild options live in
// src/http/ui/bundle.ts (imported here from its tsc output), so the tests, which bundle from the
// sources in memory, serve the very same script.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { CLIENT_BUNDLE, bundleClient } = await import(pathToFileURL(join(root, 'dist/http/ui/bundle.js')).href);
writeFileSync(join(root, 'dist/http/ui', CLIENT_BUNDLE), bundleClient(join(root, 'src/http/ui')));
