/**
 * ConfigRenderer.schemaFor picks up `metalboot assets pull talos` without a restart: a version's
 * schema files are looked at again at most every schemaRecheckMs, and rendered results made with
 * the old schema (or without one) are not served from the cache afterwards.
 */
import t from 'tap';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blankMachine } from '../../src/core/registry/machines.js';
import { ConfigRenderer } from '../../src/core/config/render.js';
import type { Cluster, Machine } from '../../src/core/types.js';
import { ROOT, fixture } from '../helpers/core-app.js';

const NOW = '2026-11-25T10:00:00.000Z';
const VERSION = 'v1.99.0'; // nothing bundled for it: only the assets directory counts
const SCHEMA = readFileSync(join(ROOT, 'test/fixtures/talos/config.schema.v1.13.json'), 'utf8');

t.test('a schema pulled, replaced, broken or removed while running', async (t) => {
  const assetsDir = t.testdir({});
  const file = join(assetsDir, 'talos', VERSION, 'config.schema.json');
  let now = 1_000_000;
  const renderer = new ConfigRenderer(assetsDir, { schemaRecheckMs: 3000, now: () => now });
  const cluster: Cluster = {
    name: 'prod',
    talosVersion: VERSION,
    arch: 'amd64',
    endpoint: null,
    controlplane: fixture('talos/examples/v1.13/controlplane.yaml'),
    worker: fixture('talos/examples/v1.13/worker.yaml'),
    patches: [],
    kernelArgs: [],
    schematic: null,
    createdAt: NOW,
    updatedAt: NOW,
  };
  const machine: Machine = {
    ...blankMachine('52:54:00:00:00:01', NOW),
    role: 'worker',
    cluster: 'prod',
    hostname: 'w1',
  };

  t.equal(renderer.schemaFor(VERSION), null);
  t.match(await renderer.render(cluster, machine), { ok: false, errors: [/no config schema for Talos v1\.99\.0/] });

  mkdirSync(join(assetsDir, 'talos', VERSION), { recursive: true });
  writeFileSync(file, SCHEMA);
  now += 2999;
  t.equal(renderer.schemaFor(VERSION), null, 'not looked at again within the interval');
  t.match(await renderer.render(cluster, machine), { ok: false }, 'the cached result, within the interval');
  now += 1;
  const pulled = renderer.schemaFor(VERSION);
  t.ok(pulled, 'the pulled schema, without a restart');
  t.match(
    await renderer.render(cluster, machine),
    { ok: true },
    'the result rendered without a schema is not served from the cache',
  );

  now += 3000;
  t.equal(renderer.schemaFor(VERSION), pulled, 'unchanged file: the same schema');
  writeFileSync(file, `${SCHEMA}\n`);
  now += 3000;
  const replaced = renderer.schemaFor(VERSION);
  t.ok(replaced && replaced !== pulled, 'a rewritten file is loaded afresh');
  t.match(await renderer.render(cluster, machine), { ok: true }, 'renders with the new schema');

  writeFileSync(file, '{half a download');
  now += 3000;
  t.equal(renderer.schemaFor(VERSION), replaced, 'a broken file: keep serving the schema we had');
  t.match(await renderer.render(cluster, machine), { ok: true });

  rmSync(file);
  now += 3000;
  t.equal(renderer.schemaFor(VERSION), null, 'removed: no schema');
  t.match(await renderer.render(cluster, machine), { ok: false, errors: [/no config schema/] });
});

t.test('the first load of a broken schema still fails loudly', async (t) => {
  const assetsDir = t.testdir({ talos: { [VERSION]: { 'config.schema.json': '{nope' } } });
  const renderer = new ConfigRenderer(assetsDir, { schemaRecheckMs: 0 });
  t.throws(() => renderer.schemaFor(VERSION), /cannot load the Talos config schema/);
});
