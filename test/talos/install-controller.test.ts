import t, { type Test } from 'tap';
import type { TalosTestApp } from '../helpers/talos-app.js';
import { makeTalosApp } from '../helpers/talos-app.js';
import { bootFromDisk, eventually, ev, kmsgClient, kmsgLine, TalosStandIn } from '../helpers/talos-standin.js';

/**
 * Talos v1.14 installs without an install sequence: the install controller's kernel-log lines are
 * all metalboot gets (Talos's shapes: test/core/progress-kernel.test.ts). Real TCP and gRPC on
 * loopback. The cluster is made v1.14 in the store after the config was delivered: progress reads
 * only its version.
 */
const MAC = '52:54:00:14:00:01';
const MIN = 60_000;
const FIELDS = '"component": "controller-runtime", "controller": "runtime.UnattendedInstallController"';
const IMAGE =
  'factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.14.0';
const controllerLine = (message: string, fields = '') =>
  kmsgLine(`[talos] ${message} {${FIELDS}${fields}}`, { priority: 'warning', 'talos-level': 'warn' });
const INSTALLING = controllerLine('installing Talos', `, "disk": "/dev/sda", "image": "${IMAGE}"`);
const FAILED = controllerLine(
  'controller failed',
  ', "error": "failed to run installer: task \\"upgrade\\" failed: exit code 1"',
);

async function v14Machine(t: Test): Promise<TalosTestApp> {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC); // rendered as v1.13 (rendering v1.14 is not this file's subject)
  const cluster = (await app.store.clusters.get('prod'))!;
  await app.store.clusters.update({ ...cluster, talosVersion: 'v1.14.0' });
  return app;
}

