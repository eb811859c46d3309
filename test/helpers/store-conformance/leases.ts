/**
 * The lease repo's contract: allocation order, the next-free cursor (from the interface: the search
 * starts where the last never-used allocation in the range ended), `exclude`, the per-candidate
 * `reservedForOther` question, offer reclaiming, commit / release / decline / cancelOffers, and two
 * instances over one store.
 */
import type { Test } from 'tap';
import type { AllocateRequest, LeaseRange, LeaseRepo } from '../../../src/core/ports/leases.js';
import { open, type StoreFactory } from './fixtures.js';

export const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
export const range = (first: string, last: string): LeaseRange => ({ first: ipToInt(first), last: ipToInt(last) });
const mac = (i: number) =>
  `52:54:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const NOW = Date.parse('2026-01-01T00:00:00Z');
const HOLD = 60_000;

const offer = async (leases: LeaseRepo, m: string, r: LeaseRange, extra: Partial<AllocateRequest> = {}) => {
  const now = extra.now ?? NOW;
  return (await leases.allocate({ mac: m, range: r, now, offerExpiresAt: now + HOLD, ...extra }))?.ip;
};

const bind = async (leases: LeaseRepo, m: string, ip: string, now = NOW) =>
  leases.commit({ mac: m, ip, now, expiresAt: now + 3600_000 });

export function leaseConformance(t: Test, factory: StoreFactory): void {
  const repo = async (t: Test): Promise<LeaseRepo> => (await open(t, factory)).store.leases;

  t.test('many allocations in sequence: distinct, in order, inside the range, then exhausted', async (t) => {
    const leases = await repo(t);
    const r = range('10.1.0.10', '10.1.1.9'); // 256 addresses across an octet boundary
    const got: string[] = [];
    for (let i = 0; i < 256; i++) got.push((await offer(leases, mac(i), r))!);
    t.equal(new Set(got).size, 256, 'all distinct');
    t.ok(
      got.every((ip) => ipToInt(ip) >= r.first && ipToInt(ip) <= r.last),
      'all inside the range',
    );
    t.same(got.slice(0, 3), ['10.1.0.10', '10.1.0.11', '10.1.0.12'], 'lowest never-used addresses first');
    t.same(got.slice(-2), ['10.1.1.8', '10.1.1.9']);
    t.equal(await offer(leases, mac(999), r), undefined, 'exhausted');
    t.equal(await offer(leases, mac(17), r), got[17], 'a repeated DISCOVER keeps its address');
  });

  t.test('past the cursor the search wraps to the range start, then reuses the longest-free address', async (t) => {
    const leases = await repo(t);
    const r = range('10.2.0.1', '10.2.0.20');
    // .3 is kept out while the first ten are handed out: a never-used address below the cursor.
    for (let i = 0; i < 10; i++) await offer(leases, mac(i), r, { exclude: new Set(['10.2.0.3']) });
    t.equal((await leases.get('10.2.0.11'))?.mac, mac(9), 'the cursor is now at .12');
    // The rest of the range is taken without moving the cursor (requested addresses).
    for (let n = 12; n <= 20; n++)
      t.equal(await offer(leases, mac(100 + n), r, { requested: `10.2.0.${n}` }), `10.2.0.${n}`);
    t.equal(await offer(leases, mac(50), r), '10.2.0.3', 'nothing free from the cursor up: wrapped and found .3');
    t.equal(await offer(leases, mac(51), r), undefined, 'every address held: exhausted, no endless search');

    await bind(leases, mac(4), '10.2.0.6');
    t.ok(await leases.release(mac(4), '10.2.0.6', NOW + 1000), 'a client in the middle releases its address');
    t.equal(
      await offer(leases, mac(52), r, { now: NOW + 2000 }),
      '10.2.0.6',
      'no never-used address left: the released one',
    );

    const later = NOW + HOLD + 1; // every other offer has expired
    t.equal(
      await offer(leases, mac(53), r, { now: later }),
      '10.2.0.1',
      'expired offers come back, longest-free first',
    );
    t.equal(await offer(leases, mac(54), r, { now: later }), '10.2.0.2');
  });

  t.test('a changed or shrunk range does not use the old cursor', async (t) => {
    const leases = await repo(t);
    const wide = range('10.3.0.1', '10.3.0.20');
    for (let i = 0; i < 15; i++) await offer(leases, mac(i), wide); // .1-.15, cursor at .16
    const shrunk = range('10.3.0.1', '10.3.0.12');
    t.equal(
      await offer(leases, mac(30), shrunk),
      undefined,
      'cursor beyond the shrunk range: nothing outside it is offered',
    );
    const moved = range('10.3.0.5', '10.3.0.40');
    t.equal(
      await offer(leases, mac(31), moved),
      '10.3.0.16',
      'another range starts at its own start and skips held addresses',
    );
    const grown = range('10.3.0.1', '10.3.0.18');
    t.equal(await offer(leases, mac(32), grown), '10.3.0.17');
    t.equal(await offer(leases, mac(33), grown), '10.3.0.18');
    t.equal(await offer(leases, mac(34), grown), undefined);
    t.equal(
      await offer(leases, mac(35), wide),
      '10.3.0.19',
      'the first range continues where the database says, not its stale cursor',
    );
    t.equal(
      await offer(leases, mac(36), range('10.3.0.16', '10.3.0.16')),
      undefined,
      'a one-address range that is held',
    );
  });

  t.test('the exclude set wins over the cursor and over every preference', async (t) => {
    const leases = await repo(t);
    const r = range('10.4.0.1', '10.4.0.10');
    const A = mac(1);
    t.equal(await offer(leases, A, r), '10.4.0.1');
    t.equal(
      await offer(leases, mac(2), r, { exclude: new Set(['10.4.0.2', '10.4.0.3']) }),
      '10.4.0.4',
      "the cursor's next address is excluded",
    );
    t.equal(
      await offer(leases, mac(3), r, { requested: '10.4.0.7', exclude: new Set(['10.4.0.7']) }),
      '10.4.0.5',
      'requested but excluded',
    );
    t.equal(
      await offer(leases, A, r, { exclude: new Set(['10.4.0.1']) }),
      '10.4.0.6',
      "the client's own offer, now excluded",
    );
    t.equal(await offer(leases, mac(4), r), '10.4.0.7');
    const all = new Set(Array.from({ length: 10 }, (_, i) => `10.4.0.${i + 1}`));
    t.equal(
      await offer(leases, mac(5), r, { exclude: all }),
      undefined,
      'everything excluded: nothing, and the loops end',
    );
    t.equal(
      await offer(leases, mac(5), r, { reserved: '10.4.0.9', exclude: all }),
      '10.4.0.9',
      'the own reservation is not subject to exclude',
    );
  });

  t.test('reservedForOther: asked per candidate, reserved ones skipped, own reservation never asked', async (t) => {
    const leases = await repo(t);
    const r = range('10.6.0.1', '10.6.0.30');
    const reserved = new Set(Array.from({ length: 10 }, (_, i) => `10.6.0.${i + 1}`)); // the start of the range
    const asked: string[] = [];
    const reservedForOther = async (ip: string) => {
      asked.push(ip);
      await new Promise((resolve) => setImmediate(resolve)); // a real lookup yields: let others interleave
      return reserved.has(ip);
    };
    t.equal(
      await offer(leases, mac(1), r, { reservedForOther }),
      '10.6.0.11',
      'reserved addresses at the start are skipped',
    );
    t.equal(asked.length, 11, 'one question per candidate');
    for (const ip of reserved) t.equal(await leases.get(ip), undefined, `the claim on ${ip} was undone`);
    asked.length = 0;
    t.equal(await offer(leases, mac(2), r, { reservedForOther }), '10.6.0.12');
    t.same(asked, ['10.6.0.12'], 'the cursor is past them: one question');

    asked.length = 0;
    t.equal(
      await offer(leases, mac(3), r, { reserved: '10.6.0.5', reservedForOther }),
      '10.6.0.5',
      'the own reservation',
    );
    t.same(asked, [], 'and it is not asked about');

    // Concurrent DISCOVERs each claim a different address: nobody waits on another's candidate.
    asked.length = 0;
    const burst = await Promise.all(
      Array.from({ length: 15 }, (_, i) => offer(leases, mac(10 + i), r, { reservedForOther })),
    );
    t.equal(new Set(burst).size, 15, `distinct: ${burst.join(' ')}`);
    t.ok(
      burst.every((ip) => ip && !reserved.has(ip)),
      'none reserved',
    );
    t.equal(asked.length, 15, 'one question each');
    t.equal(await offer(leases, mac(40), r, { reservedForOther }), '10.6.0.28');
  });

  t.test(
    'reservedForOther: a held address that became reserved is left; a failing question undoes the claim',
    async (t) => {
      const leases = await repo(t);
      const r = range('10.7.0.1', '10.7.0.5');
      const A = mac(1);
      t.equal(await offer(leases, A, r), '10.7.0.1');
      await bind(leases, A, '10.7.0.1');
      const nowReserved = async (ip: string) => ip === '10.7.0.1';
      t.equal(
        await offer(leases, A, r, { reservedForOther: nowReserved }),
        '10.7.0.2',
        'its bound address is reserved for another machine now',
      );
      t.equal(
        (await leases.get('10.7.0.1'))?.state,
        'bound',
        'the bound lease is untouched (the ACK of the new one releases it)',
      );

      t.equal(await offer(leases, mac(2), r), '10.7.0.3');
      const failing = async (): Promise<boolean> => {
        throw new Error('registry unavailable');
      };
      await t.rejects(offer(leases, mac(3), r, { reservedForOther: failing }), /registry unavailable/);
      t.equal(await leases.get('10.7.0.4'), undefined, 'never-used address claimed and given back');
      await t.rejects(offer(leases, mac(2), r, { reservedForOther: failing }), /registry unavailable/);
      t.equal(
        (await leases.get('10.7.0.3'))?.state,
        'released',
        'a re-offer that could not be checked does not keep the address held',
      );
      t.equal(await offer(leases, mac(4), r), '10.7.0.5', 'the cursor moved on when .4 was claimed');
      t.equal(await offer(leases, mac(5), r), '10.7.0.4', 'nothing is left held by the failures: the wrap finds .4');
      t.equal(await offer(leases, mac(6), r), '10.7.0.3', 'and .3 is free again');
    },
  );

  t.test('allocate and commit return the row as stored', async (t) => {
    const leases = await repo(t);
    const r = range('10.1.0.10', '10.1.0.19');
    const offered = await leases.allocate({ mac: mac(1), range: r, now: NOW, offerExpiresAt: NOW + HOLD });
    t.same(offered, await leases.get(offered!.ip), 'offer');
    const bound = await leases.commit({
      mac: mac(1),
      ip: offered!.ip,
      now: NOW + 1,
      expiresAt: NOW + 3600_000,
      hostname: 'node-1',
      range: r,
    });
    t.same(bound, await leases.get(offered!.ip), 'lease with a hostname');
    const renewed = await leases.commit({ mac: mac(1), ip: offered!.ip, now: NOW + 2, expiresAt: NOW + 7200_000 });
    t.equal(renewed?.hostname, 'node-1', 'a renewal without option 12 keeps the hostname');
    t.same(renewed, await leases.get(offered!.ip));
    const again = await leases.allocate({ mac: mac(1), range: r, now: NOW + 3, offerExpiresAt: NOW + HOLD });
    t.same(again, await leases.get(offered!.ip), 'a DISCOVER from a bound client returns its lease unchanged');
  });

  t.test('a full range hands over the oldest unconfirmed offer only when allowed, never a bound lease', async (t) => {
    const leases = await repo(t);
    const r = range('10.1.0.10', '10.1.0.12');
    await offer(leases, mac(1), r, { now: NOW });
    await offer(leases, mac(2), r, { now: NOW + 1 });
    await bind(leases, mac(3), (await offer(leases, mac(3), r, { now: NOW + 2 }))!, NOW + 2);
    t.equal(await offer(leases, mac(4), r, { now: NOW + 5 }), undefined, 'exhausted; reclaiming not asked for');
    t.equal(
      await offer(leases, mac(4), r, { now: NOW + 5, reclaimOffersMadeBefore: NOW - 1 }),
      undefined,
      'no offer that old',
    );
    const taken = await leases.allocate({
      mac: mac(4),
      range: r,
      now: NOW + 5,
      offerExpiresAt: NOW + 5 + HOLD,
      reclaimOffersMadeBefore: NOW + 5,
    });
    t.equal(taken?.ip, '10.1.0.10', 'the oldest offer');
    t.equal(taken?.reclaimedFrom, mac(1), 'names whose offer it was');
    t.equal((await leases.get('10.1.0.10'))?.mac, mac(4));
    const next = await leases.allocate({
      mac: mac(5),
      range: r,
      now: NOW + 6,
      offerExpiresAt: NOW + 6 + HOLD,
      reclaimOffersMadeBefore: NOW + 6,
    });
    t.equal(next?.ip, '10.1.0.11', 'then the next oldest; the bound lease (10.1.0.12) is never taken');
    t.equal(await offer(leases, mac(2), r, { now: NOW + 7 }), undefined, 'the client that lost its offer has none now');
  });

  t.test(
    'allocation order: the reservation, then the current offer or lease, the requested address, the previous one',
    async (t) => {
      const leases = await repo(t);
      const r = range('10.8.0.10', '10.8.0.30');
      const A = mac(1);
      t.equal(await offer(leases, A, r, { reserved: '10.9.9.9' }), '10.9.9.9', 'a reservation outside the range');
      t.equal(await offer(leases, A, r, { reserved: '10.9.9.9', now: NOW + 1 }), '10.9.9.9', 'again');
      t.equal(await offer(leases, mac(2), r), '10.8.0.10');
      t.equal(
        await offer(leases, mac(2), r, { requested: '10.8.0.20' }),
        '10.8.0.10',
        'its current offer wins over a requested address',
      );
      t.equal(await offer(leases, mac(3), r, { requested: '10.8.0.20' }), '10.8.0.20', 'requested, in range and free');
      t.equal(
        await offer(leases, mac(4), r, { requested: '10.8.0.20' }),
        '10.8.0.11',
        'requested but held by another: the next free',
      );
      t.equal(
        await offer(leases, mac(5), r, { requested: '10.8.1.1' }),
        '10.8.0.12',
        'requested outside the range: ignored',
      );
      t.ok(await leases.release(mac(3), '10.8.0.20', NOW + 10));
      t.equal(
        await offer(leases, mac(3), r, { now: NOW + 20 }),
        '10.8.0.20',
        'a released address is kept for its previous client',
      );
      t.equal(
        await offer(leases, mac(6), r, { reserved: '10.8.0.20', now: NOW + 30 }),
        '10.8.0.13',
        'a reservation held by another client is not taken',
      );
      t.equal((await leases.get('10.8.0.20'))?.mac, mac(3));
    },
  );

  t.test('commit: binds a free or own address, refuses one another client holds or that is quarantined', async (t) => {
    const leases = await repo(t);
    const r = range('10.9.0.10', '10.9.0.20');
    t.equal(await offer(leases, mac(1), r), '10.9.0.10');
    t.equal(await bind(leases, mac(2), '10.9.0.10'), undefined, "another client's offer");
    const lease = await leases.commit({
      mac: mac(1),
      ip: '10.9.0.10',
      now: NOW + 1,
      expiresAt: NOW + 1000,
      hostname: 'node-1',
    });
    t.same(lease, {
      ip: '10.9.0.10',
      mac: mac(1),
      state: 'bound',
      expiresAt: NOW + 1000,
      updatedAt: NOW + 1,
      hostname: 'node-1',
      serverId: null,
    });
    t.equal(await bind(leases, mac(2), '10.9.0.10', NOW + 2), undefined, "another client's lease");
    t.equal(
      (await bind(leases, mac(2), '10.9.0.10', NOW + 1000))?.mac,
      mac(2),
      'expired: free again (INIT-REBOOT after an expiry is ACKed)',
    );
    t.equal((await bind(leases, mac(3), '10.9.0.15'))?.state, 'bound', 'a never-used address, without an offer');
    t.equal((await bind(leases, mac(3), '10.9.1.99'))?.state, 'bound', 'commit does not check the range');
    t.ok(await leases.decline(mac(3), '10.9.0.15', NOW + 5, NOW + 500));
    t.equal(
      await bind(leases, mac(3), '10.9.0.15', NOW + 6),
      undefined,
      'quarantined, even for the client that declined it',
    );
    t.equal(await bind(leases, mac(4), '10.9.0.15', NOW + 6), undefined, 'and for anyone else');
    t.equal((await bind(leases, mac(4), '10.9.0.15', NOW + 500))?.mac, mac(4), 'after the quarantine');
  });

  t.test("commit with a range releases the client's other active leases in it", async (t) => {
    const leases = await repo(t);
    const r = range('10.10.0.10', '10.10.0.20');
    await bind(leases, mac(1), '10.10.0.10');
    await bind(leases, mac(1), '10.11.0.10');
    await leases.allocate({
      mac: mac(1),
      range: r,
      now: NOW + 1,
      offerExpiresAt: NOW + HOLD,
      requested: '10.10.0.12',
      reservedForOther: async (ip) => ip === '10.10.0.10',
    });
    t.equal((await leases.get('10.10.0.12'))?.state, 'offered');
    await leases.commit({ mac: mac(1), ip: '10.10.0.12', now: NOW + 2, expiresAt: NOW + 3600_000, range: r });
    t.equal((await leases.get('10.10.0.10'))?.state, 'released', 'the old lease in the range');
    t.equal((await leases.get('10.10.0.12'))?.state, 'bound');
    t.equal((await leases.get('10.11.0.10'))?.state, 'bound', 'a lease in another range stays');
    t.equal((await leases.listByMac(mac(1))).length, 3, 'released rows stay, remembered for the client');
  });

  t.test(
    "release: only the client's own active offer or lease; the address is free, remembered for the client",
    async (t) => {
      const leases = await repo(t);
      const r = range('10.12.0.10', '10.12.0.11');
      await bind(leases, mac(1), (await offer(leases, mac(1), r))!);
      await offer(leases, mac(2), r);
      t.equal(await leases.release(mac(2), '10.12.0.10', NOW + 1), false, 'not its lease');
      t.equal(await leases.release(mac(1), '10.12.0.99', NOW + 1), false, 'an address never leased');
      t.equal(await leases.release(mac(1), '10.12.0.10', NOW + 3600_001), false, 'expired: nothing to release');
      t.equal(await leases.release(mac(1), '10.12.0.10', NOW + 1), true);
      t.match(await leases.get('10.12.0.10'), { mac: mac(1), state: 'released' });
      t.equal(await leases.release(mac(1), '10.12.0.10', NOW + 2), false, 'twice: false');
      t.equal(await offer(leases, mac(3), r, { now: NOW + 3 }), '10.12.0.10', 'free for anyone when nothing else is');
      t.equal(await leases.release(mac(2), '10.12.0.11', NOW + 4), true, 'an offer can be released too');
    },
  );

  t.test('decline: only by the client it was offered or leased to; quarantined until the time given', async (t) => {
    const leases = await repo(t);
    const r = range('10.13.0.10', '10.13.0.11');
    t.equal(await offer(leases, mac(1), r), '10.13.0.10');
    t.equal(await leases.decline(mac(2), '10.13.0.10', NOW + 1, NOW + 10_000), false, 'another client cannot');
    t.equal(await leases.decline(mac(2), '10.13.0.11', NOW + 1, NOW + 10_000), false, 'nor decline a free address');
    t.equal(await leases.decline(mac(1), '10.13.0.10', NOW + 1, NOW + 10_000), true);
    t.match(await leases.get('10.13.0.10'), { state: 'declined', expiresAt: NOW + 10_000 });
    t.equal(await offer(leases, mac(1), r, { now: NOW + 2 }), '10.13.0.11', 'the decliner gets another address');
    t.equal(await offer(leases, mac(3), r, { now: NOW + 3 }), undefined, 'nobody gets the quarantined one');
    t.equal(
      await leases.decline(mac(1), '10.13.0.10', NOW + 4, NOW + 20_000),
      false,
      'a quarantined address cannot be declined again',
    );
    t.equal(await offer(leases, mac(3), r, { now: NOW + 10_000 }), '10.13.0.10', 'after the quarantine');
  });

  t.test("cancelOffers: the client's pending offers go, its bound lease stays", async (t) => {
    const leases = await repo(t);
    const r = range('10.14.0.10', '10.14.0.20');
    const other = range('10.15.0.10', '10.15.0.20');
    await offer(leases, mac(1), r);
    await offer(leases, mac(1), other);
    await bind(leases, mac(1), '10.14.0.15');
    await offer(leases, mac(2), r);
    t.equal(await leases.cancelOffers(mac(1), NOW + 1, null), 2, 'both pending offers (made with no server named)');
    t.equal((await leases.get('10.14.0.10'))?.state, 'released');
    t.equal((await leases.get('10.15.0.10'))?.state, 'released');
    t.equal((await leases.get('10.14.0.15'))?.state, 'bound', 'the lease stays');
    t.equal((await leases.get('10.14.0.11'))?.state, 'offered', "another client's offer stays");
    t.equal(await leases.cancelOffers(mac(1), NOW + 2, null), 0, 'none left');
    t.equal(await leases.cancelOffers(mac(2), NOW + HOLD + 1, null), 0, 'an expired offer is not pending');
  });

  t.test('get, listByMac and list: one row per address ever used', async (t) => {
    const leases = await repo(t);
    t.same(await leases.list(), []);
    t.same(await leases.listByMac(mac(1)), []);
    t.equal(await leases.get('10.16.0.10'), undefined);
    const r = range('10.16.0.10', '10.16.0.20');
    await offer(leases, mac(1), r, { now: NOW });
    await bind(leases, mac(2), '10.16.0.15', NOW + 1);
    await bind(leases, mac(1), '10.16.0.12', NOW + 2);
    await leases.commit({ mac: mac(1), ip: '10.16.0.18', now: NOW + 3, expiresAt: NOW + 5000, hostname: 'h' });
    t.same(
      (await leases.listByMac(mac(1))).map((l) => l.ip),
      ['10.16.0.18', '10.16.0.12', '10.16.0.10'],
      'most recently updated first',
    );
    t.same(
      (await leases.list()).map((l) => [l.ip, l.mac, l.state]),
      [
        ['10.16.0.10', mac(1), 'offered'],
        ['10.16.0.12', mac(1), 'bound'],
        ['10.16.0.15', mac(2), 'bound'],
        ['10.16.0.18', mac(1), 'bound'],
      ],
      'in address order',
    );
    t.same(await leases.get('10.16.0.18'), {
      ip: '10.16.0.18',
      mac: mac(1),
      state: 'bound',
      expiresAt: NOW + 5000,
      updatedAt: NOW + 3,
      hostname: 'h',
      serverId: null,
    });
  });

  t.test('two instances over one store: their own next-free cursors never hand out one address twice', async (t) => {
    const s = await open(t, factory);
    const one = s.store.leases;
    const two = (await s.another()).leases;
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const r = range('10.5.0.1', '10.5.0.40');
    const got: string[] = [];
    for (let i = 0; i < 40; i++) {
      got.push((await offer(i % 3 === 0 ? one : two, mac(i), r))!);
      await turn();
    }
    t.equal(new Set(got).size, 40, `distinct: ${got.join(' ')}`);
    t.equal(await offer(one, mac(99), r), undefined);
    await turn();
    t.equal(await offer(two, mac(99), r), undefined);
  });
}
