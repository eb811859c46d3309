/**
 * Leases of several DHCP servers on one lease table (issue 15): every row records which server
 * (its server identifier) made the offer or binding; `cancelOffers` drops only the named server's
 * offers and never the address kept; a client's pending offer made by another server is offered
 * again as it stands; a binding moves to the server that commits it. Run with two store instances
 * over the same data, as two metalboot processes on one database are.
 */
import type { Test } from 'tap';
import type { LeaseRepo } from '../../../src/core/ports/leases.js';
import { open, type StoreFactory } from './fixtures.js';
import { range } from './leases.js';

const A = '10.40.0.1';
const B = '10.40.0.2';
const M1 = '52:54:00:40:00:01';
const M2 = '52:54:00:40:00:02';
const NOW = Date.parse('2026-01-01T00:00:00Z');
const HOLD = 60_000;
const R = range('10.40.0.100', '10.40.0.120');
const turn = () => new Promise((resolve) => setImmediate(resolve));

const offer = (leases: LeaseRepo, mac: string, serverId: string | undefined, now = NOW) =>
  leases.allocate({ mac, range: R, now, offerExpiresAt: now + HOLD, serverId });

export function leaseServerConformance(t: Test, factory: StoreFactory): void {
  const pair = async (t: Test): Promise<[LeaseRepo, LeaseRepo]> => {
    const s = await open(t, factory);
    return [s.store.leases, (await s.another()).leases];
  };

  t.test('an offer and a binding record the server that made them', async (t) => {
    const [a] = await pair(t);
    const offered = await offer(a, M1, A);
    t.equal(offered?.serverId, A, 'allocate returns it');
    t.equal((await a.get(offered!.ip))?.serverId, A, 'and the row holds it');
    const bound = await a.commit({ mac: M1, ip: offered!.ip, now: NOW + 1, expiresAt: NOW + 3600_000, serverId: A });
    t.equal(bound?.serverId, A);
    t.same(bound, await a.get(offered!.ip), 'commit returns the row as stored');
    const anonymous = await offer(a, M2, undefined);
    t.equal(anonymous?.serverId, null, 'no server named: null');
    t.equal((await a.listByMac(M2))[0]?.serverId, null);
  });

  t.test("both servers allocate for one client: one address, the first server's offer kept", async (t) => {
    const [a, b] = await pair(t);
    const fromA = await offer(a, M1, A);
    await turn();
    const fromB = await offer(b, M1, B, NOW + 5);
    t.equal(fromB?.ip, fromA?.ip, 'B offers the address A offered');
    t.equal(fromB?.serverId, A, "B returns A's offer as it stands");
    const row = await b.get(fromA!.ip);
    t.equal(row?.serverId, A, 'the row is still A’s');
    t.equal(row?.updatedAt, NOW, 'not rewritten');
    t.equal((await a.list()).filter((l) => l.mac === M1).length, 1, 'one row for the client');
    // A repeated DISCOVER to A refreshes A's own offer.
    await turn();
    const again = await offer(a, M1, A, NOW + 10);
    t.equal(again?.ip, fromA?.ip);
    t.equal((await a.get(fromA!.ip))?.updatedAt, NOW + 10, "A's own offer is renewed");
    // Another client on B gets another address.
    await turn();
    t.not((await offer(b, M2, B))?.ip, fromA?.ip, 'never the same address to two MACs');
  });

  t.test('20 clients, each heard by both instances in either order: one address each, never shared', async (t) => {
    const [a, b] = await pair(t);
    const macs = Array.from({ length: 20 }, (_, i) => `52:54:00:41:00:${i.toString(16).padStart(2, '0')}`);
    const ips: string[] = [];
    for (const [i, m] of macs.entries()) {
      // Alternate which instance hears the DISCOVER first (a turn between instances: see StoreUnderTest.another).
      const order: Array<[LeaseRepo, string]> =
        i % 2 === 0
          ? [
              [a, A],
              [b, B],
            ]
          : [
              [b, B],
              [a, A],
            ];
      const one = await offer(order[0]![0], m, order[0]![1]);
      await turn();
      const two = await offer(order[1]![0], m, order[1]![1]);
      await turn();
      t.equal(two?.ip, one?.ip, `${m}: both servers offer one address`);
      t.equal(two?.serverId, order[0]![1], 'the offer stays the first server’s');
      ips.push(one!.ip);
    }
    t.equal(new Set(ips).size, 20, 'twenty clients, twenty addresses');
    t.equal((await a.list()).filter((l) => l.state === 'offered').length, 20, 'one offer row per client');
  });

  t.test('cancelOffers drops only the named server’s offers, and never the address kept', async (t) => {
    const [a, b] = await pair(t);
    const r2 = range('10.41.0.100', '10.41.0.120');
    const mine = await offer(a, M1, A); // A's offer in R
    await turn();
    const elsewhere = await b.allocate({ mac: M1, range: r2, now: NOW, offerExpiresAt: NOW + HOLD, serverId: B });
    await turn();
    t.equal(await b.cancelOffers(M1, NOW + 1, B, mine!.ip), 1, 'B cancels its own offer (in the other pool)');
    await turn();
    t.equal((await a.get(elsewhere!.ip))?.state, 'released');
    t.equal((await a.get(mine!.ip))?.state, 'offered', "A's offer stays");
    t.equal(await b.cancelOffers(M1, NOW + 2, B), 0, 'nothing of B left');
    await turn();
    t.equal(await a.cancelOffers(M1, NOW + 3, A, mine!.ip), 0, 'the address the client asks for is kept');
    t.equal((await a.get(mine!.ip))?.state, 'offered');
    t.equal(await a.cancelOffers(M1, NOW + 4, A), 1, 'without keep, A cancels its own offer');
    t.equal((await a.get(mine!.ip))?.state, 'released');
    t.equal(await a.cancelOffers(M1, NOW + 5, null), 0, 'null names rows with no server only');
  });

  t.test('a binding made by one server is renewed by the other, and becomes its own', async (t) => {
    const [a, b] = await pair(t);
    const offered = await offer(a, M1, A);
    await a.commit({ mac: M1, ip: offered!.ip, now: NOW + 1, expiresAt: NOW + 3600_000, range: R, serverId: A });
    await turn();
    const again = await offer(b, M1, B, NOW + 2);
    t.equal(again?.ip, offered?.ip, 'B offers the client its binding (made by A)');
    t.equal(again?.state, 'bound', 'unchanged: still bound');
    const renewed = await b.commit({
      mac: M1,
      ip: offered!.ip,
      now: NOW + 3,
      expiresAt: NOW + 7200_000,
      range: R,
      serverId: B,
    });
    t.equal(renewed?.serverId, B, 'the binding is now B’s');
    await turn();
    const rows = (await a.listByMac(M1)).filter((l) => l.state === 'bound');
    t.same(
      rows.map((l) => [l.ip, l.serverId, l.expiresAt]),
      [[offered!.ip, B, NOW + 7200_000]],
      'one binding for the client, seen by both instances',
    );
  });
}
