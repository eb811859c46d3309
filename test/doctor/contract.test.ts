/**
 * doctor names the Talos version contract each cluster's configs are rendered with; for a version
 * newer than every contract it warns that the newest is used, with that version's own schema.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

import type { Cluster } from '../../src/core/types.js';
import { assetChecks } from '../../src/doctor/asset-checks.js';
import { resolveDoctorSettings } from '../../src/doctor/settings.js';

const NOW = '2026-12-07T10:00:00.000Z';
const cluster = (name: string, talosVersion: string): Cluster => ({
  name,
  talosVersion,
  arch: 'amd64',
  endpoint: null,
  controlplane: '',
  worker: '',
  patches: [],
  kernelArgs: [],
  schematic: null,
  createdAt: NOW,
  updatedAt: NOW,
});

t.test('doctor says which contract renders each cluster, and when it is a guess', async (t) => {
  const dir = t.testdir({});
  const assetsDir = join(dir, 'assets');
  mkdirSync(join(assetsDir, 'talos', 'v1.15.0'), { recursive: true });
  writeFileSync(join(assetsDir, 'talos', 'v1.15.0', 'config.schema.json'), '{}');
  const { settings } = resolveDoctorSettings({
    listen: ':9000',
    dhcp: 'off',
    dataDir: dir,
    assetsDir,
    templatesDir: dir,
    discoveryRetry: '30',
    tftpListen: 'off',
  });
  const checks = await assetChecks(
    settings,
    [cluster('old', 'v1.13.9'), cluster('new', 'v1.14.1'), cluster('next', 'v1.15.0'), cluster('far', 'v1.16.0')],
    [],
    undefined,
  );
  const about = (name: string) => checks.filter((c) => c.message.startsWith(`${name}: `) && /contract/.test(c.message));

  t.match(about('old'), [
    {
      status: 'info',
      message:
        /^old: Talos v1\.13\.9 speaks the v1\.11 contract: install disk, selector, wipe and image in \.machine\.install/,
    },
  ]);
  t.match(about('new'), [
    { status: 'info', message: /^new: Talos v1\.14\.1 speaks the v1\.14 contract: .*UnattendedInstallConfig/ },
  ]);
  t.match(about('next'), [
    {
      status: 'warn',
      message:
        /^next: Talos v1\.15\.0 is newer than every contract metalboot knows: configs are rendered with the newest, v1\.14 \(.*\), and validated with v1\.15\.0's own schema, corrected against the bundled v1\.14 one$/,
      hint: /--show-config/,
    },
  ]);
  t.match(
    checks.find((c) => c.message.startsWith('next: config schema')),
    { status: 'ok' },
    'its own schema is there',
  );
  t.match(
    checks.find((c) => c.message.startsWith('far: no config schema')),
    { status: 'fail', message: /cannot be validated, so none are served/ },
    'no own schema: nothing is served',
  );
  t.match(
    checks.find((c) => c.message.startsWith('new: no config schema')),
    { status: 'warn', message: /validated against the bundled v1\.14 schema/ },
  );
});

t.test("doctor says the base configs' warnings once per cluster (talosctl's persist: true)", async (t) => {
  const dir = t.testdir({});
  const { settings } = resolveDoctorSettings({
    listen: ':9000',
    dhcp: 'off',
    dataDir: dir,
    assetsDir: join(dir, 'assets'),
    templatesDir: dir,
    discoveryRetry: '30',
    tftpListen: 'off',
  });
  const fixture = (f: string) => readFileSync(join(import.meta.dirname, '../fixtures/talos/examples/v1.13', f), 'utf8');
  const prod = {
    ...cluster('prod', 'v1.13.9'),
    controlplane: fixture('controlplane.yaml'),
    worker: fixture('worker.yaml'),
  };
  const checks = await assetChecks(settings, [prod, cluster('empty', 'v1.13.9')], [], undefined);
  const persist = checks.filter((c) => /persist: deprecated/.test(c.message));
  t.match(persist, [
    {
      status: 'warn',
      message:
        /^prod: every machine's config warns \(from the controlplane and worker base configs\): persist: deprecated/,
      hint: /metalboot cluster edit prod --from <dir>/,
    },
  ]);
  t.equal(persist.length, 1, 'one line for the cluster, both roles in it');
});
