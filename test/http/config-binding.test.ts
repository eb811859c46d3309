/**
 * --config-binding through fastify inject: an install script (with its config token) goes only to
 * a request tied to the machine's MAC — by the neighbour table, a DHCP sighting or the
 * reservation — and a request that is not tied gets a retrying script without a config URL, a
 * coalesced `config.binding-refused` audit entry, and leaves the machine's token and record alone.
 * The neighbour table here is a test double; test/http/config-binding-netns.test.ts reads the
 * kernel's, with real clients.
 */
import t, { type Test } from 'tap';
import type { ConfigBinding, NeighbourTable } from '../../src/core/binding/config-binding.js';
import { createMetrics } from '../../src/metrics/index.js';
import { clusterBody, configUrlOf, makeApp } from '../helpers/core-app.js';

const VICTIM = '52:54:00:aa:00:01';
const VICTIM_IP = '10.9.0.21';
const UUID = '4c4c4544-0031-3510-8052-b4c04f4e3132';
const ATTACKER = '52:54:00:bb:00:02';
const ATTACKER_IP = '10.9.0.66';

/** A neighbour table the test fills: ip → MACs. */
function neighbourTable(
  entries: Record<string, string[]> = {},
): NeighbourTable & { set(ip: string, mac: string): void } {
  const table = new Map(Object.entries(entries));
  return { macsFor: async (ip) => table.get(ip) ?? [], set: (ip, mac) => void table.set(ip, [mac]) };
}

async function setup(
  t: Test,
  configBinding: ConfigBinding,
  neighbours = neighbourTable({ [VICTIM_IP]: [VICTIM], [ATTACKER_IP]: [ATTACKER] }),
  machine: Record<string, unknown> = {},
) {
  const a = await makeApp(t, { configBinding, neighbours });
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const m = await a.api('POST', '/api/v1/machines', {
    mac: VICTIM,
    uuid: UUID,
    hostname: 'cp-1',
    role: 'controlplane',
    cluster: 'prod',
    ...machine,
  });
  t.equal(m.status, 201, m.body);
  const script = (query: string, ip: string) => a.get(`/ipxe?${query}&arch=x86_64&platform=efi`, ip);
  const audit = async (action: string) => (await a.store.audit.list()).filter((e) => e.action === action);
  return { ...a, script, audit, neighbours };
}

t.test(
  'neighbour: the entry for the source carries the MAC → install; another MAC → refused, token untouched',
  async (t) => {
    const a = await setup(t, ['neighbour']);
    const own = await a.script(`mac=${VICTIM}`, VICTIM_IP);
    t.equal(own.headers['x-metalboot-script'], 'install');
    const url = configUrlOf(own.body);
    const before = await a.store.tokens.forMachine(VICTIM);
    const seenBefore = (await a.store.machines.get(VICTIM))!.lastSeen;

    const stolen = await a.script(`mac=${VICTIM}`, ATTACKER_IP);
    t.equal(stolen.statusCode, 200);
    t.equal(stolen.headers['x-metalboot-script'], 'refused');
    t.notMatch(stolen.body, 'talos.config=', 'no config URL');
    t.notMatch(stolen.body, /^kernel /m, 'no kernel either');
    t.match(stolen.body, /^sleep \d+$/m, 'it retries…');
    t.match(stolen.body, /^chain --autofree http:\/\/10\.9\.0\.1:8080\/boot\.ipxe$/m);
    t.match(stolen.body, /^iseq \$\{metalboot-binding-tries\} \d+ && goto give_up/m, '…a bounded number of times');
    t.same(await a.store.tokens.forMachine(VICTIM), before, "the victim's token is untouched");
    t.same((await a.store.machines.get(VICTIM))!.lastSeen, seenBefore, 'nor what the machine was last seen as');
    t.equal((await a.get(url, ATTACKER_IP)).statusCode, 403, "the victim's URL does not work from the attacker either");
    const config = await a.get(url, VICTIM_IP);
    t.equal(config.statusCode, 200, 'the victim still gets its config');
    for (const [what, res] of [
      ['install script', own],
      ['refused script', stolen],
      ['config', config],
    ] as const)
      t.equal(res.headers['cache-control'], 'no-store', `${what}: cached by nothing in between`);

    const refused = await a.audit('config.binding-refused');
    t.equal(refused.length, 1);
    t.match(refused[0], {
      sourceIp: ATTACKER_IP,
      target: VICTIM,
      detail: {
        reason: 'the neighbour table holds another MAC for the source address',
        neighbour: [ATTACKER],
        count: 1,
      },
    });
  },
);

