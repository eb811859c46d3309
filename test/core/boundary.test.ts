// The core is the ground floor: nothing under src/core imports a module outside src/core (no
// adapter, no store implementation, no node: socket modules). Adapters implement the core's ports
// (core/ports/types.ts, core/network/dhcp-port.ts, core/power/power-driver.ts) and call its services.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const CORE = resolve(import.meta.dirname, '../../src/core');
// node:net is not listed: the core uses only its pure address check (isIP), never a socket.
const SOCKETS = new Set(['node:dgram', 'node:http', 'node:https', 'node:http2', 'node:tls']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

t.test('the specifier reader finds static, dynamic and side-effect imports', async (t) => {
  t.same(
    specifiers(
      `import a from './a.js';\nexport { b } from "../b.js";\nconst c = await import('./c.js');\nimport './d.js';`,
    ),
    ['./a.js', '../b.js', './c.js', './d.js'],
  );
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

// The store ports live in core/ports/, never a folder named store/: an import of `…/store/…` from
// the core reads like the adapter (src/store/) to anyone checking the boundary by path.
t.test('no core file imports a path through a folder named store/', async (t) => {
  const confusing = sources(CORE).flatMap((file) =>
    specifiers(readFileSync(file, 'utf8'))
      .filter((spec) => /(^|\/)store\//.test(spec))
      .map((spec) => `${relative(CORE, file)} → ${spec}`),
  );
  t.same(confusing, []);
});

// Adapters go through the core's services: none reads or writes the store through the core
// object (the store is the composition root's, server.ts, which hands it to createCore only).
const SRC = resolve(import.meta.dirname, '../../src');
const ADAPTERS = [
  'http',
  'dhcp',
  'tftp',
  'talos',
  'metrics',
  'cli',
  'power',
  'doctor',
  'assets',
  'net',
  'settings',
  'support',
];
const STORE_THROUGH_CORE = [
  /\bcore\??\.store\b/, // core.store, opts.core.store, this.core.store
  /\bCore\[\s*['"]store['"]\s*\]/, // Core['store']
  /\{[^}]*\bstore\b[^}]*\}\s*=\s*(?:[\w.]+\.)?core\b/, // const { store } = core
];

t.test('the store readers find core.store in its usual spellings', async (t) => {
  for (const line of [
    'await core.store.flushed();',
    'const s = this.core.store;',
    'const s = opts.core?.store;',
    "function f(s: Core['store']) {}",
    'const { store, timeline } = opts.core;',
  ]) {
    t.ok(
      STORE_THROUGH_CORE.some((re) => re.test(line)),
      line,
    );
  }
  for (const line of [
    'await core.flushed();',
    'const store = new SqliteStore(file);',
    'leases: store.leases,',
    'core.machines.page(filter, page)',
  ]) {
    t.notOk(
      STORE_THROUGH_CORE.some((re) => re.test(line)),
      line,
    );
  }
});

t.test('no adapter touches the store through the core', async (t) => {
  const found: string[] = [];
  let read = 0;
  for (const dir of ADAPTERS) {
    for (const file of sources(join(SRC, dir))) {
      read++;
      for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
        if (STORE_THROUGH_CORE.some((re) => re.test(line)))
          found.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      }
    }
  }
  t.ok(read > 50, `read ${read} adapter files`);
  t.same(
    found,
    [],
    'adapters use core services (core.flushed(), core.history, core.machines.page, …), never core.store',
  );
});

t.test('the core createCore returns has no store on it', async (t) => {
  const { createCore } = await import('../../src/core/index.js');
  const store = {} as Parameters<typeof createCore>[0]['store'];
  const core = createCore({
    store,
    templates: {} as never,
    assetsDir: '/nonexistent',
    advertiseUrl: 'http://10.0.0.1:8080',
    configTokenTtlMs: 1000,
    discoveryRetrySeconds: 5,
  });
  t.notOk('store' in core, 'store is not part of the services adapters get');
  t.type(core.flushed, 'function');
});

// Inside the core, the rooms form layers: each imports only the rooms before it (and the root's
// types.ts and errors.ts); index.ts (createCore) wires them all and nothing imports it.
const ROOMS = ['ports', 'timeline', 'config', 'registry', 'binding', 'boot', 'network', 'power', 'progress', 'fleet'];

t.test('core rooms import only the rooms below them', async (t) => {
  const wrong: string[] = [];
  const roomOf = (file: string) => {
    const parts = relative(CORE, file).split('/');
    return parts.length > 1 ? parts[0]! : null; // null: a root file
  };
  for (const file of sources(CORE)) {
    const from = roomOf(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const to = roomOf(target);
      const name = `${relative(CORE, file)} → ${relative(CORE, target)}`;
      if (to === null) {
        if (from !== null && !/^(types|errors)\.ts$/.test(relative(CORE, target)))
          wrong.push(`${name} (only index.ts wires the rooms)`);
        continue;
      }
      if (from === null || from === to) continue;
      if (!ROOMS.includes(from) || !ROOMS.includes(to))
        wrong.push(`${name} (a room not in the list: add it to ROOMS and its README)`);
      else if (ROOMS.indexOf(to) > ROOMS.indexOf(from)) wrong.push(`${name} (${from} may not import ${to})`);
    }
  }
  t.same(wrong, [], `layers, lowest first: ${ROOMS.join(' → ')}`);
});
