import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { progressFields } from '../../src/cli/commands/machine-format.js';
import { makeTalosApp } from '../helpers/talos-app.js';
import { bootFromDisk, ev, failedInstall, freshInstall, installToReboot } from '../helpers/talos-standin.js';

const MAC = '52:54:00:aa:00:01';

t.test(
  'fresh install over real gRPC: installing → installed, then boot-from-disk → running → kubelet → joined',
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'worker-1' });
    const boot = await app.netboot(MAC);
    t.equal(boot.kind, 'install');
    t.equal((await app.machine(MAC)).state, 'config-delivered');

    const install = freshInstall('worker-1', '127.0.0.1');
    await app.talos.publishAll(install);
    const m = await app.machine(MAC);
    t.equal(m.state, 'installed', 'kexec inside the install sequence = installed');
    t.equal(m.installed, true, 'machine.installed set: the next network boot boots the disk');
    t.same(await app.states(MAC), [
      'registered',
      'pxe-booting',
      'kernel-loaded',
      'config-delivered',
      'installing',
      'installed',
    ]);

    // Talos reboots; the firmware network-boots again and is told to boot its disk.
    const again = await app.netboot(MAC);
    t.equal(again.kind, 'localboot', 'never the installer again');
    t.equal((await app.machine(MAC)).state, 'booting-from-disk');

    await app.talos.publishAll(bootFromDisk({ ready: false }));
    t.equal((await app.machine(MAC)).state, 'kubelet-running');
    const progress = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
    t.same(
      progress.unmetConditions,
      [{ name: 'nodeReady', reason: 'node "worker-1" status is not available yet' }],
      'unmet conditions exposed',
    );
    t.equal(progress.talos.stage, 'RUNNING');
    t.equal(progress.talos.ready, false);

    await app.talos.publishAll([ev.status('RUNNING', true)]);
    t.equal((await app.machine(MAC)).state, 'joined');
    t.same((await app.states(MAC)).slice(-5), [
      'installed',
      'booting-from-disk',
      'running',
      'kubelet-running',
      'joined',
    ]);
    const kinds = await app.kinds(MAC);
    t.ok(
      kinds.includes('talos-sequence') &&
        kinds.includes('talos-phase') &&
        kinds.includes('talos-service') &&
        kinds.includes('talos-status'),
    );
    t.notOk(kinds.includes('talos-task'), 'tasks are counted, not put on the timeline');
    t.equal(app.core.progress.counters.eventsRecorded, install.length + bootFromDisk({ ready: false }).length + 1);
  },
);

t.test('reconnect with replay: duplicates are ignored', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  const install = freshInstall('worker-1', '127.0.0.1');
  await app.talos.publishAll(install);
  const before = await app.kinds(MAC);
  // metalboot restarted / Talos reconnected and replayed its whole buffer (same ids)
  await app.talos.publishAll(install);
  t.same(await app.kinds(MAC), before, 'no timeline entry twice');
  t.equal(app.core.progress.counters.eventsDuplicate, install.length);
  t.equal((await app.machine(MAC)).state, 'installed');
});

t.test("Talos's install sequence to its reboot (the FATAL unix.Reboot NOOP last): installed, not failed", async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  await app.talos.publishAll(installToReboot());
  const m = await app.machine(MAC);
  t.equal(m.state, 'installed');
  t.equal(m.installed, true);
  t.equal(m.failure, null);
  t.notOk((await app.kinds(MAC)).includes('talos-sequence-failed'));
  t.equal((await app.netboot(MAC)).kind, 'localboot', 'the next network boot boots the disk');
});

t.test('failed install: failed, with the first reason in the machine, its progress and the timeline', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  await app.talos.publishAll(failedInstall());
  // What follows is a consequence (issue 14's trace: machined FAILED "install failed").
  await app.talos.publishAll([ev.service('machined', 'FAILED', 'install failed')]);
  const m = await app.machine(MAC);
  t.equal(m.state, 'failed');
  t.equal(m.installed, false, 'the next boot installs again');
  const reason =
    'install sequence failed: error running phase 2 in install sequence: task 1/1: failed, no disks matched the expression: disk.size >= 1000u * GB';
  t.same(m.failure && { reason: m.failure.reason, source: m.failure.source }, { reason, source: 'talos sequence' });
  const progress = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
  t.equal(progress.failure.reason, reason, 'the dashboard and `machine show` read it here');
  const kinds = await app.kinds(MAC);
  t.ok(kinds.includes('talos-sequence-failed'));
  t.ok(kinds.includes('talos-service-failed'), 'the consequence is on the timeline');
  t.notOk((await app.states(MAC)).includes('installed'), 'never shown installed on the way');
  t.equal((await app.netboot(MAC)).kind, 'install', 'a failed machine gets the installer again');
});

t.test(
  'config load error and failed service are failures with their reason; the first reason is kept until the machine moves on',
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'worker-1' });
    await app.netboot(MAC);
    await app.talos.publishAll([ev.configLoadError('failed to parse config: unknown keys found during decoding')]);
    t.equal((await app.machine(MAC)).state, 'failed');
    t.match(
      (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json.failure.reason,
      'config load error: failed to parse config',
    );
    await app.talos.publishAll([ev.service('containerd', 'FAILED', 'Condition failed: timeout')]);
    t.match(
      (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json.failure.reason,
      'config load error: failed to parse config',
      'a consequence does not replace the cause',
    );
    t.ok((await app.kinds(MAC)).includes('talos-service-failed'), 'the consequence is on the timeline');
    // The machine boots again (out of `failed`) and fails anew: that failure has its own reason.
    await app.netboot(MAC);
    await app.talos.publishAll([ev.service('containerd', 'FAILED', 'Condition failed: timeout')]);
    t.match((await app.machine(MAC)).failure.reason, 'service containerd failed: Condition failed: timeout');
  },
);

