import t from 'tap';
import { KernelLogBuffer, classifyKernelLine, parseKernelLine } from '../../src/core/progress/kernel-log.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { decodeEventRequest, talosTypes } from '../../src/talos/index.js';
import { normalisePeerIp, peerIpFromGrpc } from '../../src/talos/peer.js';
import { TalosStandIn } from '../helpers/talos-standin.js';

t.test('peer addresses as machines are known by them', async (t) => {
  t.equal(peerIpFromGrpc('10.0.0.5:51234'), '10.0.0.5');
  t.equal(peerIpFromGrpc('::ffff:10.0.0.5:51234'), '10.0.0.5');
  t.equal(peerIpFromGrpc('fd00::5:51234'), 'fd00::5');
  t.equal(peerIpFromGrpc('[fd00::5]:51234'), 'fd00::5');
  t.equal(normalisePeerIp(undefined), 'unknown');
});

t.test('event ids: seen once per machine, bounded; unattributed events kept once per peer', async (t) => {
  const store = new SqliteStore(':memory:');
  t.teardown(() => store.close());
  const ev = store.talosEvents;
  t.equal(await ev.markSeen('m1', 'a', 3), true);
  t.equal(await ev.markSeen('m1', 'a', 3), false, 'a replay');
  t.equal(await ev.markSeen('m2', 'a', 3), true, 'per machine');
  for (const id of ['b', 'c', 'd']) await ev.markSeen('m1', id, 3);
  t.equal(await ev.markSeen('m1', 'a', 3), true, 'the oldest id was pruned (keep 3)');
  await ev.forget('m1', 'd');
  t.equal(await ev.markSeen('m1', 'd', 3), true, 'forgotten ids can be applied again');

  const u = { at: 'now', peerIp: '10.0.0.9', eventId: 'x', type: 'machine.TaskEvent', payload: { id: 'x' } };
  t.equal(await ev.recordUnattributed(u), true);
  t.equal(await ev.recordUnattributed(u), false);
  t.equal(await ev.recordUnattributed({ ...u, peerIp: '10.0.0.8' }), true);
  t.equal(await ev.countUnattributed(), 2);
  const mine = await ev.listUnattributed({ peerIp: '10.0.0.9', unclaimedOnly: true });
  t.same(
    mine.map((e) => e.payload),
    [{ id: 'x' }],
  );
  await ev.claimUnattributed([mine[0]!.id], 'm1');
  t.equal(await ev.countUnattributed({ unclaimedOnly: true }), 1);
  t.equal((await ev.listUnattributed())[0]!.claimedBy, 'm1');
});

t.test('decode: what the stand-in encodes with upstream protos, metalboot decodes with its own', async (t) => {
  const standin = new TalosStandIn('127.0.0.1:1');
  t.teardown(() => standin.close());
  const bytes = standin.encode({
    type: 'MachineStatusEvent',
    payload: {
      stage: 'RUNNING',
      status: { ready: false, unmet_conditions: [{ name: 'time', reason: 'time is not synced' }] },
    },
    id: 'id1',
  });
  t.same(decodeEventRequest(bytes), {
    ok: true,
    envelope: {
      id: 'id1',
      actorId: '',
      typeUrl: 'type.googleapis.com/machine.MachineStatusEvent',
      event: {
        type: 'machine-status',
        stage: 'RUNNING',
        ready: false,
        unmetConditions: [{ name: 'time', reason: 'time is not synced' }],
      },
    },
  });
  const svc = decodeEventRequest(
    standin.encode({
      type: 'ServiceStateEvent',
      payload: { service: 'kubelet', action: 'STARTING', message: 'm', health: { healthy: true, last_message: 'ok' } },
      id: 'id2',
    }),
  );
  t.match(svc, {
    ok: true,
    envelope: {
      event: {
        type: 'service',
        service: 'kubelet',
        action: 'STARTING',
        health: { unknown: false, healthy: true, lastMessage: 'ok' },
      },
    },
  });
  const seq = decodeEventRequest(
    standin.encode({
      type: 'SequenceEvent',
      payload: { sequence: 'install', action: 'NOOP', error: { code: 'LOCKED', message: 'locked' } },
      id: 'id3',
    }),
  );
  t.match(seq, { ok: true, envelope: { event: { type: 'sequence', error: { code: 'LOCKED', message: 'locked' } } } });
  t.match(decodeEventRequest(talosTypes.EventRequest.encode({ id: 'noany' }).finish()), {
    ok: true,
    envelope: { id: 'noany', typeUrl: '', event: null },
  });
});

t.test('kernel-log lines: parse, classify, keep a bounded tail', async (t) => {
  t.equal(parseKernelLine('[1,2]', 'now'), null);
  t.equal(parseKernelLine('{"msg":5}', 'now'), null);
  t.match(parseKernelLine('{"msg":"x\\n","seq":"no"}', 'now'), { msg: 'x', seq: null, facility: null });
  const line = (msg: string, extra = {}) => ({ ...parseKernelLine(JSON.stringify({ msg }), 'now')!, ...extra });
  t.match(classifyKernelLine(line('[talos] install successful')), { kind: 'install-succeeded' });
  t.equal(classifyKernelLine(line('[talos] install failed: not successful')), null);
  t.equal(classifyKernelLine(line('install successful')), null, 'only machined’s own lines');
  t.match(classifyKernelLine(line('[talos] boom', { priority: 'crit' })), { kind: 'error', message: 'boom' });
  const buf = new KernelLogBuffer(2, 2);
  for (const m of ['a', 'b', 'c']) buf.append('m1', line(m));
  t.same(
    buf.tail('m1').map((l) => l.msg),
    ['b', 'c'],
    'lines per machine bounded',
  );
  buf.append('m2', line('x'));
  buf.append('m3', line('y'));
  t.same(buf.tail('m1'), [], 'least recently written machine dropped');
  buf.adopt('m3', 'm2');
  t.same(
    buf.tail('m2').map((l) => l.msg),
    ['x', 'y'],
  );
});
