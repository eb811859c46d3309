import t from 'tap';
import {
  forward,
  interpretTalosEvent,
  newTalosSession,
  waitingForBootstrap,
  type TalosEvent,
} from '../../src/core/progress/interpret-events.js';
import type { MachineState } from '../../src/core/types.js';

const m = (
  state: MachineState,
  installed = false,
  reimage: { wipeBootedAt?: string | null } | null = null,
  role: 'worker' | 'controlplane' = 'worker',
) => ({
  state,
  installed,
  role,
  reimage: reimage ? { wipe: 'system' as const, requestedAt: '', ...reimage } : null,
});
const seq = (sequence: string, action: string, error?: { code: string; message: string }): TalosEvent => ({
  type: 'sequence',
  sequence,
  action,
  error: error ?? null,
});
const phase = (p: string, action: string): TalosEvent => ({ type: 'phase', phase: p, action });
const svc = (service: string, action: string, healthy?: boolean): TalosEvent => ({
  type: 'service',
  service,
  action,
  message: '',
  health: healthy === undefined ? null : { unknown: false, healthy, lastMessage: '' },
});
const status = (stage: string, ready: boolean): TalosEvent => ({
  type: 'machine-status',
  stage,
  ready,
  unmetConditions: [],
});

t.test('forward only along the installed path, always out of failed/stalled', async (t) => {
  t.equal(forward('booting-from-disk', 'running'), 'running');
  t.equal(forward('joined', 'kubelet-running'), null, 'a late kubelet event does not demote joined');
  t.equal(forward('running', 'running'), null);
  t.equal(forward('failed', 'running'), 'running');
  t.equal(forward('stalled', 'joined'), 'joined');
});

t.test('install: install phase START = installing; kexec/reboot or any phase after install = installed', async (t) => {
  const s = newTalosSession();
  t.equal(interpretTalosEvent(m('config-delivered'), s, seq('install', 'START')).state, 'installing');
  t.equal(interpretTalosEvent(m('installing'), s, phase('install', 'START')).state, null, 'already installing');
  t.equal(interpretTalosEvent(m('installing'), s, phase('install', 'STOP')).kind, 'talos-phase');
  const r = interpretTalosEvent(m('installing'), s, phase('saveConfig', 'START'));
  t.equal(r.state, 'installed');
  t.equal(r.installed, true);

  const s2 = newTalosSession();
  interpretTalosEvent(m('config-delivered'), s2, seq('install', 'START'));
  t.equal(interpretTalosEvent(m('installing'), s2, phase('kexec', 'START')).state, 'installed');
  t.equal(
    interpretTalosEvent(m('installing'), newTalosSession(), phase('kexec', 'START')).state,
    null,
    'kexec outside the install sequence (an upgrade) is not an install',
  );
});

t.test('an installed machine runs the install sequence on every boot: not an install', async (t) => {
  const s = newTalosSession();
  t.equal(interpretTalosEvent(m('booting-from-disk', true), s, seq('install', 'START')).state, null);
  t.equal(interpretTalosEvent(m('booting-from-disk', true), s, seq('install', 'STOP')).state, null);
  t.equal(
    interpretTalosEvent(m('joined', true), s, seq('initialize', 'START')).state,
    'booting-from-disk',
    'a reboot straight from disk',
  );
  t.equal(interpretTalosEvent(m('booting-from-disk', true), s, seq('boot', 'STOP')).state, 'running');
  t.equal(interpretTalosEvent(m('running', true), s, svc('kubelet', 'RUNNING', false)).state, null, 'not healthy yet');
  t.equal(interpretTalosEvent(m('running', true), s, svc('kubelet', 'RUNNING', true)).state, 'kubelet-running');
  t.equal(interpretTalosEvent(m('kubelet-running', true), s, status('RUNNING', false)).state, null);
  t.equal(interpretTalosEvent(m('kubelet-running', true), s, status('RUNNING', true)).state, 'joined');
  t.equal(
    interpretTalosEvent(m('joined', true), s, status('RUNNING', true)).kind,
    null,
    'an identical status is not recorded twice',
  );
});

t.test(
  'boot STOP on a machine we did not install: Talos found an installation; boot the disk from now on',
  async (t) => {
    const r = interpretTalosEvent(m('installing'), newTalosSession(), seq('boot', 'STOP'));
    t.equal(r.state, 'running');
    t.equal(r.installed, true);
  },
);

t.test('failures: FATAL sequence error, config load error, FAILED service; LOCKED is not one', async (t) => {
  const s = newTalosSession();
  const fatal = interpretTalosEvent(m('installing'), s, seq('install', 'NOOP', { code: 'FATAL', message: 'boom' }));
  t.equal(fatal.state, 'failed');
  t.equal(fatal.failure, 'install sequence failed: boom');
  t.equal(
    interpretTalosEvent(m('joined', true), s, seq('reboot', 'NOOP', { code: 'LOCKED', message: 'locked' })).state,
    null,
  );
  t.equal(
    interpretTalosEvent(m('kernel-loaded'), s, { type: 'config-load-error', error: 'x' }).failure,
    'config load error: x',
  );
  t.equal(interpretTalosEvent(m('running', true), s, svc('etcd', 'FAILED')).state, 'failed');
});

