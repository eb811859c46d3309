/**
 * Two authoritative DHCP handlers (two metalboot instances, each with its own server identifier)
 * over one lease table, without sockets: every datagram is handed to the instances the test names,
 * in the order it names, as two servers on one segment hear one broadcast. The stores are the
 * in-memory fake (two instances over one data set) or two PostgresStores on one database.
 */
import type { Test } from 'tap';
import type { LeaseRepo } from '../../src/core/ports/leases.js';
import type { HandlerContext } from '../../src/dhcp/context.js';
import { createDhcpHandler, type Outgoing } from '../../src/dhcp/handler.js';
import { handlerContext } from '../../src/dhcp/server.js';
import type { DhcpServerOptions } from '../../src/dhcp/types.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { clientPacket, type ClientPacketSpec } from './dhcp-packets.js';
import { type Reply, silentLogger, type StubCore, stubCore, toReply } from './dhcp-rig.js';
import { MemoryStore } from './memory-store.js';
import { missingPostgres, startPostgres } from './postgres-server.js';

export const SERVER_A = '10.254.0.1';
export const SERVER_B = '10.254.0.2';
export const POOL_RANGE = '10.254.0.100-10.254.0.199';

export interface LeaseStore {
  leases: LeaseRepo;
  flushed(): Promise<void>;
}

export interface Instance {
  ctx: HandlerContext;
  core: StubCore;
  store: LeaseStore;
  /** Hands one client datagram to this instance; the replies it caused. */
  send(spec: ClientPacketSpec): Promise<Reply[]>;
}

export function instance(
  store: LeaseStore,
  serverIp: string,
  clock: { now: number },
  options: Partial<DhcpServerOptions> = {},
): Instance {
  const core = stubCore({}, () => store.flushed());
  const ctx = handlerContext({
    mode: 'authoritative',
    interface: 'unused',
    serverIp,
    advertiseUrl: `http://${serverIp}:8080`,
    pool: { range: POOL_RANGE, subnetMask: '255.255.255.0', router: '10.254.0.254', leaseTimeSec: 600 },
    core,
    leases: store.leases,
    logger: silentLogger,
    now: () => clock.now,
    ...options,
  });
  const sent: Outgoing[] = [];
  const handler = createDhcpHandler(ctx, (out) => sent.push(out));
  return {
    ctx,
    core,
    store,
    async send(spec) {
      const buf = clientPacket(spec);
      const key = (b: Buffer) => b.subarray(4, 8).toString('hex') + b.subarray(28, 34).toString('hex');
      const before = sent.length;
      await handler.handle(buf, { address: '0.0.0.0', port: 68 }, 'server');
      return sent
        .slice(before)
        .filter((o) => key(o.buf) === key(buf))
        .map(toReply);
    },
  };
}

/** Two instances' stores over one lease table, and how to close them. */
export interface SharedStores {
  a: LeaseStore;
  b: LeaseStore;
}

export type StoresFactory = (t: Test) => Promise<SharedStores>;

/**
 * Runs `suite` once over the in-memory fake and once over PostgreSQL (a server this file starts;
 * without PostgreSQL it skips visibly, under CI it fails).
 */
export function eachSharedStore(t: Test, suite: (t: Test, stores: StoresFactory) => void): void {
  t.test('memory', async (t) =>
    suite(t, async () => {
      const a = new MemoryStore();
      return { a, b: a.another() };
    }),
  );
  const missing = missingPostgres();
  if (missing && process.env.CI) t.fail(`${missing}: CI must provide PostgreSQL, refusing to skip`);
  t.test('postgres', { skip: missing }, async (t) => {
    const server = await startPostgres(t);
    const template = await server.createDatabase();
    await (await PostgresStore.open(template)).close();
    suite(t, async (t) => {
      const url = await server.createDatabase(template);
      const a = await PostgresStore.open(url);
      const b = await PostgresStore.open(url);
      t.teardown(async () => {
        await a.close();
        await b.close();
      });
      return { a, b };
    });
  });
}
