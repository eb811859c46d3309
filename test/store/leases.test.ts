/**
 * The SQLite lease repo beyond the lease contract (test/helpers/store-conformance/leases.ts, run by
 * sqlite-conformance.test.ts): two instances on one database file, each with its own next-free
 * cursor (a hint only: the database decides), never hand out one address twice.
 */
import t from 'tap';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { AllocateRequest, LeaseRange, LeaseRepo } from '../../src/core/store/leases.js';

const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
const range = (first: string, last: string): LeaseRange => ({ first: ipToInt(first), last: ipToInt(last) });
const mac = (i: number) => `52:54:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const NOW = Date.parse('2026-01-01T00:00:00Z');
const HOLD = 60_000;

const offer = async (leases: LeaseRepo, m: string, r: LeaseRange, extra: Partial<AllocateRequest> = {}) => {
  const now = extra.now ?? NOW;
  return (await leases.allocate({ mac: m, range: r, now, offerExpiresAt: now + HOLD, ...extra }))?.ip;
};

t.test('two repos on one database file (two instances): stale cursors never double-allocate', async (t) => {
  const file = join(t.testdir({}), 'shared.db');
  const one = new SqliteStore(file);
  const two = new SqliteStore(file);
  t.teardown(async () => {
    await one.close();
    await two.close();
  });
  // A store may keep its write transaction open until the end of the event-loop turn (group
  // commit); two connections in one thread must let it commit before the other writes.
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const r = range('10.5.0.1', '10.5.0.40');
  const got: string[] = [];
  for (let i = 0; i < 40; i++) {
    got.push((await offer(i % 3 === 0 ? one.leases : two.leases, mac(i), r))!);
    await turn();
  }
  t.equal(new Set(got).size, 40, `distinct: ${got.join(' ')}`);
  t.equal(await offer(one.leases, mac(99), r), undefined);
  await turn();
  t.equal(await offer(two.leases, mac(99), r), undefined);
});