t.test(
  'a reimage: reports from the old installation do not move the machine; the wipe boot is not the install',
  async (t) => {
    const s = newTalosSession();
    const pending = m('reimage-requested', true, { wipeBootedAt: null });
    t.equal(interpretTalosEvent(pending, s, seq('install', 'START')).state, null);
    t.equal(interpretTalosEvent(pending, s, svc('kubelet', 'RUNNING', true)).state, null);
    t.equal(interpretTalosEvent(m('wiping', true, { wipeBootedAt: '' }), s, seq('install', 'START')).state, null);
    const afterWipe = m('config-delivered', true, { wipeBootedAt: '2026-11-25T10:00:00Z' });
    t.equal(
      interpretTalosEvent(afterWipe, newTalosSession(), seq('install', 'START')).state,
      'installing',
      'the boot after the wipe installs',
    );
  },
);

t.test('services: repeats and ordinary transitions are not timeline entries', async (t) => {
  const s = newTalosSession();
  t.equal(interpretTalosEvent(m('running', true), s, svc('apid', 'PREPARING')).kind, null);
  t.equal(interpretTalosEvent(m('running', true), s, svc('apid', 'RUNNING', true)).kind, 'talos-service');
  t.equal(interpretTalosEvent(m('running', true), s, svc('apid', 'RUNNING', true)).kind, null);
  t.equal(interpretTalosEvent(m('running', true), s, { type: 'task', task: 'x', action: 'START' }).kind, null);
  t.equal(
    interpretTalosEvent(m('running', true), s, { type: 'task', task: 'runningMaintenance', action: 'START' }).kind,
    'talos-maintenance',
  );
  t.equal(interpretTalosEvent(m('running', true), s, svc('etcd', 'RUNNING', true)).bootstrapDone, true);
});

t.test('waiting for bootstrap: control planes only, from the kernel log or an etcd condition', async (t) => {
  const none = { bootstrapWaitAt: null, unmetConditions: [] };
  t.notOk(waitingForBootstrap({ role: 'controlplane' }, none));
  t.ok(waitingForBootstrap({ role: 'controlplane' }, { ...none, bootstrapWaitAt: 'x' }));
  t.ok(
    waitingForBootstrap(
      { role: 'controlplane' },
      { ...none, unmetConditions: [{ name: 'services', reason: 'etcd not running' }] },
    ),
  );
  t.notOk(
    waitingForBootstrap(
      { role: 'worker' },
      { ...none, unmetConditions: [{ name: 'services', reason: 'etcd not running' }] },
    ),
  );
});

t.test(
  'install judged by the sequence, not the state (Talos DHCP may move it); a failed install is never installed',
  async (t) => {
    const s = newTalosSession();
    interpretTalosEvent(m('config-delivered'), s, seq('install', 'START'));
    interpretTalosEvent(m('installing'), s, phase('install', 'START'));
    interpretTalosEvent(m('installing'), s, phase('install', 'STOP'));
    t.equal(
      interpretTalosEvent(m('dhcp'), s, phase('meta', 'START')).state,
      'installed',
      'the phase after install started',
    );

    // Talos's order when the install phase fails: the phase's deferred STOP, the sequence's
    // deferred STOP, then the NOOP with the error. Neither STOP is a success.
    const f = newTalosSession();
    interpretTalosEvent(m('config-delivered'), f, seq('install', 'START'));
    interpretTalosEvent(m('installing'), f, phase('install', 'START'));
    t.equal(interpretTalosEvent(m('installing'), f, phase('install', 'STOP')).state, null);
    const stop = interpretTalosEvent(m('installing'), f, seq('install', 'STOP'));
    t.equal(stop.state, null, 'the STOP before the error is not success');
    t.equal(stop.installed, undefined);
    t.equal(
      interpretTalosEvent(
        m('installing'),
        f,
        seq('install', 'NOOP', {
          code: 'FATAL',
          message: 'sequence failed: error running phase 2 in install sequence: task 1/1: failed, x',
        }),
      ).state,
      'failed',
    );
  },
);

t.test(
  'without the sequence (metalboot restarted mid-install): Talos’s REBOOTING stage while installing = installed',
  async (t) => {
    const r = interpretTalosEvent(m('installing'), newTalosSession(), status('REBOOTING', false));
    t.equal(r.state, 'installed');
    t.equal(r.installed, true);
    t.equal(
      interpretTalosEvent(m('failed'), newTalosSession(), status('REBOOTING', false)).state,
      null,
      'the reboot after a fatal error is not an install',
    );
  },
);

