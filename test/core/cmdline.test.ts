import t from 'tap';
import { buildCmdline, parseTalosVersion, talosMetalArgs } from '../../src/core/config/cmdline.js';

const has = (args: string[], a: string) => args.includes(a);

t.test('version-dependent metal args', async (t) => {
  const v113 = talosMetalArgs('v1.13.9', 'amd64');
  t.same(v113.slice(0, 2), ['talos.platform=metal', 'console=tty0']);
  for (const a of [
    'slab_nomerge',
    'pti=on',
    'consoleblank=0',
    'printk.devkmsg=on',
    'init_on_alloc=1',
    'nvme_core.io_timeout=4294967295',
    'selinux=1',
    'module.sig_enforce=1',
    'proc_mem.force_override=never',
  ]) {
    t.ok(has(v113, a), `v1.13 has ${a}`);
  }
  t.notOk(v113.some((a) => a.startsWith('ima_')));

  const v114 = talosMetalArgs('v1.14.0', 'amd64');
  t.notOk(has(v114, 'init_on_alloc=1'), 'v1.14 drops init_on_alloc');
  t.notOk(has(v114, 'nvme_core.io_timeout=4294967295'), 'v1.14 drops nvme timeout');
  t.ok(has(v114, 'proc_mem.force_override=never'));

  const v110 = talosMetalArgs('v1.10.6', 'amd64');
  t.ok(
    has(v110, 'ima_template=ima-ng') && has(v110, 'ima_appraise=fix') && has(v110, 'ima_hash=sha512'),
    'IMA up to v1.10',
  );
  t.ok(has(v110, 'selinux=1'), 'selinux from v1.10');
  t.notOk(has(v110, 'module.sig_enforce=1'));
  t.notOk(has(v110, 'proc_mem.force_override=never'));

  const v19 = talosMetalArgs('v1.9.5', 'amd64');
  t.notOk(has(v19, 'selinux=1'));
  const v111 = talosMetalArgs('v1.11.2', 'amd64');
  t.notOk(
    v111.some((a) => a.startsWith('ima_')),
    'no IMA from v1.11',
  );
  t.notOk(has(v111, 'module.sig_enforce=1'));
  t.ok(has(talosMetalArgs('v1.12.0', 'amd64'), 'module.sig_enforce=1'));

  t.same(talosMetalArgs('v1.13.0', 'arm64').slice(1, 3), ['console=ttyAMA0', 'console=tty0']);
});

t.test('cmdline order: defaults, cluster args, own args', async (t) => {
  const line = buildCmdline('v1.13.9', 'amd64', ['console=ttyS0'], ['talos.config=http://x/c']);
  t.match(line, /^talos\.platform=metal .* console=ttyS0 talos\.config=http:\/\/x\/c$/);
});

t.test('versions', async (t) => {
  t.same(parseTalosVersion('v1.13.9'), [1, 13, 9]);
  t.same(parseTalosVersion('v1.14.0-beta.1'), [1, 14, 0]);
  t.throws(() => parseTalosVersion('1.13.9'));
  t.throws(() => parseTalosVersion('v1.13'));
});
