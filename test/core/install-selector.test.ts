import t from 'tap';
import { readFileSync } from 'node:fs';
import { installSelectorHint } from '../../src/core/config/install-selector.js';

// talosctl's v1.14 output (test/fixtures/talos/examples/v1.14): the overrides select /dev/vda.
const example = (file: string) =>
  readFileSync(new URL(`../fixtures/talos/examples/v1.14/${file}`, import.meta.url), 'utf8');
const v14 = {
  talosVersion: 'v1.14.0',
  controlplane: example('controlplane-overrides.yaml'),
  worker: example('worker-overrides.yaml'),
};
const machine = (
  over: Partial<{
    installDisk: string | null;
    installDiskSelector: Record<string, unknown> | null;
    role: 'worker' | 'controlplane' | null;
  }> = {},
) => ({
  installDisk: null,
  installDiskSelector: null,
  role: 'worker' as const,
  ...over,
});

t.test('v1.14: the hint names the selector the machine’s config carries', async (t) => {
  t.match(
    installSelectorHint(machine({ installDisk: '/dev/nvme0n1' }), v14),
    'check disk.dev_path == "/dev/nvme0n1" (the machine\'s installDisk)',
  );
  t.match(
    installSelectorHint(machine({ installDiskSelector: { match: 'disk.size >= 100u * GB' } }), v14),
    "check disk.size >= 100u * GB (the machine's installDiskSelector)",
  );
  t.match(
    installSelectorHint(machine({ installDiskSelector: { size: '>= 100GB' } }), v14),
    'the machine\'s installDiskSelector {"size":">= 100GB"}',
  );
  t.match(installSelectorHint(machine(), v14), 'check disk.dev_path == "/dev/vda" (the cluster\'s worker config)');
  t.match(installSelectorHint(machine({ role: 'controlplane' }), v14), "(the cluster's controlplane config)");
  t.match(
    installSelectorHint(machine(), v14),
    'Talos v1.14.0 logs nothing while its install disk selector matches no disk',
  );
});

t.test(
  'v1.14 without an UnattendedInstallConfig: nothing installs; a config that does not parse names nothing',
  async (t) => {
    const bare = { ...v14, worker: 'version: v1alpha1\nmachine:\n  type: worker\n' };
    t.match(installSelectorHint(machine(), bare), "this machine's config has none");
    const noMatch = { ...v14, worker: 'apiVersion: v1alpha1\nkind: UnattendedInstallConfig\nprovisioning: {}\n' };
    t.match(installSelectorHint(machine(), noMatch), "this machine's config has none");
    t.match(installSelectorHint(machine(), { ...v14, worker: ': : :\n' }), "this machine's config has none");
  },
);

t.test(
  'no hint for v1.13 (its install sequence reports a selector that matches nothing) or a version that does not parse',
  async (t) => {
    t.equal(installSelectorHint(machine({ installDisk: '/dev/sda' }), { ...v14, talosVersion: 'v1.13.9' }), null);
    t.equal(installSelectorHint(machine({ installDisk: '/dev/sda' }), { ...v14, talosVersion: 'latest' }), null);
  },
);
