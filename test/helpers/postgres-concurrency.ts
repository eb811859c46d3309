/**
 * Two PostgresStore instances on one database, at once (postgres.test.ts): lease allocation and
 * commits hammered from both, and a reader paging the timeline while both append. The outcome is
 * checked in the database, whatever order the transactions ran in.
 */
import type { Test } from 'tap';
import { PostgresStore } from '../../src/store/postgres/store.js';
import type { PostgresServer } from './postgres-server.js';
import { ipToInt, range } from './store-conformance/leases.js';
import { event, mac } from './store-conformance/fixtures.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function two(t: Test, server: PostgresServer): Promise<[PostgresStore, PostgresStore, string]> {
  const url = await server.createDatabase();
  const a = await PostgresStore.open(url);
  const b = await PostgresStore.open(url);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  return [a, b, url];
}

export function concurrencyTests(t: Test, server: PostgresServer): void {
  t.test('two instances allocating and committing at once: one MAC per address, one binding per MAC', async (t) => {
    const [a, b] = await two(t, server);
    const r = range('10.20.0.1', '10.20.0.60');
    const reserved = new Set(['10.20.0.7', '10.20.0.13']); // for machines that are not asking
    const reservedForOther = async (ip: string) => {
      await turn(); // a real lookup yields: the other DISCOVERs interleave
      return reserved.has(ip);
    };
    const clients = Array.from({ length: 80 }, (_, i) => mac(i + 1));
    // Every client DISCOVERs through both instances at the same time.
    const offers = await Promise.all(
      clients.flatMap((m) =>
        [a, b].map(async (s) => ({
          mac: m,
          ip: (await s.leases.allocate({ mac: m, range: r, now: NOW, offerExpiresAt: NOW + 60_000, reservedForOther }))
            ?.ip,
        })),
      ),
    );
    const holders = new Map<string, Set<string>>();
    for (const o of offers) if (o.ip) holders.set(o.ip, (holders.get(o.ip) ?? new Set()).add(o.mac));
    t.same(
      [...holders].filter(([, macs]) => macs.size > 1),
      [],
      'no address was offered to two clients',
    );
    t.notOk(
      [...holders.keys()].some((ip) => reserved.has(ip) || ipToInt(ip) < r.first || ipToInt(ip) > r.last),
      'none reserved for another machine, all in the range',
    );
    t.equal(holders.size, 58, 'the 58 addresses not reserved, each to one client; the rest found the pool exhausted');

    // REQUEST: each client's ACK through both instances at once, while a stranger asks for the same address.
    const byMac = new Map<string, string>();
    for (const o of offers) if (o.ip) byMac.set(o.mac, o.ip);
    const stranger = mac(1000);
    const commits = await Promise.all(
      [...byMac].flatMap(([m, ip], i) => [
        ...[a, b].map(async (s) => ({
          m,
          lease: await s.leases.commit({ mac: m, ip, now: NOW + 1, expiresAt: NOW + 3_600_000, range: r }),
        })),
        ...(i % 3 === 0
          ? [
              (i % 2 ? a : b).leases
                .commit({ mac: stranger, ip, now: NOW + 1, expiresAt: NOW + 3_600_000, range: r })
                .then((lease) => ({ m: stranger, lease })),
            ]
          : []),
      ]),
    );
    t.ok(
      commits.filter((c) => c.m !== stranger).every((c) => c.lease?.state === 'bound'),
      "every client's ACK succeeded",
    );
    t.same(
      commits.filter((c) => c.m === stranger && c.lease),
      [],
      'a stranger never got an address offered to another',
    );
    const rows = await a.leases.list();
    const bound = rows.filter((l) => l.state === 'bound' && l.expiresAt > NOW + 1);
    const perMac = new Map<string, number>();
    for (const l of bound) perMac.set(l.mac, (perMac.get(l.mac) ?? 0) + 1);
    t.same(
      [...perMac].filter(([, n]) => n > 1),
      [],
      'no client holds two bindings in the pool',
    );
    t.equal(bound.length, 58);
    t.equal(new Set(rows.map((l) => l.ip)).size, rows.length, 'one row per address');
  });

  t.test('a reader paging by id while two instances append misses no event and sees none twice', async (t) => {
    const [a, b, url] = await two(t, server);
    const reader = await PostgresStore.open(url);
    t.teardown(() => reader.close());
    const N = 300;
    const writes = Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 ? a : b).events.append(event(mac(i % 7), `k${i}`, i))),
    );
    const seen: number[] = [];
    let last = 0;
    for (let round = 0; round < 5000 && seen.length < N; round++) {
      const page = await reader.events.since(last, 50);
      for (const e of page) seen.push(e.id);
      last = page.at(-1)?.id ?? last;
      if (page.length === 0) await turn();
    }
    const written = await writes;
    t.equal(seen.length, N, 'every event was seen by the reader that paged while they were written');
    t.same(
      seen,
      written.map((e) => e.id).sort((x, y) => x - y),
      'in id order, each once',
    );
  });
}
