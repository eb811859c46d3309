import t from 'tap';
import { forward, interpretTalosEvent, newTalosSession, waitingForBootstrap, type TalosEvent } from '../../src/core/progress.js';
import type { MachineState } from '../../src/core/types.js';

const m = (state: MachineState, installed = false, reimage: { wipeBootedAt?: string | null } | null = null, role: 'worker' | 'controlplane' = 'worker') => ({
  state,
  installed,
  role,
  reimage: reimage ? { wipe: 'system' as const, requestedAt: '', ...reimage } : null,
});
const seq = (sequence: string, action: string, error?: { code: string; message: string }): TalosEvent => ({ type: 'sequence', sequence, action, error: error ?? null });
const phase = (p: string, action: string): TalosEvent => ({ type: 'phase', phase: p, action });
const svc = (service: string, action: string, healthy?: boolean): TalosEvent => ({ type: 'service', service, action, message: '', health: healthy === undefined ? null : { unknown: false, healthy, lastMessage: '' } });
const status = (stage: string, ready: boolean): TalosEvent => ({ type: 'machine-status', stage, ready, unmetConditions: [] });

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
  t.equal(interpretTalosEvent(m('installing'), newTalosSession(), phase('kexec', 'START')).state, null, 'kexec outside the install sequence (an upgrade) is not an install');
});

t.test('an installed machine runs the install sequence on every boot: not an install', async (t) => {
  const s = newTalosSession();
  t.equal(interpretTalosEvent(m('booting-from-disk', true), s, seq('install', 'START')).state, null);
  t.equal(interpretTalosEvent(m('booting-from-disk', true), s, seq('install', 'STOP')).state, null);
  t.equal(interpretTalosEvent(m('joined', true), s, seq('initialize', 'START')).state, 'booting-from-disk', 'a reboot straight from disk');
  t.equal(interpretTalosEvent(m('booting-from-disk', true), s, seq('boot', 'STOP')).state, 'running');
  t.equal(interpretTalosEvent(m('running', true), s, svc('kubelet', 'RUNNING', false)).state, null, 'not healthy yet');
  t.equal(interpretTalosEvent(m('running', true), s, svc('kubelet', 'RUNNING', true)).state, 'kubelet-running');
  t.equal(interpretTalosEvent(m('kubelet-running', true), s, status('RUNNING', false)).state, null);
  t.equal(interpretTalosEvent(m('kubelet-running', true), s, status('RUNNING', true)).state, 'joined');
  t.equal(interpretTalosEvent(m('joined', true), s, status('RUNNING', true)).kind, null, 'an identical status is not recorded twice');
});

t.test('boot STOP on a machine we did not install: Talos found an installation; boot the disk from now on', async (t) => {
  const r = interpretTalosEvent(m('installing'), newTalosSession(), seq('boot', 'STOP'));
  t.equal(r.state, 'running');
  t.equal(r.installed, true);
});

t.test('failures: FATAL sequence error, config load error, FAILED service; LOCKED is not one', async (t) => {
  const s = newTalosSession();
  const fatal = interpretTalosEvent(m('installing'), s, seq('install', 'NOOP', { code: 'FATAL', message: 'boom' }));
  t.equal(fatal.state, 'failed');
  t.equal(fatal.failure, 'install sequence failed: boom');
  t.equal(interpretTalosEvent(m('joined', true), s, seq('reboot', 'NOOP', { code: 'LOCKED', message: 'locked' })).state, null);
  t.equal(interpretTalosEvent(m('kernel-loaded'), s, { type: 'config-load-error', error: 'x' }).failure, 'config load error: x');
  t.equal(interpretTalosEvent(m('running', true), s, svc('etcd', 'FAILED')).state, 'failed');
});