t.test(
  'attribution: events from an unknown address are kept, then claimed when an AddressEvent names the machine',
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'worker-1' });
    await app.netboot(MAC, '10.9.0.50'); // it booted from 10.9.0.50; Talos now reports from 127.0.0.1
    await app.talos.publishAll([ev.sequence('install', 'START'), ev.phase('install', 'START')]);
    t.equal(app.core.progress.counters.eventsUnattributed, 2, 'counted');
    let stats = (await app.api('GET', '/api/v1/talos/stats')).json;
    t.equal(stats.unattributedStored, 2, 'recorded, not dropped');
    const list = (await app.api('GET', '/api/v1/talos/unattributed')).json.items;
    t.same(
      list.map((e: { type: string; peerIp: string }) => [e.type, e.peerIp]),
      [
        ['machine.SequenceEvent', '127.0.0.1'],
        ['machine.PhaseEvent', '127.0.0.1'],
      ],
    );
    t.equal((await app.machine(MAC)).state, 'config-delivered');

    await app.talos.publishAll([ev.address('worker-1', ['10.9.0.50/24', 'fd00::50/64'])]);
    t.equal((await app.machine(MAC)).state, 'installing', 'the kept events were applied in order');
    t.equal((await app.machine(MAC)).lastSeen.ip, '127.0.0.1', 'the address is learned');
    stats = (await app.api('GET', '/api/v1/talos/stats')).json;
    t.equal(stats.unattributedStored, 0, 'claimed');
    t.ok((await app.kinds(MAC)).includes('talos-addresses'));
    await app.talos.publishAll([ev.phase('install', 'STOP'), ev.phase('kexec', 'START')]);
    t.equal((await app.machine(MAC)).state, 'installed', 'later events are attributed directly');
  },
);

t.test('an AddressEvent with only the hostname attributes too; an unknown one does not', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC, '10.9.0.50');
  await app.talos.publishAll([ev.address('nobody', ['192.0.2.99/24'])]);
  t.equal(app.core.progress.counters.eventsUnattributed, 1);
  await app.talos.publishAll([ev.address('worker-1.example.internal', ['192.0.2.77/24'])]);
  t.equal((await app.machine(MAC)).lastSeen.ip, '127.0.0.1', 'short hostname matched');
});

t.test(
  'malformed protobuf, unknown type_url, oversized messages: counted, answered, server keeps running',
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'worker-1' });
    await app.netboot(MAC);
    const counters = app.core.progress.counters;

    const malformed = await app.talos
      .publishRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]))
      .catch((e: grpc.ServiceError) => e);
    t.equal((malformed as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    t.equal(counters.eventsMalformed, 1);

    // An EventRequest whose known payload type carries bytes that are no such message:
    // data{type_url: machine.SequenceEvent, value: ff ff}, id: "x2"
    const bad = Buffer.concat([
      Buffer.from([0x0a, 0x2f, 0x0a, 0x29]),
      Buffer.from('type.googleapis.com/machine.SequenceEvent'),
      Buffer.from([0x12, 0x02, 0xff, 0xff]),
      Buffer.from([0x12, 0x02]),
      Buffer.from('x2'),
    ]);
    await app.talos.publishRaw(bad);
    t.equal(counters.eventsMalformed, 2, 'undecodable payload counted, acknowledged');

    const unknown = app.talos.encode({ type: 'SequenceEvent', payload: { sequence: 'boot' }, id: 'u1' });
    const retyped = Buffer.from(
      unknown.toString('latin1').replace('machine.SequenceEvent', 'machine.FutureEvent00'),
      'latin1',
    );
    await app.talos.publishRaw(retyped);
    t.equal(counters.eventsUnknownType, 1, 'unknown type_url counted, acknowledged');

    const huge = await app.talos.publishRaw(Buffer.alloc(200 * 1024, 0x0a)).catch((e: grpc.ServiceError) => e);
    t.equal((huge as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
    t.equal(counters.eventsOversized, 1);
    const giant = await app.talos.publishRaw(Buffer.alloc(5 * 1024 * 1024, 0x0a)).catch((e: grpc.ServiceError) => e);
    t.equal(
      (giant as grpc.ServiceError).code,
      grpc.status.RESOURCE_EXHAUSTED,
      'past the transport limit: refused by grpc-js',
    );

    await app.talos.publishAll([ev.sequence('install', 'START')]);
    t.equal((await app.machine(MAC)).state, 'installing', 'still serving');
    const stats = (await app.api('GET', '/api/v1/talos/stats')).json;
    t.match(stats, { eventsMalformed: 2, eventsUnknownType: 1, eventsOversized: 1, eventsRecorded: 1 });
  },
);

t.test(
  "v1.13's wording: `no disk found …` is the reason in the machine, its progress and `machine show`",
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'worker-1' });
    await app.netboot(MAC);
    await app.talos.publishAll(failedInstall('failed to install: no disk found matching selector'));
    await app.talos.publishAll([ev.service('machined', 'FAILED', 'install failed')]);
    const m = await app.machine(MAC);
    t.equal(m.state, 'failed');
    t.match(
      m.failure?.reason,
      /failed to install: no disk found matching selector$/,
      'the first cause, not "install failed"',
    );
    const progress = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
    const shown = progressFields(progress).find(([k]) => k === 'failure');
    t.match(
      shown?.[1],
      /^install sequence failed: .*no disk found matching selector \(talos sequence, /,
      'machine show',
    );
  },
);
