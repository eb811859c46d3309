/**
 * The DHCP server: sockets on one interface around the handler. Proxy mode also listens on the
 * PXE port (4011), where clients that already have an address ask the proxy directly.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { HandlerContext, Via } from './context.js';
import { enlargeRecvBuffer } from '../net/recv-buffer.js';
import { coalescedLog } from './coalesced-log.js';
import { createDhcpHandler, type DhcpStats, type Outgoing } from './handler.js';
import { bindSocketToInterface, interfaceIndex } from '../net/bind-interface.js';
import { isIpv4 } from './ipv4.js';
import { buildPools } from './pools.js';
import { DEFAULT_PORTS, type DhcpLogger, type DhcpServerOptions, MAX_ANSWER_DELAY_MS } from './types.js';

export type { DhcpCore, DhcpMachineInfo, DhcpObservation, DhcpServerOptions } from './types.js';

export interface DhcpServer {
  readonly stats: DhcpStats;
  /** Stops listening and waits for in-flight requests (so their leases and events are written). */
  close(): Promise<void>;
}

/** Validates the options and builds what the handler needs; throws a message naming the bad setting. */
export function handlerContext(opts: DhcpServerOptions): HandlerContext {
  if (opts.mode !== 'proxy' && opts.mode !== 'authoritative') {
    throw new Error(`DHCP mode must be "proxy" or "authoritative", not "${String(opts.mode)}"`);
  }
  if (!isIpv4(opts.serverIp) || opts.serverIp === '0.0.0.0') {
    throw new Error(`DHCP serverIp "${opts.serverIp}" must be this host's IPv4 address on ${opts.interface}`);
  }
  if (!/^https?:\/\/[^/]+/.test(opts.advertiseUrl)) {
    throw new Error(`advertise URL "${opts.advertiseUrl}" must be an http(s) URL clients can reach`);
  }
  const pools = buildPools(opts.serverIp, opts.pool, opts.relaySubnets);
  if (opts.mode === 'authoritative' && !pools.local && pools.relayed.length === 0) {
    throw new Error('authoritative DHCP needs a pool (or relaySubnets) to hand addresses out from');
  }
  const answerDelayMs = opts.answerDelayMs ?? 0;
  if (!Number.isInteger(answerDelayMs) || answerDelayMs < 0 || answerDelayMs > MAX_ANSWER_DELAY_MS) {
    throw new Error(
      `DHCP answer delay must be a whole number of milliseconds from 0 to ${MAX_ANSWER_DELAY_MS}, not ${String(opts.answerDelayMs)}`,
    );
  }
  const now = opts.now ?? Date.now;
  return {
    mode: opts.mode,
    serverIp: opts.serverIp,
    ports: { ...DEFAULT_PORTS, ...opts.ports },
    advertiseUrl: opts.advertiseUrl,
    tftp: opts.tftp ?? true,
    core: opts.core,
    leases: opts.leases,
    logger: opts.logger,
    pools,
    offerHoldMs: (opts.offerHoldSec ?? 60) * 1000,
    pressuredOfferHoldMs: (opts.pressuredOfferHoldSec ?? 10) * 1000,
    declineQuarantineMs: (opts.declineQuarantineSec ?? 3600) * 1000,
    answerDelayMs,
    wait: (ms) => new Promise((resolve) => setTimeout(() => resolve(true), ms)),
    notices: coalescedLog(opts.logger, (opts.exhaustionLogIntervalSec ?? 60) * 1000, now),
    now,
  };
}

async function openSocket(port: number, ifindex: number, ifname: string, log: DhcpLogger): Promise<Socket> {
  // reuseAddr: like dnsmasq, so another DHCP service bound to a *different* interface can share
  // 0.0.0.0:67. SO_BINDTOIFINDEX below keeps each to its own interface.
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on UDP port ${port} for DHCP: ${err.message}`));
    socket.once('error', onError);
    socket.bind({ port, address: '0.0.0.0' }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    bindSocketToInterface(socket, ifindex, ifname);
    socket.setBroadcast(true);
  } catch (err) {
    socket.close();
    throw err;
  }
  enlargeRecvBuffer(socket, 'DHCP socket', log, { port });
  return socket;
}

export async function startDhcpServer(opts: DhcpServerOptions): Promise<DhcpServer> {
  const ctx = handlerContext(opts);
  const ifindex = interfaceIndex(opts.interface);
  const log = opts.logger;

  const sockets = new Map<Via, Socket>();
  const send = (out: Outgoing) => {
    const socket = sockets.get(out.via);
    socket?.send(out.buf, out.port, out.address, (err) => {
      if (err) {
        handler.stats.errors++;
        log.warn({ err, to: `${out.address}:${out.port}` }, 'sending DHCP reply failed');
      }
    });
  };
  // A standby's waits end early at close(), which then does not sit out a full answer delay.
  const waits = new Set<() => void>();
  let closing = false;
  ctx.wait = (ms) =>
    new Promise<boolean>((resolve) => {
      if (closing) return resolve(false);
      const done = (answer: boolean) => {
        clearTimeout(timer);
        waits.delete(stop);
        resolve(answer);
      };
      const stop = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      waits.add(stop);
    });
  const handler = createDhcpHandler(ctx, send);
  const inFlight = new Set<Promise<void>>();

  const listen = async (via: Via, port: number) => {
    const socket = await openSocket(port, ifindex, opts.interface, log);
    sockets.set(via, socket);
    socket.on('error', (err) => log.error({ err, port }, 'DHCP socket error'));
    socket.on('message', (msg, rinfo) => {
      const p = handler.handle(msg, { address: rinfo.address, port: rinfo.port }, via);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    });
  };

  const closeAll = async () => {
    await Promise.all([...sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    sockets.clear();
  };
  try {
    await listen('server', ctx.ports.server);
    if (ctx.mode === 'proxy') await listen('proxy', ctx.ports.proxy);
  } catch (err) {
    await closeAll();
    throw err;
  }
  log.info(
    {
      mode: ctx.mode,
      interface: opts.interface,
      serverIp: ctx.serverIp,
      ports: ctx.ports,
      answerDelayMs: ctx.answerDelayMs,
    },
    'DHCP server listening',
  );

  let closed = false;
  return {
    stats: handler.stats,
    async close() {
      if (closed) return;
      closed = true;
      closing = true;
      for (const stop of [...waits]) stop();
      const pending = [...inFlight];
      await closeAll();
      await Promise.allSettled(pending);
    },
  };
}