t.test('neighbour: no entry at all (routed, or loopback) → refused; loopback is no bypass', async (t) => {
  const a = await setup(t, ['neighbour']);
  for (const ip of ['10.20.0.5', '127.0.0.1']) {
    const r = await a.script(`mac=${VICTIM}`, ip);
    t.equal(r.headers['x-metalboot-script'], 'refused', ip);
  }
  t.equal(await a.store.tokens.forMachine(VICTIM), undefined, 'no token issued');
  t.match((await a.audit('config.binding-refused'))[0]?.detail, { reason: 'not tied to the MAC by neighbour' });
});

t.test(
  'dhcp: an ACK metalboot gave (authoritative, relayed too) or a REQUEST it overheard (proxy) ties the address',
  async (t) => {
    const a = await setup(t, ['dhcp'], neighbourTable());
    t.equal((await a.script(`mac=${VICTIM}`, VICTIM_IP)).headers['x-metalboot-script'], 'refused', 'nothing seen yet');
    await a.core.network.record({
      mac: VICTIM,
      messageType: 'REQUEST',
      reply: 'ACK',
      mode: 'authoritative',
      offeredIp: VICTIM_IP,
      relay: '10.9.0.254',
    });
    t.equal((await a.script(`mac=${VICTIM}`, VICTIM_IP)).headers['x-metalboot-script'], 'install', 'the lease it gave');
    t.equal(
      (await a.script(`mac=${VICTIM}`, ATTACKER_IP)).headers['x-metalboot-script'],
      'refused',
      'not another address',
    );

    await a.core.network.record({ mac: VICTIM, messageType: 'REQUEST', mode: 'proxy', clientIp: '10.9.0.22' });
    t.equal(
      (await a.script(`mac=${VICTIM}`, '10.9.0.22')).headers['x-metalboot-script'],
      'install',
      'proxy: the address it REQUESTed',
    );
    await a.core.network.record({
      mac: VICTIM,
      messageType: 'DISCOVER',
      reply: 'OFFER',
      mode: 'authoritative',
      offeredIp: '10.9.0.23',
    });
    t.equal(
      (await a.script(`mac=${VICTIM}`, '10.9.0.23')).headers['x-metalboot-script'],
      'refused',
      'an OFFER is not a lease',
    );

    // The address changes hands: the newest sighting counts.
    await a.core.network.record({
      mac: ATTACKER,
      messageType: 'REQUEST',
      reply: 'ACK',
      mode: 'authoritative',
      offeredIp: VICTIM_IP,
    });
    t.equal((await a.script(`mac=${VICTIM}`, VICTIM_IP)).headers['x-metalboot-script'], 'refused');

    // Sightings age out (an hour).
    a.clock.advance(3600_000 + 1);
    t.equal((await a.script(`mac=${VICTIM}`, '10.9.0.22')).headers['x-metalboot-script'], 'refused', 'too old');
  },
);

t.test('dhcp: a forged sighting does not beat a neighbour entry that names another MAC', async (t) => {
  const a = await setup(t, ['neighbour', 'dhcp']);
  // Proxy mode believes what a REQUEST names: the attacker claims its own address for the victim's MAC.
  await a.core.network.record({ mac: VICTIM, messageType: 'REQUEST', mode: 'proxy', clientIp: ATTACKER_IP });
  t.equal((await a.script(`mac=${VICTIM}`, ATTACKER_IP)).headers['x-metalboot-script'], 'refused');
  t.equal(await a.store.tokens.forMachine(VICTIM), undefined);
});

t.test("reservation: the machine's reserved address is the source", async (t) => {
  const a = await setup(t, ['reservation'], neighbourTable(), { ip: VICTIM_IP });
  t.equal((await a.script(`mac=${VICTIM}`, VICTIM_IP)).headers['x-metalboot-script'], 'install');
  t.equal((await a.script(`mac=${VICTIM}`, ATTACKER_IP)).headers['x-metalboot-script'], 'refused');
});

