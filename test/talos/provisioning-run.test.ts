import { createSocket } from 'node:dgram';
import t from 'tap';
import { parse } from 'yaml';
import { WakeOnLanDriver } from '../../src/power/index.js';
import { configUrlOf } from '../helpers/core-app.js';
import { makeTalosApp } from '../helpers/talos-app.js';
import {
  bootFromDisk,
  ev,
  eventually,
  freshInstall,
  kmsgClient,
  kmsgLine,
  TalosStandIn,
} from '../helpers/talos-standin.js';

/**
 * The "done when", scripted: power-on request → config delivery → install → reboot →
 * kubelet → ready → joined, every step on the timeline; a reimage → wipe boot → fresh install;
 * silence in `installing` → stalled. Real gRPC and TCP on loopback; the WoL packet goes to a
 * loopback listener.
 */
const MAC = '52:54:00:de:ad:01';

t.test('power-on to joined, then reimage to joined again', async (t) => {
  const app = await makeTalosApp(t);
  const nic = createSocket('udp4');
  const wakeups: Buffer[] = [];
  nic.on('message', (m) => wakeups.push(m));
  await new Promise<void>((resolve) => nic.bind(0, '127.0.0.1', resolve));
  t.teardown(() => nic.close());
  app.core.power.setDriver(new WakeOnLanDriver({ broadcast: '127.0.0.1', port: nic.address().port }));
  const live: string[] = [];
  app.core.timeline.bus.on('event', (e: { mac: string; kind: string }) => e.mac === MAC && live.push(e.kind));

  await app.register({ mac: MAC, hostname: 'worker-1' });
  t.equal((await app.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' })).status, 202);
  await eventually(() => wakeups.length === 1);

  // The machine wakes, network-boots and fetches its config; Talos installs and streams its log.
  const first = await app.netboot(MAC);
  t.equal(first.kind, 'install');
  const log = await kmsgClient(app.kmsgPort);
  t.teardown(() => log.destroy());
  await log.send(kmsgLine('[talos] fetching machine config from: "http://10.9.0.1:8080/config/..."\n'));
  await app.talos.publishAll(freshInstall('worker-1', '127.0.0.1'));
  await log.send(kmsgLine('[talos] installation of v1.13.9 complete\n'));
  t.equal((await app.machine(MAC)).state, 'installed');

  // Reboot: the network boot is told to boot the disk; Talos boots it and joins.
  t.equal((await app.netboot(MAC)).kind, 'localboot');
  const disk = new TalosStandIn(app.listeners.eventsAddress!); // a new machined: new connection, new event ids
  t.teardown(() => disk.close());
  await disk.publishAll(bootFromDisk());
  t.equal((await app.machine(MAC)).state, 'joined');

  const states = await app.states(MAC);
  t.same(states, [
    'registered',
    'pxe-booting',
    'kernel-loaded',
    'config-delivered',
    'installing',
    'installed',
    'booting-from-disk',
    'running',
    'kubelet-running',
    'joined',
  ]);
  const kinds = await app.kinds(MAC);
  for (const k of [
    'registered',
    'power-on-requested',
    'machine-script',
    'kernel-download-completed',
    'initramfs-download-completed',
    'config-delivered',
    'talos-sequence',
    'talos-phase',
    'talos-service',
    'talos-status',
  ]) {
    t.ok(kinds.includes(k), `${k} on the timeline`);
  }
  t.ok(kinds.indexOf('power-on-requested') < kinds.indexOf('machine-script'), 'power-on first');
  t.same(live, kinds, 'the live stream saw every entry, in order');
  const logs = (await app.api('GET', `/api/v1/machines/${MAC}/logs`)).json.lines.map((l: { msg: string }) => l.msg);
  t.same(logs, [
    '[talos] fetching machine config from: "http://10.9.0.1:8080/config/..."',
    '[talos] installation of v1.13.9 complete',
  ]);

  // Reimage: cancelable until it starts; then the wipe boot, then a fresh install.
  t.equal((await app.api('POST', `/api/v1/machines/${MAC}/reimage`, {})).json.state, 'reimage-requested');
  const canceled = await app.api('DELETE', `/api/v1/machines/${MAC}/reimage`);
  t.equal(canceled.status, 200, canceled.body);
  t.equal(canceled.json.state, 'joined', 'canceling restores the state');
  t.equal(canceled.json.reimage, null);
  t.equal((await app.api('DELETE', `/api/v1/machines/${MAC}/reimage`)).status, 409, 'nothing to cancel');
  t.equal((await app.api('POST', `/api/v1/machines/${MAC}/reimage`, { wipe: 'system' })).status, 202);
  await disk.publishAll([ev.service('kubelet', 'RUNNING', 'Health check successful', { healthy: true })]);
  t.equal((await app.machine(MAC)).state, 'reimage-requested', 'the old installation does not move it');
  t.equal((await app.api('POST', `/api/v1/machines/${MAC}/power`, { action: 'on' })).status, 202);

  const wipe = await app.netboot(MAC);
  t.equal(wipe.kind, 'wipe', 'the installer with talos.experimental.wipe=system');
  t.match(wipe.script, ' talos.experimental.wipe=system');
  t.match(wipe.script, 'talos.events.sink=');
  t.notMatch(wipe.script, 'talos.config=', 'no config for the wipe boot');
  t.equal((await app.machine(MAC)).state, 'wiping');
  t.equal((await app.api('DELETE', `/api/v1/machines/${MAC}/reimage`)).status, 409, 'started: no longer cancelable');

  const second = await app.netboot(MAC);
  t.equal(second.kind, 'install', 'the boot after the wipe installs');
  t.not(configUrlOf(second.script), configUrlOf(first.script), 'with a fresh config token');
  t.match(
    second.config,
    /\n {4}install:\n(?: {8}.*\n)*? {8}wipe: false\n/,
    'wipe: system leaves the install disk to the installer as it is',
  );
  const reinstall = new TalosStandIn(app.listeners.eventsAddress!);
  t.teardown(() => reinstall.close());
  await reinstall.publishAll(freshInstall('worker-1', '127.0.0.1'));
  const after = await app.machine(MAC);
  t.equal(after.state, 'installed');
  t.equal(after.reimage, null, 'the reimage is complete');
  t.equal((await app.netboot(MAC)).kind, 'localboot');
  const rebooted = new TalosStandIn(app.listeners.eventsAddress!);
  t.teardown(() => rebooted.close());
  await rebooted.publishAll(bootFromDisk());
  t.equal((await app.machine(MAC)).state, 'joined');
  const tail = (await app.states(MAC)).slice(states.length + 2); // after the canceled request and its restore
  t.same(tail, [
    'reimage-requested',
    'wiping',
    'pxe-booting',
    'kernel-loaded',
    'config-delivered',
    'installing',
    'installed',
    'booting-from-disk',
    'running',
    'kubelet-running',
    'joined',
  ]);
});

t.test('reimage with wipe: disk — the install after the wipe boot wipes the whole install disk', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  const first = await app.netboot(MAC);
  t.match(first.config, /\n {8}wipe: false\n/, 'a first install does not wipe the disk');
  const talos = new TalosStandIn(app.listeners.eventsAddress!);
  t.teardown(() => talos.close());
  await talos.publishAll(freshInstall('worker-1', '127.0.0.1'));
  t.equal((await app.api('POST', `/api/v1/machines/${MAC}/reimage`, { wipe: 'disk' })).status, 202);
  const wipe = await app.netboot(MAC);
  t.equal(wipe.kind, 'wipe');
  const install = await app.netboot(MAC);
  t.equal(install.kind, 'install');
  const doc = parse(install.config!.split('\n---\n')[0]!) as { machine: { install: { wipe: boolean; disk: string } } };
  t.equal(doc.machine.install.wipe, true, 'machine.install.wipe: true in the config of the reinstall');
  t.equal(doc.machine.install.disk, '/dev/sda', 'the rest of the install settings stay');
});

t.test('a machine that goes silent in installing shows stalled', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  const install = freshInstall('worker-1', '127.0.0.1');
  const installPhase = install.findIndex((e) => e.type === 'PhaseEvent' && e.payload.phase === 'install');
  await app.talos.publishAll(install.slice(0, installPhase + 1)); // up to the install phase, then nothing
  t.equal((await app.machine(MAC)).state, 'installing');
  app.clock.advance(16 * 60_000);
  await app.core.stall.check();
  const view = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
  t.equal(view.state, 'stalled');
  t.equal(view.stalledIn, 'installing');
  t.equal(view.lastEvents.at(-1).kind, 'stalled');
});