t.test('a reimage: reports from the old installation do not move the machine; the wipe boot is not the install', async (t) => {
  const s = newTalosSession();
  const pending = m('reimage-requested', true, { wipeBootedAt: null });
  t.equal(interpretTalosEvent(pending, s, seq('install', 'START')).state, null);
  t.equal(interpretTalosEvent(pending, s, svc('kubelet', 'RUNNING', true)).state, null);
  t.equal(interpretTalosEvent(m('wiping', true, { wipeBootedAt: '' }), s, seq('install', 'START')).state, null);
  const afterWipe = m('config-delivered', true, { wipeBootedAt: '2026-11-25T10:00:00Z' });
  t.equal(interpretTalosEvent(afterWipe, newTalosSession(), seq('install', 'START')).state, 'installing', 'the boot after the wipe installs');
});

t.test('services: repeats and ordinary transitions are not timeline entries', async (t) => {
  const s = newTalosSession();
  t.equal(interpretTalosEvent(m('running', true), s, svc('apid', 'PREPARING')).kind, null);
  t.equal(interpretTalosEvent(m('running', true), s, svc('apid', 'RUNNING', true)).kind, 'talos-service');
  t.equal(interpretTalosEvent(m('running', true), s, svc('apid', 'RUNNING', true)).kind, null);
  t.equal(interpretTalosEvent(m('running', true), s, { type: 'task', task: 'x', action: 'START' }).kind, null);
  t.equal(interpretTalosEvent(m('running', true), s, { type: 'task', task: 'runningMaintenance', action: 'START' }).kind, 'talos-maintenance');
  t.equal(interpretTalosEvent(m('running', true), s, svc('etcd', 'RUNNING', true)).bootstrapDone, true);
});

t.test('waiting for bootstrap: control planes only, from the kernel log or an etcd condition', async (t) => {
  const none = { bootstrapWaitAt: null, unmetConditions: [] };
  t.notOk(waitingForBootstrap({ role: 'controlplane' }, none));
  t.ok(waitingForBootstrap({ role: 'controlplane' }, { ...none, bootstrapWaitAt: 'x' }));
  t.ok(waitingForBootstrap({ role: 'controlplane' }, { ...none, unmetConditions: [{ name: 'services', reason: 'etcd not running' }] }));
  t.notOk(waitingForBootstrap({ role: 'worker' }, { ...none, unmetConditions: [{ name: 'services', reason: 'etcd not running' }] }));
});

t.test('install judged by the sequence, not the state (Talos DHCP may move it); a failed install is never installed', async (t) => {
  const s = newTalosSession();
  interpretTalosEvent(m('config-delivered'), s, seq('install', 'START'));
  interpretTalosEvent(m('installing'), s, phase('install', 'START'));
  interpretTalosEvent(m('installing'), s, phase('install', 'STOP'));
  t.equal(interpretTalosEvent(m('dhcp'), s, seq('install', 'STOP')).state, 'installed', 'install phase done, sequence done');

  const f = newTalosSession();
  interpretTalosEvent(m('config-delivered'), f, seq('install', 'START'));
  interpretTalosEvent(m('installing'), f, phase('install', 'START'));
  interpretTalosEvent(m('installing'), f, phase('install', 'STOP')); // deferred STOP, also on failure
  t.equal(interpretTalosEvent(m('installing'), f, seq('install', 'NOOP', { code: 'FATAL', message: 'x' })).state, 'failed');
  t.equal(interpretTalosEvent(m('failed'), f, seq('install', 'STOP')).state, null, 'the STOP after a failure is not success');
});

t.test('without the sequence (metalboot restarted mid-install): Talos’s REBOOTING stage while installing = installed', async (t) => {
  const r = interpretTalosEvent(m('installing'), newTalosSession(), status('REBOOTING', false));
  t.equal(r.state, 'installed');
  t.equal(r.installed, true);
  t.equal(interpretTalosEvent(m('failed'), newTalosSession(), status('REBOOTING', false)).state, null, 'the reboot after a fatal error is not an install');
});
