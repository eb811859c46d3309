import t from 'tap';
import { classifyInstallControllerLine, splitZapLine } from '../../src/core/progress/install-controller-log.js';
import { classifyKernelLine, type KernelLogSignal } from '../../src/core/progress/kernel-log.js';
import { interpretInstallLine, type InstallLogSignal } from '../../src/core/progress/interpret-install-lines.js';
import { installProgressFor } from '../../src/core/config/talos-contract.js';
import type { KernelLogLine, MachineState } from '../../src/core/types.js';

// Talos v1.14's install controller on the kernel log, in the shape machined writes it there (zap's
// console encoder without time and level, fields as JSON, the `[talos]` prefix; facility user,
// priority warning as /dev/kmsg gives lines written without one) and in the order it writes them.
const FIELDS = '"component": "controller-runtime", "controller": "runtime.UnattendedInstallController"';
const IMAGE =
  'factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.14.0';
const V14 = {
  multiple: `[talos] multiple disks matched the install selector, using the first one {${FIELDS}, "matched": 2, "disk": "/dev/vda"}`,
  noImage: `[talos] installer image not specified in config, using image from boot entry {${FIELDS}, "image": "${IMAGE}"}`,
  installing: `[talos] installing Talos {${FIELDS}, "disk": "/dev/vda", "image": "${IMAGE}"}`,
  successful: `[talos] install successful {${FIELDS}}`,
  reboot: `[talos] requesting reboot after successful install {${FIELDS}}`,
  noReboot: `[talos] not rebooting after successful install (reboot disabled) {${FIELDS}}`,
  failed: `[talos] controller failed {${FIELDS}, "error": "failed to run installer: task \\"upgrade\\" failed: exit code 1"}`,
};
const line = (msg: string): KernelLogLine => ({
  receivedAt: '',
  msg,
  facility: 'user',
  priority: 'warning',
  seq: 1,
  clock: 1,
  level: 'warn',
  talosTime: null,
});
const classify = (msg: string) => classifyKernelLine(line(msg)) as KernelLogSignal;
const m = (state: MachineState, installed = false, reimage: { wipeBootedAt?: string | null } | null = null) => ({
  state,
  installed,
  reimage: reimage ? { wipe: 'system' as const, requestedAt: '', ...reimage } : null,
});

t.test("zap's console line: message and trailing JSON fields", async (t) => {
  t.same(splitZapLine('installing Talos {"disk": "/dev/sda", "n": 2}'), {
    message: 'installing Talos',
    fields: { disk: '/dev/sda', n: 2 },
  });
  t.same(splitZapLine('task install (1/1): done, 2s'), { message: 'task install (1/1): done, 2s', fields: {} });
  t.same(
    splitZapLine('odd {"a": text {"b": 1}'),
    { message: 'odd {"a": text', fields: { b: 1 } },
    'the first start that parses',
  );
  t.same(splitZapLine('not an object {"x" ["a"]'), { message: 'not an object {"x" ["a"]', fields: {} });
  t.same(splitZapLine('array {"a": 1} tail'), { message: 'array {"a": 1} tail', fields: {} }, 'fields come last');
});

t.test('the install controller’s lines, as Talos v1.14 writes them', async (t) => {
  t.same(classify(V14.installing), {
    kind: 'install-started',
    message: 'installing Talos',
    disk: '/dev/vda',
    image: IMAGE,
  });
  t.same(classify(V14.successful), { kind: 'install-succeeded', message: 'install successful' });
  t.same(classify(V14.reboot), {
    kind: 'install-reboot-requested',
    message: 'requesting reboot after successful install',
  });
  t.same(classify(V14.noReboot), {
    kind: 'install-no-reboot',
    message: 'not rebooting after successful install (reboot disabled)',
  });
  t.same(classify(V14.multiple), {
    kind: 'install-warning',
    message: 'multiple disks matched the install selector, using the first one',
    detail: { matched: 2, disk: '/dev/vda' },
  });
  t.same(classify(V14.noImage), {
    kind: 'install-warning',
    message: 'installer image not specified in config, using image from boot entry',
    detail: { image: IMAGE },
  });
  t.same(classify(V14.failed), {
    kind: 'install-failed',
    message: 'controller failed',
    error: 'failed to run installer: task "upgrade" failed: exit code 1',
  });
  // Another controller's failure, or the same words without the controller's name, are not the install.
  t.equal(
    classify(
      '[talos] controller failed {"component": "controller-runtime", "controller": "network.LinkSpecController", "error": "x"}',
    ),
    null,
  );
  t.equal(classifyInstallControllerLine({ message: 'installing Talos', fields: {} }), null);
  t.equal(
    classifyInstallControllerLine({
      message: 'something new',
      fields: { controller: 'runtime.UnattendedInstallController' },
    }),
    null,
  );
  t.same(
    classifyInstallControllerLine({
      message: 'controller failed',
      fields: { controller: 'runtime.UnattendedInstallController' },
    }),
    { kind: 'install-failed', message: 'controller failed', error: 'no error text' },
  );
  // v1.13's lines still read as before; fields never make a line a success.
  t.same(classify('[talos] installation of v1.13.9 complete'), {
    kind: 'install-succeeded',
    message: 'installation of v1.13.9 complete',
  });
  t.equal(classify('[talos] mounted {"note": "install successful"}'), null);
});

