// The core is the ground floor: nothing under src/core imports a module outside src/core (no
// adapter, no store implementation, no node: socket modules). Adapters implement the core's ports
// (core/store/types.ts, core/network/dhcp-port.ts, core/power/power-driver.ts) and call its services.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const CORE = resolve(import.meta.dirname, '../../src/core');
// node:net is not listed: the core uses only its pure address check (isIP), never a socket.
const SOCKETS = new Set(['node:dgram', 'node:http', 'node:https', 'node:http2', 'node:tls']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

t.test('the specifier reader finds static, dynamic and side-effect imports', async (t) => {
  t.same(specifiers(`import a from './a.js';\nexport { b } from "../b.js";\nconst c = await import('./c.js');\nimport './d.js';`), ['./a.js', '../b.js', './c.js', './d.js']);
});

t.test('nothing under src/core imports outside src/core', async (t) => {
  const files = sources(CORE);
  t.ok(files.length > 30, `read ${files.length} core files`);
  const outside: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const name = relative(CORE, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (relative(CORE, target).startsWith('..')) outside.push(`${name} → ${spec}`);
      } else if (SOCKETS.has(spec)) {
        outside.push(`${name} → ${spec} (sockets belong to adapters)`);
      }
    }
  }
  t.same(outside, [], 'no core file reaches outside the core');
});