t.test(
  'v1.14: the install controller’s lines take the machine installing → installed; the boot sequence beside them moves nothing; the disk boot joins',
  async (t) => {
    const app = await v14Machine(t);
    const log = await kmsgClient(app.kmsgPort);
    t.teardown(() => log.destroy());
    // The PXE boot: initialize, then the boot sequence runs while the controller installs.
    await app.talos.publishAll([
      ev.sequence('initialize', 'START'),
      ev.sequence('initialize', 'STOP'),
      ev.sequence('boot', 'START'),
    ]);
    await log.send(
      controllerLine('installer image not specified in config, using image from boot entry', `, "image": "${IMAGE}"`),
    );
    await log.send(INSTALLING);
    await eventually(async () => (await app.machine(MAC)).state === 'installing');
    await app.talos.publishAll([ev.sequence('boot', 'STOP')]);
    t.equal((await app.machine(MAC)).state, 'installing', 'boot STOP on the PXE boot is not "installed"');
    await log.send(controllerLine('install successful'));
    await log.send(controllerLine('requesting reboot after successful install'));
    await eventually(async () => (await app.kinds(MAC)).includes('install-reboot-requested'));
    const m = await app.machine(MAC);
    t.equal(m.state, 'installed');
    t.equal(m.installed, true);
    const events = (await app.api('GET', `/api/v1/machines/${MAC}/events?limit=1000`)).json.items as {
      kind: string;
      state: string | null;
      detail: Record<string, unknown>;
    }[];
    t.match(
      events.find((e) => e.kind === 'install-started'),
      { state: 'installing', detail: { disk: '/dev/sda', image: IMAGE, source: 'kernel-log' } },
    );
    t.match(
      events.find((e) => e.kind === 'install-warning'),
      { detail: { message: 'installer image not specified in config, using image from boot entry', image: IMAGE } },
    );
    t.match(
      events.find((e) => e.kind === 'install-succeeded'),
      { state: 'installed', detail: { source: 'kernel-log' } },
    );
    // The reboot (its sequence ends in unix.Reboot), then the next network boot boots the disk.
    await app.talos.publishAll([
      ev.sequence('reboot', 'START'),
      ev.sequence('reboot', 'STOP'),
      ev.sequence('reboot', 'NOOP', {
        message: 'sequence failed: error running phase 4 in reboot sequence: task 1/1: failed, unix.Reboot(1234567)',
      }),
    ]);
    t.equal((await app.machine(MAC)).state, 'installed', 'the reboot is not a failure');
    t.equal((await app.netboot(MAC)).kind, 'localboot');
    const disk = new TalosStandIn(app.listeners.eventsAddress!);
    t.teardown(() => disk.close());
    await disk.publishAll(bootFromDisk());
    t.same(await app.states(MAC), [
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
  },
);

t.test('v1.14: a failing installer — Talos retries, then its error is the failure reason, kept first', async (t) => {
  const app = await v14Machine(t);
  const log = await kmsgClient(app.kmsgPort);
  t.teardown(() => log.destroy());
  // Talos's console suppresses a controller's first four errors: five attempts, one error line.
  for (let i = 0; i < 5; i++) await log.send(INSTALLING);
  await log.send(FAILED);
  await eventually(async () => (await app.machine(MAC)).state === 'failed');
  const m = await app.machine(MAC);
  t.same(m.failure && { reason: m.failure.reason, source: m.failure.source }, {
    reason: 'install failed: failed to run installer: task "upgrade" failed: exit code 1',
    source: 'kernel log',
  });
  const kinds = await app.kinds(MAC);
  t.equal(kinds.filter((k) => k === 'install-retried').length, 4);
  // Later attempts and their errors go on the timeline; the reason stays the first.
  await log.send(INSTALLING);
  await log.send(
    controllerLine(
      'controller failed',
      ', "error": "failed to run installer: failed to wait for the image cache: context canceled"',
    ),
  );
  await eventually(async () => (await app.kinds(MAC)).filter((k) => k === 'install-failed').length === 2);
  t.match((await app.machine(MAC)).failure.reason, 'exit code 1');
  const view = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
  t.match(
    view.failure.reason,
    'install failed: failed to run installer: task "upgrade" failed: exit code 1',
    'the dashboard and `machine show` read the same',
  );
  t.equal(m.installed, false, 'the next boot installs again');
});

t.test(
  'v1.14: config fetched, then silence — the stall names the disk selector; v1.13 gets no such hint',
  async (t) => {
    const app = await v14Machine(t);
    t.equal((await app.machine(MAC)).state, 'config-delivered');
    app.clock.advance(16 * MIN);
    const [stalled] = await app.core.stall.check();
    t.match(stalled, { kind: 'stalled', detail: { in: 'config-delivered' } });
    t.match(stalled!.detail.hint, 'check disk.dev_path == "/dev/sda" (the machine\'s installDisk)');
    t.match(stalled!.detail.hint, 'Talos v1.14.0 logs nothing while its install disk selector matches no disk');
    // A line from the install controller ends the stall.
    const log = await kmsgClient(app.kmsgPort);
    t.teardown(() => log.destroy());
    await log.send(INSTALLING);
    await eventually(async () => (await app.machine(MAC)).state === 'installing');

    const v13 = await makeTalosApp(t);
    await v13.register({ mac: MAC, hostname: 'worker-1' });
    await v13.netboot(MAC);
    v13.clock.advance(16 * MIN);
    const [plain] = await v13.core.stall.check();
    t.equal(plain!.detail.hint, undefined);
  },
);

t.test('v1.14: another host sending the controller’s lines, or garbage, moves nothing of the machine', async (t) => {
  const app = await v14Machine(t);
  // The attacker at another address claims the victim's install succeeded, in Talos's own shapes,
  // mixed with garbage and broken controller lines.
  const { connect } = await import('node:net');
  const attacker = connect({ host: '127.0.0.1', port: app.kmsgPort, localAddress: '127.0.0.2' });
  t.teardown(() => attacker.destroy());
  attacker.on('error', () => undefined);
  await new Promise((r) => attacker.once('connect', r));
  const send = (text: string) => new Promise<void>((r) => attacker.write(text, () => r()));
  await send(INSTALLING);
  await send('{"msg": "[talos] install successful {"\n\u0000\u00ff not json at all\n{"msg": 42}\n');
  await send(controllerLine('install successful'));
  await send(controllerLine('requesting reboot after successful install'));
  await send(FAILED);
  // The victim's own connection is still heard afterwards: the listener survived the garbage.
  const own = await kmsgClient(app.kmsgPort);
  t.teardown(() => own.destroy());
  await own.send(INSTALLING);
  await eventually(async () => (await app.machine(MAC)).state === 'installing');
  const m = await app.machine(MAC);
  t.equal(m.installed, false, 'lines from another address never install the machine');
  t.equal(m.failure ?? null, null, 'nor fail it');
  t.notOk((await app.kinds(MAC)).includes('install-succeeded'), 'no install-succeeded on its timeline');
});