t.test('v1.14 install lines move the machine: installing → installed; a retry; the failure', async (t) => {
  const sig = (msg: string) => classify(msg) as InstallLogSignal;
  const started = interpretInstallLine(m('config-delivered'), sig(V14.installing))!;
  t.equal(started.state, 'installing');
  t.equal(started.kind, 'install-started');
  t.match(started.detail, { disk: '/dev/vda', image: IMAGE, source: 'kernel-log' });
  const done = interpretInstallLine(m('installing'), sig(V14.successful))!;
  t.equal(done.state, 'installed');
  t.equal(done.installed, true);
  t.equal(done.kind, 'install-succeeded');
  // After the success the machine is installed: the reboot request is on the timeline only.
  const reboot = interpretInstallLine(m('installed', true), sig(V14.reboot))!;
  t.equal(reboot.state, null);
  t.equal(reboot.kind, 'install-reboot-requested');
  t.equal(
    interpretInstallLine(m('installed', true), sig(V14.successful)),
    null,
    'a repeat of the success means nothing',
  );
  // The success line lost: the reboot request still says the install succeeded.
  t.equal(interpretInstallLine(m('installing'), sig(V14.reboot))!.state, 'installed');

  const warn = interpretInstallLine(m('config-delivered'), sig(V14.multiple))!;
  t.equal(warn.kind, 'install-warning');
  t.equal(warn.state, null);
  t.match(warn.detail, { matched: 2, disk: '/dev/vda' });
  const noReboot = interpretInstallLine(m('installed', true), sig(V14.noReboot))!;
  t.equal(noReboot.kind, 'install-no-reboot');
  t.match(noReboot.detail.hint, /reboot: true/);

  t.equal(
    interpretInstallLine(m('installing'), sig(V14.installing))!.kind,
    'install-retried',
    'Talos retries after a failed attempt',
  );
  t.equal(interpretInstallLine(m('installing'), sig(V14.installing))!.state, null);
  const failed = interpretInstallLine(m('installing'), sig(V14.failed))!;
  t.equal(failed.state, 'failed');
  t.equal(failed.failure, 'install failed: failed to run installer: task "upgrade" failed: exit code 1');
  t.equal(interpretInstallLine(m('failed'), sig(V14.failed))!.state, null, 'already failed: the timeline only');
  t.equal(interpretInstallLine(m('failed'), sig(V14.installing))!.state, null, 'a retry does not hide the failure');
  t.equal(interpretInstallLine(m('failed'), sig(V14.successful))!.state, 'installed', 'a retry that succeeds is news');
});

t.test(
  'not the install: the wipe boot of a reimage, the old installation before it, an installed machine',
  async (t) => {
    const sig = (msg: string) => classify(msg) as InstallLogSignal;
    const pending = m('reimage-requested', true, { wipeBootedAt: null });
    t.equal(interpretInstallLine(pending, sig(V14.successful)), null);
    t.equal(interpretInstallLine(m('wiping', true, { wipeBootedAt: '' }), sig(V14.installing))!.state, null);
    t.equal(interpretInstallLine(m('joined', true), sig(V14.failed))!.state, null);
    t.equal(interpretInstallLine(m('joined', true), sig(V14.installing))!.state, null);
    t.equal(
      interpretInstallLine(m('config-delivered', true, { wipeBootedAt: '2026-12-07T10:00:00Z' }), sig(V14.installing))!
        .state,
      'installing',
      'the boot after the wipe installs',
    );
  },
);

t.test('which signals report the install, per Talos version (talos-contract.ts)', async (t) => {
  t.equal(installProgressFor('v1.13.9'), 'install-sequence');
  t.equal(installProgressFor('v1.14.0'), 'install-controller-log');
  t.equal(installProgressFor('v1.15.0'), 'install-controller-log', 'newer than known: the newest contract');
  t.equal(installProgressFor(undefined), 'install-sequence', 'no cluster');
  t.equal(installProgressFor('latest'), 'install-sequence', 'not a version');
});
