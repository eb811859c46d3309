import t from 'tap';
import { inInstallWindow, nextState } from '../../src/core/timeline/lifecycle.js';
import type { MachineState } from '../../src/core/types.js';

const m = (state: MachineState, installed = false, reimage = false) => ({
  state,
  installed,
  reimage: reimage ? { wipe: 'system' as const, requestedAt: '' } : null,
});

t.test('install path follows what the network sees', async (t) => {
  t.equal(nextState(m('registered'), 'dhcp'), 'dhcp');
  t.equal(nextState(m('dhcp'), 'tftp'), 'pxe');
  t.equal(nextState(m('pxe'), 'dhcp'), 'dhcp', 'undionly DHCPs again');
  t.equal(nextState(m('dhcp'), 'install-script'), 'pxe-booting');
  t.equal(nextState(m('pxe-booting'), 'kernel'), 'kernel-loaded');
  t.equal(nextState(m('kernel-loaded'), 'initramfs'), null, 'already there');
  t.equal(nextState(m('kernel-loaded'), 'config'), 'config-delivered');
  t.equal(nextState(m('failed'), 'dhcp'), 'dhcp', 'a new boot attempt after a failure');
  t.equal(nextState(m('registered'), 'localboot-script'), null, 'never claims a disk boot in the window');
});

t.test('discovered machines stay discovered', async (t) => {
  for (const s of ['dhcp', 'tftp', 'install-script', 'kernel', 'config', 'discovery-script'] as const) {
    t.equal(nextState(m('discovered'), s), null, s);
  }
  t.notOk(inInstallWindow(m('discovered')));
});

t.test('installed machines are not demoted by reboots', async (t) => {
  t.equal(nextState(m('joined', true), 'dhcp'), null);
  t.equal(nextState(m('joined', true), 'boot-script'), null);
  t.equal(nextState(m('joined', true), 'localboot-script'), 'booting-from-disk');
  t.equal(nextState(m('booting-from-disk', true), 'localboot-script'), null);
  t.notOk(inInstallWindow(m('joined', true)));
  t.ok(inInstallWindow(m('reimage-requested', true, true)), 'reimage reopens the window');
  t.equal(nextState(m('reimage-requested', true, true), 'install-script'), 'pxe-booting');
});
