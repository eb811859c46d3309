/**
 * The DHCP handler without sockets: real SQLite lease store (in memory), a stub core with
 * reservations, a movable clock, and every reply captured and decoded.
 */
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { decodeDhcp, type DhcpPacket } from '../../src/dhcp/codec.js';
import { createDhcpHandler, type DhcpHandler, type Outgoing } from '../../src/dhcp/handler.js';
import { Opt, readIp, readString, readU32, readU8, messageTypeName } from '../../src/dhcp/options.js';
import { handlerContext } from '../../src/dhcp/server.js';
import type { DhcpCore, DhcpLogger, DhcpObservation, DhcpServerOptions } from '../../src/dhcp/types.js';
import { clientPacket, type ClientPacketSpec } from './dhcp-packets.js';

export const SERVER_IP = '10.253.0.1';
export const ADVERTISE = 'http://10.253.0.1:8080';

export interface StubCoreConfig {
  reservations?: Record<string, string>;
  overrides?: Record<string, string>;
}

export interface StubCore extends DhcpCore {
  observations: DhcpObservation[];
  config: StubCoreConfig;
  failLookup?: boolean;
}

export function stubCore(config: StubCoreConfig = {}, flushed: () => Promise<void> = async () => undefined): StubCore {
  const core: StubCore = {
    observations: [],
    config,
    async lookup(mac) {
      if (core.failLookup) throw new Error('registry unavailable');
      const reservedIp = config.reservations?.[mac];
      const bootFileOverride = config.overrides?.[mac];
      if (!reservedIp && !bootFileOverride) return { known: false };
      return { known: true, reservedIp, bootFileOverride };
    },
    async isReserved(ip) {
      return Object.values(config.reservations ?? {}).includes(ip);
    },
    async record(obs) {
      core.observations.push(obs);
    },
    flushed,
  };
  return core;
}

export const silentLogger: DhcpLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Reply {
  out: Outgoing;
  packet: DhcpPacket;
  type: string | undefined;
  opt(code: number): Uint8Array | undefined;
  str(code: number): string | undefined;
  ipOpt(code: number): string | undefined;
  u32(code: number): number | undefined;
}

export interface Rig {
  handler: DhcpHandler;
  core: StubCore;
  store: SqliteStore;
  clock: { now: number };
  sent: Outgoing[];
  /** Sends one client datagram and returns the replies it caused. */
  send(
    spec: ClientPacketSpec | Buffer,
    via?: 'server' | 'proxy',
    source?: { address: string; port: number },
  ): Promise<Reply[]>;
  close(): Promise<void>;
}

export function toReply(out: Outgoing): Reply {
  const d = decodeDhcp(out.buf);
  if (!d.ok) throw new Error(`server sent an undecodable reply: ${d.error}`);
  const p = d.packet;
  return {
    out,
    packet: p,
    type: messageTypeName(readU8(p.options.get(Opt.MESSAGE_TYPE))),
    opt: (c) => p.options.get(c),
    str: (c) => readString(p.options.get(c)),
    ipOpt: (c) => readIp(p.options.get(c)),
    u32: (c) => readU32(p.options.get(c)),
  };
}

export function makeRig(
  options: Partial<DhcpServerOptions> = {},
  coreConfig: StubCoreConfig = {},
  store = new SqliteStore(':memory:'),
): Rig {
  const core = stubCore(coreConfig, () => store.flushed());
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const sent: Outgoing[] = [];
  const ctx = handlerContext({
    mode: 'authoritative',
    interface: 'unused',
    serverIp: SERVER_IP,
    advertiseUrl: ADVERTISE,
    pool: {
      range: '10.253.0.100-10.253.0.104',
      subnetMask: '255.255.255.0',
      router: '10.253.0.1',
      dns: ['10.253.0.53'],
      leaseTimeSec: 3600,
    },
    core,
    leases: store.leases,
    logger: silentLogger,
    now: () => clock.now,
    ...options,
  });
  const handler = createDhcpHandler(ctx, (out) => sent.push(out));
  return {
    handler,
    core,
    store,
    clock,
    sent,
    async send(spec, via = 'server', source = { address: '0.0.0.0', port: 68 }) {
      const before = sent.length;
      const buf = Buffer.isBuffer(spec) ? spec : clientPacket(spec);
      await handler.handle(buf, source, via);
      // Concurrent sends share `sent`: keep the replies to this datagram (same xid and chaddr).
      const key = (b: Buffer) => b.subarray(4, 8).toString('hex') + b.subarray(28, 34).toString('hex');
      const mine = buf.length >= 34 ? key(buf) : undefined;
      return sent
        .slice(before)
        .filter((o) => mine === undefined || key(o.buf) === mine)
        .map(toReply);
    },
    close: () => store.close(),
  };
}