t.test('first-request: anyone who knows the MAC (the behaviour before binding)', async (t) => {
  const a = await setup(t, 'first-request', neighbourTable());
  const status = await a.api('GET', '/api/v1/server');
  t.equal(status.json.configBinding, 'first-request');
  t.match(
    status.json.warnings,
    [/any host that knows a registered MAC can fetch that machine's config/],
    'the dashboard banner says so',
  );
  const r = await a.script(`mac=${VICTIM}`, ATTACKER_IP);
  t.equal(r.headers['x-metalboot-script'], 'install');
  t.equal((await a.get(configUrlOf(r.body), ATTACKER_IP)).statusCode, 200, 'which is why it is not the default');
});

t.test('the UUID variant: another NIC matched only by UUID gets no token, whatever ties that NIC', async (t) => {
  const a = await setup(t, ['neighbour', 'dhcp', 'reservation'], undefined, { ip: ATTACKER_IP });
  // The attacker's own MAC is tied to its address on every count; the UUID is the victim's.
  await a.core.network.record({
    mac: ATTACKER,
    messageType: 'REQUEST',
    reply: 'ACK',
    mode: 'authoritative',
    offeredIp: ATTACKER_IP,
  });
  const r = await a.script(`mac=${ATTACKER}&uuid=${UUID}`, ATTACKER_IP);
  t.equal(r.headers['x-metalboot-script'], 'refused');
  t.equal(await a.store.tokens.forMachine(VICTIM), undefined);
  t.match((await a.audit('config.binding-refused'))[0], {
    target: VICTIM,
    detail: { reason: 'matched by UUID only, which any client can claim', nic: ATTACKER },
  });
});

t.test("a reimage's wipe boot is guarded too: a refused request does not revoke or mark the wipe", async (t) => {
  const a = await setup(t, ['neighbour']);
  const url = configUrlOf((await a.script(`mac=${VICTIM}`, VICTIM_IP)).body);
  t.equal((await a.get(url, VICTIM_IP)).statusCode, 200);
  t.equal((await a.api('PATCH', `/api/v1/machines/${VICTIM}`, { installed: true })).status, 200);
  t.equal((await a.api('POST', `/api/v1/machines/${VICTIM}/reimage`, {})).status, 202);
  t.equal((await a.script(`mac=${VICTIM}`, ATTACKER_IP)).headers['x-metalboot-script'], 'refused');
  t.equal((await a.store.machines.get(VICTIM))!.reimage?.wipeServedAt ?? null, null, 'the wipe is not marked served');
  t.equal((await a.script(`mac=${VICTIM}`, VICTIM_IP)).headers['x-metalboot-script'], 'wipe');
});

t.test('refusals are coalesced: one entry per source and reason per minute, with a count', async (t) => {
  const a = await setup(t, ['neighbour']);
  const metrics = createMetrics(a.core, { processMetrics: false });
  t.teardown(() => metrics.close());
  for (let i = 0; i < 25; i++) await a.script(`mac=${VICTIM}`, ATTACKER_IP);
  await Promise.all(Array.from({ length: 5 }, () => a.script(`mac=${VICTIM}`, ATTACKER_IP))); // concurrent ones too
  let refused = await a.audit('config.binding-refused');
  t.equal(refused.length, 1, 'one entry');
  t.equal(refused[0]!.detail.count, 30, 'counting every request');
  a.clock.advance(61_000);
  await a.script(`mac=${VICTIM}`, ATTACKER_IP);
  await a.script(`mac=${VICTIM}`, '10.9.0.67');
  refused = await a.audit('config.binding-refused');
  t.same(
    refused.map((e) => [e.sourceIp, e.detail.count]),
    [
      ['10.9.0.67', 1],
      [ATTACKER_IP, 1],
      [ATTACKER_IP, 30],
    ],
    'a new minute, a new source: new entries',
  );
  t.match(await metrics.scrape(), /metalboot_config_refusals_total\{reason="not-tied"\} 32/, 'the metric counts each');

  // Refused /config requests: the same coalescing, and on the timeline once per entry, not per request.
  for (let i = 0; i < 10; i++) await a.get(`/config/${VICTIM}?token=guess${i}`, ATTACKER_IP);
  const config = await a.audit('config.refused');
  t.equal(config.length, 1);
  t.equal(config[0]!.detail.count, 10);
  const events = await a.store.events.list(VICTIM);
  t.equal(events.filter((e) => e.kind === 'config-refused').length, 1);
});

t.test('coalescing is bounded: past its window cap, new sources share one entry', async (t) => {
  const { CoalescedAudit } = await import('../../src/core/binding/coalesced-audit.js');
  const a = await makeApp(t);
  const c = new CoalescedAudit(a.store, a.core.timeline, 60_000, 3);
  for (let i = 0; i < 10; i++)
    await c.note({
      actor: 'machine',
      action: 'config.refused',
      target: null,
      sourceIp: `10.0.0.${i}`,
      reason: 'no token',
    });
  t.equal(c.openWindows, 4, 'three sources and the shared entry');
  const rows = (await a.store.audit.list()).filter((e) => e.action === 'config.refused');
  t.equal(rows.length, 4);
  t.match(rows[0], { sourceIp: null, detail: { count: 7 } });
  a.clock.advance(60_000);
  await c.note({ actor: 'machine', action: 'config.refused', target: null, sourceIp: '10.0.1.1', reason: 'no token' });
  t.equal(c.openWindows, 1, 'closed windows are dropped when the cap is reached');
});

t.test(
  'a second source asking for a config already delivered this boot is a conflict: red timeline entry, audit, metric',
  async (t) => {
    const a = await setup(t, 'first-request', neighbourTable());
    const metrics = createMetrics(a.core, { processMetrics: false });
    t.teardown(() => metrics.close());
    const url = configUrlOf((await a.script(`mac=${VICTIM}`, VICTIM_IP)).body);
    t.equal((await a.get(url, VICTIM_IP)).statusCode, 200);
    t.equal((await a.get(url, VICTIM_IP)).statusCode, 200, 'the same machine again (Talos retries): no conflict');
    t.equal((await a.get(url, ATTACKER_IP)).statusCode, 403, 'another source with the URL');
    await a.script(`mac=${VICTIM}`, ATTACKER_IP); // and asking for a new script
    const events = (await a.store.events.list(VICTIM)).filter((e) => e.kind === 'config-conflict');
    t.equal(events.length, 1, 'on the timeline once (coalesced)');
    t.match(events[0], {
      sourceIp: ATTACKER_IP,
      detail: { severity: 'critical', deliveredTo: VICTIM_IP, route: '/config' },
    });
    const audit = await a.audit('config.conflict');
    t.equal(audit.length, 1);
    t.equal(audit[0]!.detail.count, 2);
    t.match(await metrics.scrape(), /metalboot_config_conflicts_total 2/);

    // A new token (here the attacker's first-request script) ends that boot: later requests are
    // measured against the next delivery.
    const again = configUrlOf((await a.script(`mac=${VICTIM}`, '10.9.0.30')).body);
    t.equal((await a.get(again, '10.9.0.30')).statusCode, 200);
    t.match(await metrics.scrape(), /metalboot_config_conflicts_total 2/, 'no conflict for a new boot');
    await a.get(again, VICTIM_IP);
    t.match(await metrics.scrape(), /metalboot_config_conflicts_total 3/, 'measured against the new delivery');
  },
);

t.test('the fast path makes the same decision as fastify', async (t) => {
  const a = await setup(t, ['neighbour'], neighbourTable({ '127.0.0.1': [ATTACKER] }));
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (a.app.server.address() as { port: number }).port;
  const served = a.app.bootFastPath.served;
  const res = await fetch(`http://127.0.0.1:${port}/ipxe?mac=${VICTIM}&arch=x86_64`);
  t.equal(a.app.bootFastPath.served, served + 1, 'answered by the fast path');
  t.equal(res.headers.get('x-metalboot-script'), 'refused');
  t.notMatch(await res.text(), 'talos.config=');
  a.neighbours.set('127.0.0.1', VICTIM);
  const own = await fetch(`http://127.0.0.1:${port}/ipxe?mac=${VICTIM}&arch=x86_64`);
  t.equal(own.headers.get('x-metalboot-script'), 'install');
});