// Talos v1.13's install sequence (v1alpha1_sequencer.go), as its controller publishes it: each
// phase START/STOP, then the reboot phase's RebootError ends the sequence: STOP (deferred in run),
// then the NOOP with a FATAL `sequence failed: … unix.Reboot(…)` that Run publishes.
const V13_INSTALL_PHASES = ['env', 'install', 'meta', 'saveMeta', 'volumeFinalize', 'stopEverything', 'kexec'];
const rebootEnd = [
  phase('reboot', 'START'),
  phase('reboot', 'STOP'),
  seq('install', 'STOP'),
  seq('install', 'NOOP', {
    code: 'FATAL',
    message: 'sequence failed: error running phase 8 in install sequence: task 1/1: failed, unix.Reboot(45584543)',
  }),
];

t.test(
  "install sequence ending in Talos's FATAL unix.Reboot NOOP: installed, never failed (Omni/Sidero's rule)",
  async (t) => {
    const s = newTalosSession();
    const events = [
      seq('install', 'START'),
      ...V13_INSTALL_PHASES.flatMap((p) => [phase(p, 'START'), phase(p, 'STOP')]),
      ...rebootEnd,
    ];
    let state: MachineState = 'config-delivered';
    let installed = false;
    for (const e of events) {
      const r = interpretTalosEvent(m(state, installed), s, e);
      t.not(r.state, 'failed', `${JSON.stringify(e)} is not a failure`);
      t.equal(r.failure, undefined);
      if (r.state) state = r.state;
      if (r.installed) installed = true;
    }
    t.equal(state, 'installed');
    t.ok(installed);

    // Only the NOOP arrives (metalboot restarted mid-install, or the phases were lost): still installed.
    const alone = interpretTalosEvent(m('installing'), newTalosSession(), rebootEnd[3]!);
    t.equal(alone.state, 'installed');
    t.equal(alone.installed, true);
    t.equal(alone.kind, 'talos-sequence');
    // A reboot of a running machine (`talosctl reboot`) ends the same way: a reboot, not a failure.
    const reboot = interpretTalosEvent(
      m('joined', true),
      newTalosSession(),
      seq('reboot', 'NOOP', {
        code: 'FATAL',
        message: 'sequence failed: error running phase 5 in reboot sequence: task 1/1: failed, unix.Reboot(1234567)',
      }),
    );
    t.equal(reboot.state, null);
    t.equal(reboot.kind, 'talos-sequence');
    // Outside the install window the NOOP moves nothing.
    t.equal(interpretTalosEvent(m('booting-from-disk', true), newTalosSession(), rebootEnd[3]!).state, null);
  },
);

t.test('a failed install keeps Talos’s words, once: "sequence failed: " is not repeated', async (t) => {
  const s = newTalosSession();
  interpretTalosEvent(m('config-delivered'), s, seq('install', 'START'));
  const r = interpretTalosEvent(
    m('installing'),
    s,
    seq('install', 'NOOP', {
      code: 'FATAL',
      message:
        'sequence failed: error running phase 2 in install sequence: task 1/1: failed, no disks matched the expression: disk.size >= 1000u * GB',
    }),
  );
  t.equal(r.state, 'failed');
  t.equal(
    r.failure,
    'install sequence failed: error running phase 2 in install sequence: task 1/1: failed, no disks matched the expression: disk.size >= 1000u * GB',
  );
});

t.test('boot START on a machine we installed: booting from disk (a new boot)', async (t) => {
  t.equal(
    interpretTalosEvent(m('installed', true), newTalosSession(), seq('boot', 'START')).state,
    'booting-from-disk',
  );
  t.equal(
    interpretTalosEvent(m('installing'), newTalosSession(), seq('boot', 'START')).state,
    null,
    'not one we installed',
  );
});

t.test(
  'Talos v1.14 (install controller): the PXE boot runs the boot sequence while it installs; its STOP is neither installed nor running',
  async (t) => {
    const v14 = (state: MachineState, installed = false) => ({
      ...m(state, installed),
      installProgress: 'install-controller-log' as const,
    });
    const s = newTalosSession();
    t.equal(interpretTalosEvent(v14('config-delivered'), s, seq('boot', 'START')).state, null);
    const stop = interpretTalosEvent(v14('installing'), s, seq('boot', 'STOP'));
    t.equal(stop.state, null, 'not "Talos found an installation"');
    t.equal(stop.installed, undefined);
    t.equal(
      interpretTalosEvent(v14('installed', true), s, seq('boot', 'STOP')).state,
      null,
      'installed in this PXE boot: about to reboot, not running',
    );
    // The boot from the disk afterwards: as in v1.13.
    const disk = newTalosSession();
    t.equal(interpretTalosEvent(v14('installed', true), disk, seq('initialize', 'START')).state, 'booting-from-disk');
    t.equal(interpretTalosEvent(v14('booting-from-disk', true), disk, seq('boot', 'STOP')).state, 'running');
    // v1.13 keeps its rule: boot STOP on a machine we did not install means Talos found one.
    t.equal(interpretTalosEvent(m('installing'), newTalosSession(), seq('boot', 'STOP')).installed, true);
  },
);
