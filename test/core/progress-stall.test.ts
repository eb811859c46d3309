import t from 'tap';
import { DEFAULT_STALL_DEADLINES, parseStallDeadlines } from '../../src/core/progress/stall.js';
import { makeTalosApp } from '../helpers/talos-app.js';
import { bootFromDisk, eventually, ev, freshInstall, kmsgClient, kmsgLine } from '../helpers/talos-standin.js';

const MIN = 60_000;
const MAC = '52:54:00:aa:00:03';

t.test('silence in installing → stalled (moved clock, no sleeping); a report from the machine clears it', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  await app.talos.publishAll([ev.sequence('install', 'START'), ev.phase('install', 'START')]);
  t.equal((await app.machine(MAC)).state, 'installing');

  app.clock.advance(14 * MIN);
  t.same(await app.core.stall.check(), [], 'within the 15 min deadline');
  await app.talos.publishAll([ev.task('install', 'START')]); // a sign of life restarts the count
  app.clock.advance(14 * MIN);
  t.same(await app.core.stall.check(), [], 'activity counts, not only state changes');
  app.clock.advance(2 * MIN);
  const stalled = await app.core.stall.check();
  t.equal(stalled.length, 1);
  t.match(stalled[0], { kind: 'stalled', state: 'stalled', detail: { in: 'installing', deadlineMs: 15 * MIN } });
  t.equal((await app.machine(MAC)).state, 'stalled');
  const view = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
  t.equal(view.stalledIn, 'installing');
  t.equal(view.stall, null, 'stalled has no deadline of its own');
  t.same(await app.core.stall.check(), [], 'stalled once');

  // The installer finishes after all: judged as from installing.
  await app.talos.publishAll([ev.task('install', 'STOP'), ev.phase('install', 'STOP')]);
  t.equal((await app.machine(MAC)).state, 'installing', 'any report ends the stall');
  await app.talos.publishAll([ev.phase('kexec', 'START')]);
  t.equal((await app.machine(MAC)).state, 'installed');
});

t.test(
  'machines waiting for an operator are not stalled; neither is a first control plane waiting for bootstrap',
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'cp-1', role: 'controlplane' });
    await app.register({ mac: '52:54:00:aa:00:04', hostname: 'spare' });
    await app.netboot(MAC);
    await app.talos.publishAll(freshInstall('cp-1', '127.0.0.1'));
    await app.netboot(MAC);
    await app.talos.publishAll(bootFromDisk({ role: 'controlplane' }));
    t.equal((await app.machine(MAC)).state, 'kubelet-running');
    const c = await kmsgClient(app.kmsgPort);
    t.teardown(() => c.destroy());
    await c.send(
      kmsgLine(
        '[talos] etcd is waiting to join the cluster, if this node is the first node in the cluster, please run `talosctl bootstrap` against one of the following IPs:\n',
      ),
    );
    await eventually(async () => (await app.kinds(MAC)).includes('waiting-for-bootstrap'));

    app.clock.advance(24 * 60 * MIN);
    t.same(await app.core.stall.check(), [], 'neither the waiting control plane nor the registered spare');
    const view = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
    t.equal(view.state, 'kubelet-running');
    t.equal(view.waitingFor, 'talosctl bootstrap');
    t.same(
      view.unmetConditions.map((c: { name: string }) => c.name),
      ['services', 'staticPods', 'bootstrap'],
    );

    // After `talosctl bootstrap`: etcd runs, the node gets ready.
    await app.talos.publishAll([
      ev.service('etcd', 'RUNNING', 'Health check successful', { healthy: true }),
      ev.status('RUNNING', true),
    ]);
    const joined = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
    t.equal(joined.state, 'joined');
    t.equal(joined.waitingFor, null);
    t.same(joined.unmetConditions, []);
  },
);

t.test('the timer runs checks and stops', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  app.clock.advance(16 * MIN);
  app.core.stall.start(5);
  await eventually(async () => (await app.machine(MAC)).state === 'stalled');
  app.core.stall.stop();
  t.pass('stalled by the timer');
});

t.test('--stall-deadlines: minutes per state over the defaults, off removes one, mistakes are named', async (t) => {
  const d = parseStallDeadlines('installing=30, kubelet-running=1.5,pxe=off');
  t.equal(d.installing, 30 * MIN);
  t.equal(d['kubelet-running'], 90_000);
  t.notOk('pxe' in d, 'pxe has no deadline');
  t.equal(d.dhcp, DEFAULT_STALL_DEADLINES.dhcp, 'the rest keep their defaults');
  t.same(parseStallDeadlines(''), DEFAULT_STALL_DEADLINES);
  t.throws(() => parseStallDeadlines('installing'), /must be <state>=<minutes>/);
  t.throws(() => parseStallDeadlines('joined=5'), /"joined" is not a state that can stall/);
  t.throws(() => parseStallDeadlines('installing=-1'), /must be <state>=<minutes>/);
  t.equal(DEFAULT_STALL_DEADLINES.pxe, 10 * MIN, 'the defaults are not changed');
});

t.test('operator deadlines reach the detector', async (t) => {
  const app = await makeTalosApp(t, { stallDeadlines: parseStallDeadlines('config-delivered=60') });
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  app.clock.advance(16 * MIN);
  t.same(await app.core.stall.check(), [], 'not stalled after 16 min: the operator allows an hour');
  app.clock.advance(45 * MIN);
  t.equal((await app.core.stall.check()).length, 1, 'stalled after the hour');
});

t.test('without the Talos listeners, the states only Talos ends have no deadline', async (t) => {
  const app = await makeTalosApp(t);
  app.core.stall.limitToReporters({ events: false, kmsg: false });
  for (const s of ['config-delivered', 'installing', 'booting-from-disk', 'running', 'kubelet-running'] as const)
    t.equal(app.core.stall.deadlineFor(s), null, `${s}: none`);
  t.equal(app.core.stall.deadlineFor('pxe-booting'), 10 * MIN, 'what metalboot itself sees keeps its deadline');
  t.equal(
    app.core.stall.deadlineFor('installed'),
    15 * MIN,
    'installed ends with the next network boot, which metalboot sees',
  );
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  app.clock.advance(60 * MIN);
  t.same(
    await app.core.stall.check(),
    [],
    'a delivered config is not called stalled when nothing could report its install',
  );

  const kmsgOnly = await makeTalosApp(t);
  kmsgOnly.core.stall.limitToReporters({ events: false, kmsg: true });
  t.equal(kmsgOnly.core.stall.deadlineFor('installing'), 15 * MIN, 'the kernel log reports the install');
  t.equal(kmsgOnly.core.stall.deadlineFor('running'), null, 'but not the boot and join');
});
