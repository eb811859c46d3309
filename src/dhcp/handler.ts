/**
 * One datagram in, zero or one reply out. The socket-free heart of the server, so tests (and the
 * fuzzer) can drive it directly. It never throws and never rejects: whatever a datagram or a
 * failing dependency does is caught, logged and counted.
 */
import { UnavailableError } from '../core/errors.js';
import { BOOTREQUEST, decodeDhcp, encodeDhcp } from './codec.js';
import { clientFacts } from './client-facts.js';
import type { HandlerContext, Incoming, Outcome, Via } from './context.js';
import { handleAuthoritative } from './authoritative.js';
import { handleProxy } from './proxy.js';
import type { Destination } from './reply.js';
import type { DhcpObservation } from './types.js';

export interface Outgoing extends Destination {
  buf: Buffer;
  /** Socket to send from: replies to port-4011 requests leave from 4011. */
  via: Via;
}

export interface DhcpStats {
  received: number;
  malformed: number;
  ignored: number;
  replied: number;
  errors: number;
}

export interface DhcpHandler {
  /** Resolves once the reply (if any) was handed to `send` and the observation recorded. */
  handle(buf: Uint8Array, source: Destination, via: Via): Promise<void>;
  readonly stats: DhcpStats;
}

const ETHERNET = 1;

export function createDhcpHandler(ctx: HandlerContext, send: (out: Outgoing) => void): DhcpHandler {
  const stats: DhcpStats = { received: 0, malformed: 0, ignored: 0, replied: 0, errors: 0 };

  /**
   * The store cannot be reached: the packet is dropped (a lease or boot answer from what this
   * process last knew could contradict what another instance has since written), and the client
   * retries. Once a minute at most, with the count, however many packets arrive meanwhile.
   */
  const storeDown = (err: UnavailableError) =>
    ctx.notices.warn(
      'store-unavailable',
      { error: err.message },
      'the store is unavailable: DHCP stays silent until it is back',
    );

  async function handleUnchecked(buf: Uint8Array, source: Destination, via: Via): Promise<void> {
    const decoded = decodeDhcp(buf);
    if (!decoded.ok) {
      stats.malformed++;
      ctx.logger.debug({ from: source.address, error: decoded.error }, 'ignoring malformed DHCP datagram');
      return;
    }
    const packet = decoded.packet;
    // Only Ethernet clients: the registry is keyed by 6-byte MACs.
    if (packet.op !== BOOTREQUEST || packet.htype !== ETHERNET || packet.hlen !== 6) {
      stats.ignored++;
      return;
    }
    const inc: Incoming = { packet, facts: clientFacts(packet), via, source };
    if (!inc.facts.messageType) {
      stats.ignored++;
      return;
    }
    const outcome = ctx.mode === 'proxy' ? await handleProxy(ctx, inc) : await handleAuthoritative(ctx, inc);
    if (!outcome) {
      stats.ignored++;
      return;
    }
    if (outcome.reply) {
      const { packet: reply, to } = outcome.reply;
      // The lease behind an OFFER or ACK must be on disk before the client hears of it; the store
      // commits in batches (a rejection here means it was not written: no reply, counted as error).
      await ctx.core.flushed();
      send({ buf: encodeDhcp(reply), address: to.address, port: to.port, via });
      stats.replied++;
    } else {
      stats.ignored++;
    }
    ctx.logger.debug(
      { mac: inc.facts.mac, type: inc.facts.messageType, reply: outcome.reply?.type, note: outcome.note },
      'DHCP exchange',
    );
    try {
      await ctx.core.record(observation(ctx, inc, outcome));
    } catch (err) {
      stats.errors++;
      if (err instanceof UnavailableError) storeDown(err);
      else ctx.logger.warn({ err, mac: inc.facts.mac }, 'recording DHCP observation failed');
    }
  }

  return {
    stats,
    async handle(buf, source, via) {
      stats.received++;
      try {
        await handleUnchecked(buf, source, via);
      } catch (err) {
        stats.errors++;
        if (err instanceof UnavailableError) storeDown(err);
        else ctx.logger.error({ err, from: source.address }, 'DHCP handler failed; datagram dropped');
      }
    },
  };
}

function observation(ctx: HandlerContext, inc: Incoming, outcome: Outcome): DhcpObservation {
  const { facts, packet } = inc;
  const reply = outcome.reply?.packet;
  const boot = outcome.boot;
  return {
    mac: facts.mac,
    uuid: facts.uuid,
    messageType: facts.messageType!,
    reply: outcome.reply?.type,
    mode: ctx.mode,
    arch: boot?.arch,
    firmware: boot?.firmware,
    clientIp: facts.ciaddrSet ? packet.ciaddr : facts.requestedIp,
    offeredIp: reply && reply.yiaddr !== '0.0.0.0' ? reply.yiaddr : undefined,
    relay: facts.relayed ? packet.giaddr : undefined,
    vendorClass: facts.vendorClass,
    hostname: facts.hostname,
    bootFile: boot && boot.kind !== 'none' && outcome.reply ? boot.bootFile : undefined,
    note: outcome.note,
  };
}
