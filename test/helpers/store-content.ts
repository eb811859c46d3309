/**
 * A store filled through the Store API with a bit of everything (what `db copy` must carry), and
 * everything a store holds read back through the same API, lists and pages, for comparing two
 * stores. The BMC password is sealed with a SecretBox of the test's data directory, as serve does.
 */
import type { Store } from '../../src/core/ports/types.js';
import { loadSecretBox } from '../../src/support/secret-box.js';
import {
  at,
  audit,
  cluster,
  discovered,
  event,
  machine,
  mac,
  progress,
  token,
  walk,
} from './store-conformance/fixtures.js';

export const MACS = [mac(1), mac(2), mac(3)];
export const DISCOVERED = mac(9);
export const BMC_PASSWORD = 'bmc-secret-7';

export async function fillStore(store: Store, dataDir: string): Promise<void> {
  await store.clusters.insert(cluster('prod'));
  await store.clusters.insert(cluster('lab', { talosVersion: 'v1.14.1', kernelArgs: [] }));
  await store.machines.insert(
    machine(MACS[0]!, {
      cluster: 'prod',
      hostname: 'cp-1',
      role: 'controlplane',
      ip: '10.0.0.21',
      labels: { rack: 'a' },
    }),
  );
  await store.machines.insert(machine(MACS[1]!, { cluster: 'prod', hostname: 'w-1', role: 'worker' }));
  await store.machines.insert(machine(MACS[2]!, { cluster: 'lab', hostname: 'w-2', role: 'worker', installed: true }));
  await store.machines.insert(discovered(DISCOVERED, 30, { uuid: '4c4c4544-0000-0000-0000-000000000009' }));
  for (const [i, m] of MACS.entries()) {
    await store.events.append(event(m, 'ipxe-script-served', 10 + i, { sourceIp: '10.0.0.21', detail: { n: i } }));
    await store.events.append(
      event(m, 'state-changed', 20 + i, { state: 'installing', detail: { from: 'registered' } }),
    );
  }
  const repeated = await store.events.append(event(MACS[0]!, 'ipxe-script-served', 40));
  await store.events.repeat(repeated.id, at(41));
  await store.events.append(event(DISCOVERED, 'discovered', 30, { detail: { arch: 'x86_64' } }));
  await store.audit.append(audit('machine.create', 1, { target: MACS[0]!, detail: { hostname: 'cp-1' } }));
  await store.audit.append(audit('cluster.create', 2, { target: 'prod' }));
  const refused = await store.audit.append(
    audit('config.refused', 3, { actor: 'boot', target: MACS[1]!, sourceIp: '10.0.0.99', detail: { count: 1 } }),
  );
  await store.audit.setDetail(refused.id, { count: 4 });
  await store.tokens.issue(token(MACS[0]!, 'a'));
  await store.tokens.issue(token(MACS[1]!, 'b', { sourceIp: '10.0.0.22' }));
  const range = { first: 0x0a000064, last: 0x0a0000c8 }; // 10.0.0.100 – 10.0.0.200
  const now = Date.parse(at(50));
  const offered = await store.leases.allocate({
    mac: MACS[1]!,
    range,
    now,
    offerExpiresAt: now + 60_000,
    serverId: '10.0.0.2',
  });
  await store.leases.commit({
    mac: MACS[1]!,
    ip: offered!.ip,
    now,
    expiresAt: now + 3600_000,
    hostname: 'w-1',
    serverId: '10.0.0.3',
  });
  await store.leases.allocate({ mac: DISCOVERED, range, now, offerExpiresAt: now + 60_000 });
  const sealed = loadSecretBox(dataDir).seal(BMC_PASSWORD, MACS[0]!);
  await store.bmc.put(MACS[0]!, {
    driver: 'ipmi',
    address: '10.0.1.21:623',
    username: 'admin',
    systemId: null,
    insecureTls: false,
    caCert: null,
    passwordSealed: sealed,
    updatedAt: at(60),
  });
  await store.talosEvents.markSeen(MACS[0]!, 'cu9v1s0000000000000a');
  await store.talosEvents.markSeen(MACS[0]!, 'cu9v1s0000000000000b');
  for (const id of ['x1', 'x2'])
    await store.talosEvents.recordUnattributed({
      at: at(70),
      peerIp: '10.0.0.77',
      eventId: id,
      type: 'machine.PhaseEvent',
      payload: { phase: 'install', action: 'START', id },
    });
  const [first] = await store.talosEvents.listUnattributed({ limit: 1 });
  await store.talosEvents.claimUnattributed([first!.id], MACS[2]!);
  await store.progress.put(progress(MACS[0]!));
  await store.progress.put(progress(MACS[2]!, { stage: 'RUNNING', ready: true, unmetConditions: [] }));
  await store.flushed();
}

/** Everything readable through the API (ids included), in a form `t.same` compares. */
export async function storeContent(store: Store) {
  const machines = await store.machines.list();
  const macs = [...machines.map((m) => m.mac), mac(42)]; // one unknown MAC: absent everywhere
  const perMac = async <T>(f: (m: string) => Promise<T>) =>
    Object.fromEntries(await Promise.all(macs.map(async (m) => [m, await f(m)] as const)));
  return {
    clusters: await store.clusters.list(),
    clusterPages: await walk(
      1,
      (after) => store.clusters.page({ after, limit: 1 }),
      (c) => c.name,
    ),
    clusterUse: { prod: await store.clusters.machineCount('prod'), lab: await store.clusters.machineCount('lab') },
    machines,
    machinePages: await walk(
      2,
      (after) => store.machines.page({}, { after, limit: 2 }),
      (m) => m.mac,
    ),
    registered: await store.machines.list({ registered: true }),
    byLabel: await store.machines.list({ label: { key: 'rack', value: 'a' } }),
    byState: [...(await store.machines.countByState()).entries()].sort(),
    discovered: await store.machines.countDiscovered(),
    byIp: await store.machines.findByIp('10.0.0.21'),
    byUuid: await store.machines.findByUuid('4c4c4544-0000-0000-0000-000000000009'),
    events: await perMac((m) => store.events.list(m)),
    since: await store.events.since(0, 1000),
    latest: [...(await store.events.latest(macs)).entries()].sort(),
    audit: await store.audit.list({ limit: 1000 }),
    auditPages: await store.audit.list({ limit: 2, beforeId: (await store.audit.list({ limit: 1 }))[0]?.id }),
    tokens: await perMac((m) => store.tokens.forMachine(m)),
    bmc: await perMac((m) => store.bmc.get(m)),
    progress: await perMac((m) => store.progress.get(m)),
    leases: await store.leases.list(),
    leasesByMac: await perMac((m) => store.leases.listByMac(m)),
    unattributed: await store.talosEvents.listUnattributed(),
    unclaimed: await store.talosEvents.countUnattributed({ unclaimedOnly: true }),
  };
}
