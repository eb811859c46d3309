/**
 * metalboot's DHCP server on a hostile or busy segment, with ISC's perfdhcp (Debian kea-admin)
 * as the other party, inside namespaces the test creates on 10.253.61-62.x:
 * - a random-MAC DISCOVER flood (bounded: rate × seconds) exhausts the pool, and a reserved
 *   machine's busybox udhcpc still gets its reserved address, a registered one an address;
 * - perfdhcp's DORA exchanges with a client identifier: option 61 comes back in OFFER and ACK.
 * perfdhcp always acts as a relay agent (giaddr = its own address, NOTES.md): here its address is
 * in the served subnet, so both tests also prove that such a relay is served from the local pool.
 * Needs root; CI runs it, elsewhere it skips visibly.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createNetns, type TestLike } from '../helpers/netns.js';
import { capture, labAvailable, makeClientHost, startDhcpChild, udhcpc } from '../helpers/dhcp-lab.js';
import type { ChildConfig } from '../helpers/dhcp-server-child.js';

const PERFDHCP = '/usr/sbin/perfdhcp';
const RESERVED_MAC = '52:54:00:ab:61:02';
const REGISTERED_MAC = '52:54:00:ab:61:03';

function perfdhcpAvailable(t: TestLike): boolean {
  if (spawnSync(PERFDHCP, ['-v']).status === 0) return true;
  const reason = `${PERFDHCP} is missing (apt-get install kea-admin)`;
  if (process.env.CI) t.fail(reason);
  else t.pass('perfdhcp tests', { skip: reason });
  return false;
}

function authoritative(
  serverIp: string,
  prefix: string,
  range: string,
  extra: Partial<ChildConfig['server']> = {},
): ChildConfig['server'] {
  return {
    mode: 'authoritative',
    interface: 'eth0',
    serverIp,
    advertiseUrl: `http://${serverIp}:8080`,
    pool: { range: `${prefix}.${range}`, subnetMask: '255.255.255.0', router: serverIp, leaseTimeSec: 600 },
    ...extra,
  };
}

/** perfdhcp's report: `sent packets: N` / `received packets: N` per exchange type. */
function counts(report: string): { sent: number; received: number } {
  const sum = (re: RegExp) => [...report.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return { sent: sum(/sent packets: (\d+)/g), received: sum(/received packets: (\d+)/g) };
}

t.test(
  "random-MAC flood: a reserved machine's udhcpc gets its reserved address, a registered one an address",
  async (t) => {
    if (!labAvailable(t) || !perfdhcpAvailable(t)) return;
    const tmp = t.testdir({});
    const net = await createNetns(t, { hosts: 4, subnet: '10.253.61', bridge: true });
    const [srv, flooder, reserved, registered] = net.hosts;
    makeClientHost(reserved!.ns, RESERVED_MAC);
    makeClientHost(registered!.ns, REGISTERED_MAC);
    const server = await startDhcpChild(net, srv!.ns, {
      // Twenty addresses, a 60 s offer hold, warnings coalesced per 2 s (so a 6 s flood shows counts).
      server: authoritative(srv!.address, '10.253.61', '100-10.253.61.119', { exhaustionLogIntervalSec: 2 }),
      dbFile: join(tmp, 'metalboot.db'),
      reservations: { [RESERVED_MAC]: '10.253.61.110' },
      overrides: { [REGISTERED_MAC]: 'snponly.efi' },
    });
    let log = '';
    server.process.stderr?.on('data', (d: Buffer) => (log += d.toString()));

    // DISCOVER/OFFER only (-i), 300 a second for 6 s from up to 100,000 random MACs: at most 1,800.
    const flood = net.run(
      flooder!.ns,
      [PERFDHCP, '-4', '-i', '-l', flooder!.address, '-R', '100000', '-r', '300', '-p', '6', '-s', '61', srv!.address],
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1_500)); // the pool is gone within the first 100 ms
    const [mine, theirs] = await Promise.all([udhcpc(net, reserved!.ns, tmp), udhcpc(net, registered!.ns, tmp)]);
    const floodResult = await flood;

    const report = floodResult.stdout + floodResult.stderr;
    const { sent, received } = counts(report);
    t.ok(sent > 300, `the flood ran (${sent} DISCOVERs sent, ${received} OFFERs received)`);
    t.ok(received >= 19 && received < sent / 2, 'the pool answered until it was exhausted, then stayed silent');
    t.equal(mine.env?.ip, '10.253.61.110', 'the reserved machine got its reserved address during the flood');
    t.match(
      theirs.env?.ip,
      /^10\.253\.61\.1[01]\d$/,
      `the registered machine got a pool address during the flood (${theirs.result.stderr.trim().split('\n').at(-1)})`,
    );
    const exhausted = log.split('\n').filter((l) => l.includes('DHCP pool exhausted; DISCOVERs left unanswered'));
    const total = exhausted.reduce((n, l) => n + (JSON.parse(l) as { count: number }).count, 0);
    t.ok(
      exhausted.length >= 1 && exhausted.length <= 6,
      `exhaustion logged ${exhausted.length} times in ~6 s (one line per 2 s), not per packet`,
    );
    t.ok(total > 100, `the lines count the refused DISCOVERs (${total} so far)`);
    const stats = await server.stop();
    t.equal(stats?.errors, 0, 'no handler errors');
  },
);

