import t from 'tap';
import { blankMachine } from '../../src/core/registry/machines.js';
import { decideScript, needsCluster } from '../../src/core/boot/script-decision.js';
import type { Cluster, Machine } from '../../src/core/types.js';

const NOW = '2026-11-25T10:00:00.000Z';
const cluster: Cluster = {
  name: 'prod',
  talosVersion: 'v1.13.9',
  arch: 'amd64',
  endpoint: null,
  controlplane: '',
  worker: '',
  patches: [],
  kernelArgs: [],
  schematic: null,
  createdAt: NOW,
  updatedAt: NOW,
};
const machine = (extra: Partial<Machine> = {}): Machine => ({
  ...blankMachine('52:54:00:00:00:01', NOW),
  role: 'worker',
  cluster: 'prod',
  ...extra,
});
const reimage = (wipeBootedAt: string | null) => ({
  wipe: 'system' as const,
  requestedAt: NOW,
  wipeServedAt: wipeBootedAt,
  wipeBootedAt,
});

t.test('decideScript: discovery → localboot → unavailable → wipe → install', async (t) => {
  t.same(decideScript(undefined, undefined), { kind: 'discovery' }, 'never seen');
  t.same(decideScript(machine({ state: 'discovered' }), cluster), { kind: 'discovery' }, 'discovered only');
  t.same(decideScript(machine({ state: 'joined', installed: true }), cluster), { kind: 'localboot' });
  t.same(
    decideScript(machine({ installed: true, reimage: reimage(null) }), undefined),
    { kind: 'unavailable', reason: 'cluster prod does not exist' },
    'a reimage reopens the window',
  );
  t.same(decideScript(machine({ cluster: null }), undefined), { kind: 'unavailable', reason: 'no cluster assigned' });
  t.same(decideScript(machine(), undefined), { kind: 'unavailable', reason: 'cluster prod does not exist' });
  t.same(decideScript(machine({ role: null }), cluster), { kind: 'unavailable', reason: 'no role assigned' });
  t.same(decideScript(machine({ installed: true, reimage: reimage(null) }), cluster), { kind: 'wipe', cluster });
  t.same(
    decideScript(machine({ installed: true, reimage: reimage(NOW) }), cluster),
    { kind: 'install', cluster },
    'the wipe booted: install',
  );
  t.same(decideScript(machine(), cluster), { kind: 'install', cluster });
});

t.test('needsCluster: only a machine in its install window that names one', async (t) => {
  t.notOk(needsCluster(undefined));
  t.notOk(needsCluster(machine({ state: 'discovered' })));
  t.notOk(needsCluster(machine({ installed: true })));
  t.notOk(needsCluster(machine({ cluster: null })));
  t.ok(needsCluster(machine()));
  t.ok(needsCluster(machine({ installed: true, reimage: reimage(null) })));
});
