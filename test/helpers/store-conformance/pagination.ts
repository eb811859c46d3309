import type { Test } from 'tap';
import { cluster, mac, machine, open, walk, type StoreFactory } from './fixtures.js';

/** Keyset paging as the API walks it: every row once, in order, whatever is inserted meanwhile. */
export function paginationConformance(t: Test, factory: StoreFactory): void {
  t.test('clusters.page: name order after a name; walking the pages lists every cluster once', async (t) => {
    const { store } = await open(t, factory);
    t.same(await store.clusters.page({ limit: 5 }), [], 'an empty store: an empty page');
    const names = Array.from({ length: 11 }, (_, i) => `c-${String.fromCharCode(97 + ((i * 7) % 11))}`); // inserted out of order
    for (const name of names) await store.clusters.insert(cluster(name));
    const sorted = [...names].sort();
    const pages = await walk(
      4,
      (after) => store.clusters.page({ after, limit: 4 }),
      (c) => c.name,
    );
    t.same(
      pages.map((p) => p.length),
      [4, 4, 3],
    );
    t.same(
      pages.flat().map((c) => c.name),
      sorted,
    );
    t.same(await store.clusters.page({ after: sorted[10], limit: 4 }), [], 'after the last name: empty');
    t.same(
      (await store.clusters.page({ after: 'c-b0', limit: 2 })).map((c) => c.name),
      ['c-c', 'c-d'],
      'after a name that is not stored',
    );
    t.same(
      (await store.clusters.page({ after: '', limit: 1 })).map((c) => c.name),
      ['c-a'],
      'after the empty name: from the start',
    );
  });

  t.test('clusters.page: a cluster created while paging lands where its name sorts', async (t) => {
    const { store } = await open(t, factory);
    for (const name of ['b', 'd', 'f', 'h']) await store.clusters.insert(cluster(name));
    const first = await store.clusters.page({ limit: 2 });
    t.same(
      first.map((c) => c.name),
      ['b', 'd'],
    );
    await store.clusters.insert(cluster('a')); // behind the cursor: not listed by this walk
    await store.clusters.insert(cluster('e')); // ahead: listed
    t.same(
      (await store.clusters.page({ after: 'd', limit: 10 })).map((c) => c.name),
      ['e', 'f', 'h'],
    );
  });

  t.test(
    'machines.page: walking a filter lists every match once, in MAC order, across inserts and deletes',
    async (t) => {
      const { store } = await open(t, factory);
      await store.clusters.insert(cluster('prod'));
      for (let n = 40; n >= 1; n--)
        await store.machines.insert(machine(mac(n), { cluster: n % 3 === 0 ? 'prod' : null }));
      const seen: string[] = [];
      let after: string | undefined;
      for (let round = 0; ; round++) {
        const page = await store.machines.page({ cluster: 'prod' }, { after, limit: 3 });
        seen.push(...page.map((m) => m.mac));
        if (page.length < 3) break;
        after = page.at(-1)!.mac;
        if (round === 1) {
          await store.machines.insert(machine(mac(0x100), { cluster: 'prod' })); // sorts after every other: listed
          await store.machines.insert(machine(mac(0), { cluster: 'prod' })); // before the cursor: not listed now
          await store.machines.delete(mac(39)); // ahead of the cursor: gone before it is reached
        }
      }
      const expected = Array.from({ length: 13 }, (_, i) => mac((i + 1) * 3))
        .filter((m) => m !== mac(39))
        .concat(mac(0x100));
      t.same(seen, expected);
      t.equal(new Set(seen).size, seen.length, 'no machine listed twice');
    },
  );
}