t.test('perfdhcp DORA with a client identifier: option 61 is echoed in OFFER and ACK', async (t) => {
  if (!labAvailable(t) || !perfdhcpAvailable(t)) return;
  const tmp = t.testdir({});
  const net = await createNetns(t, { hosts: 2, subnet: '10.253.62' });
  const [srv, tester] = net.hosts;
  const server = await startDhcpChild(net, srv!.ns, {
    server: authoritative(srv!.address, '10.253.62', '100-10.253.62.199'),
    dbFile: join(tmp, 'metalboot.db'),
  });
  const cap = await capture(net, tester!.ns, tmp, 'udp port 67');
  // 20 full exchanges a second for 3 s from 20 clients. perfdhcp puts a client identifier
  // (hardware type 1 + the client's MAC) in every DISCOVER and REQUEST of its own.
  const run = await net.run(
    tester!.ns,
    [PERFDHCP, '-4', '-l', tester!.address, '-R', '20', '-r', '20', '-p', '3', srv!.address],
    30_000,
  );
  const text = await cap.stop();
  const report = run.stdout + run.stderr;
  const { sent, received } = counts(report);
  if (!t.ok(sent >= 40, `perfdhcp ran its exchanges (${sent} sent, ${received} received)`)) t.comment(report);
  t.ok(received >= sent * 0.9, 'and got its answers (relayed from the local subnet, answered to giaddr:67)');
  const replies = text.split(/\n(?=\d\d:\d\d)/).filter((p) => /Reply/.test(p));
  const offers = replies.filter((p) => /DHCP-Message \(53\), length 1: Offer/.test(p));
  const acks = replies.filter((p) => /DHCP-Message \(53\), length 1: ACK/.test(p));
  t.ok(offers.length > 10 && acks.length > 10, `tcpdump saw ${offers.length} OFFERs and ${acks.length} ACKs`);
  // The identifier in the reply must be the requesting client's own (tcpdump decodes both).
  const echoes = (p: string) => {
    const chaddr = /Client-Ethernet-Address ([0-9a-f:]{17})/.exec(p)?.[1];
    return chaddr !== undefined && p.includes(`Client-ID (61), length 7: ether ${chaddr}`);
  };
  t.equal(offers.filter(echoes).length, offers.length, 'every OFFER echoes option 61');
  t.equal(acks.filter(echoes).length, acks.length, 'every ACK echoes option 61');
  if (!offers.every(echoes)) t.comment(offers.find((p) => !echoes(p)));
  await server.stop();
});
