/**
 * Authoritative DHCP (RFC 2131 §4.3): we own the pools and answer every client on them.
 * Address bookkeeping lives in the LeaseRepo, whose allocate/commit are atomic; this file
 * decides which RFC rule applies and what to answer.
 */
import type { DhcpMachineInfo } from './types.js';
import { bootFor, type HandlerContext, type Incoming, type Outcome } from './context.js';
import type { DhcpPacket } from './codec.js';
import { choosePool, inRange, type Pool, poolContains } from './pools.js';
import { ipBytes, ipListBytes, Opt, stringBytes, u32Bytes } from './options.js';
import { addBootOptions, destinationFor, echoRelayAgentInfo, replyTo, type ReplyType } from './reply.js';

export async function handleAuthoritative(ctx: HandlerContext, inc: Incoming): Promise<Outcome | undefined> {
  if (inc.via !== 'server') return undefined;
  switch (inc.facts.messageType) {
    case 'DISCOVER':
      return discover(ctx, inc);
    case 'REQUEST':
      return request(ctx, inc);
    case 'DECLINE':
      return decline(ctx, inc);
    case 'RELEASE':
      return release(ctx, inc);
    case 'INFORM':
      return inform(ctx, inc);
    default:
      return undefined; // OFFER/ACK/NAK are server messages: another server's, or forged
  }
}

/** The reservation, if it is usable on this pool's subnet. */
function reservationOn(ctx: HandlerContext, pool: Pool, info: DhcpMachineInfo | undefined, mac: string) {
  const ip = info?.reservedIp;
  if (ip === undefined) return undefined;
  if (poolContains(pool, ip)) return ip;
  ctx.logger.warn(
    { mac, reservedIp: ip, pool: pool.name },
    "reserved address is not on the client's subnet; ignoring it",
  );
  return undefined;
}

async function discover(ctx: HandlerContext, inc: Incoming): Promise<Outcome> {
  const { facts, packet } = inc;
  const pool = choosePool(ctx.pools, packet.giaddr, '0.0.0.0');
  if (!pool) return { note: noPoolNote(packet) };
  if (ctx.answerDelayMs > 0) {
    const silent = await standBy(ctx, facts.mac);
    if (silent) return { note: silent };
  }
  const info = await ctx.core.lookup(facts.mac, facts.uuid);
  const reserved = reservationOn(ctx, pool, info, facts.mac);
  const now = ctx.now();
  const lease = await ctx.leases.allocate({
    mac: facts.mac,
    serverId: ctx.serverIp,
    range: pool.range,
    reserved,
    requested: facts.requestedIp,
    // Asked per candidate the lease store picks (typically once), not a load of every
    // reservation in the registry per DISCOVER. The client's own reservation is not "other".
    reservedForOther: async (ip) => ip !== reserved && (await ctx.core.isReserved(ip)),
    now,
    offerExpiresAt: now + ctx.offerHoldMs,
    // A random-MAC flood fills the pool with offers nobody will take. With nothing free, a
    // registered machine takes the oldest such offer; anyone else only one older than the
    // pressured hold (a real client REQUESTs within a second or two of its OFFER).
    reclaimOffersMadeBefore: info?.known ? now : now - ctx.pressuredOfferHoldMs,
  });
  if (!lease) {
    ctx.notices.warn(
      `exhausted ${pool.name}`,
      { pool: pool.name, lastMac: facts.mac },
      'DHCP pool exhausted; DISCOVERs left unanswered',
    );
    return { note: `pool ${pool.name} exhausted` };
  }
  if (lease.reclaimedFrom) {
    ctx.notices.warn(
      `reclaimed ${pool.name}`,
      { pool: pool.name, lastMac: facts.mac },
      'DHCP pool exhausted; unconfirmed offers reclaimed',
    );
  }
  if (reserved && lease.ip !== reserved) {
    ctx.logger.warn(
      { mac: facts.mac, reservedIp: reserved, ip: lease.ip },
      'reserved address is leased to another client',
    );
  }
  return answer(ctx, inc, 'OFFER', pool, lease.ip, info);
}

/**
 * A standby (`answerDelayMs` > 0) waits, then stays silent when another server has answered this
 * client meanwhile: an offer (or a binding) of another server in the shared lease table, made
 * since the DISCOVER arrived less the delay (the window also absorbs clock skew between the
 * instances up to the delay). A primary that is down writes nothing, so the standby answers.
 * Returns why it stays silent, or undefined to answer.
 */
async function standBy(ctx: HandlerContext, mac: string): Promise<string | undefined> {
  const heard = ctx.now();
  if (!(await ctx.wait(ctx.answerDelayMs))) return 'server closing';
  const now = ctx.now();
  const since = heard - ctx.answerDelayMs;
  const other = (await ctx.leases.listByMac(mac)).find(
    (l) =>
      l.serverId !== null &&
      l.serverId !== ctx.serverIp &&
      (l.state === 'offered' || l.state === 'bound') &&
      l.expiresAt > now &&
      l.updatedAt >= since,
  );
  return other ? `standby: server ${other.serverId} answered` : undefined;
}

async function request(ctx: HandlerContext, inc: Incoming): Promise<Outcome | undefined> {
  const { facts, packet } = inc;
  const now = ctx.now();

  if (facts.serverId !== undefined && facts.serverId !== ctx.serverIp) {
    // SELECTING another server's offer: ours is free again (RFC 2131 §4.3.2). Only ours: on a lease
    // table shared with that server, its rows are its own, and the address the client asks it for
    // may be the very row (both offered the client's current offer) it is about to bind.
    await ctx.leases.cancelOffers(facts.mac, now, ctx.serverIp, facts.requestedIp);
    return { note: `client chose server ${facts.serverId}` };
  }
  const selecting = facts.serverId !== undefined;
  // SELECTING and INIT-REBOOT name the address in option 50; RENEWING/REBINDING in ciaddr.
  const ciaddr = facts.ciaddrSet ? packet.ciaddr : undefined;
  const ip = selecting ? (facts.requestedIp ?? ciaddr) : (ciaddr ?? facts.requestedIp);
  if (ip === undefined) return { note: 'REQUEST without an address' };
  const pool = choosePool(ctx.pools, packet.giaddr, facts.ciaddrSet ? packet.ciaddr : '0.0.0.0');
  if (!pool) return { note: noPoolNote(packet) };
  if (!poolContains(pool, ip)) {
    // Renewing an address on no network we serve: not ours to judge. INIT-REBOOT on the wrong
    // network gets a NAK so the client starts over (RFC 2131 §4.3.2).
    if (facts.ciaddrSet) return { note: `${ip} is not on a served subnet` };
    return nak(ctx, inc, `${ip} is not on the client's subnet (${pool.name})`);
  }

  const info = await ctx.core.lookup(facts.mac, facts.uuid);
  const reserved = reservationOn(ctx, pool, info, facts.mac);
  const current = await ctx.leases.get(ip);
  const heldByClient = current?.mac === facts.mac;
  const heldActively = !!current && current.state !== 'released' && current.expiresAt > now;

  if (selecting) {
    // Only an address we offered to (or leased to) this client may be selected.
    if (!heldByClient || !heldActively || current.state === 'declined') {
      return nak(ctx, inc, `${ip} was not offered to this client`);
    }
  } else {
    // INIT-REBOOT (no ciaddr) or RENEWING/REBINDING (ciaddr): verify the client's idea of its address.
    if (heldActively && (!heldByClient || current.state === 'declined')) return nak(ctx, inc, `${ip} is in use`);
    if (reserved !== undefined && reserved !== ip) return nak(ctx, inc, `client has reserved address ${reserved}`);
    if (reserved === undefined && (await ctx.core.isReserved(ip))) {
      return nak(ctx, inc, `${ip} is reserved for another machine`);
    }
    if (reserved === undefined && !inRange(pool, ip)) return nak(ctx, inc, `${ip} is outside the pool`);
    if (!heldByClient && reserved !== ip) {
      // No record of this client: INIT-REBOOT must get silence (§4.3.2), a renewal a NAK.
      if (!facts.ciaddrSet) return { note: `no record of this client for ${ip}` };
      return nak(ctx, inc, `no lease for ${ip}`);
    }
  }

  const lease = await ctx.leases.commit({
    mac: facts.mac,
    ip,
    now,
    expiresAt: now + pool.leaseTimeSec * 1000,
    hostname: facts.hostname ?? null,
    range: pool.range,
    // A binding another instance made (it may be down) is renewed here and becomes ours.
    serverId: ctx.serverIp,
  });
  if (!lease) return nak(ctx, inc, `${ip} is in use`);
  return answer(ctx, inc, 'ACK', pool, ip, info);
}

async function decline(ctx: HandlerContext, inc: Incoming): Promise<Outcome> {
  const { facts } = inc;
  if (facts.serverId !== undefined && facts.serverId !== ctx.serverIp) return { note: 'DECLINE for another server' };
  const ip = facts.requestedIp;
  if (ip === undefined) return { note: 'DECLINE without an address' };
  const now = ctx.now();
  const quarantined = await ctx.leases.decline(facts.mac, ip, now, now + ctx.declineQuarantineMs);
  if (quarantined) {
    ctx.logger.warn({ mac: facts.mac, ip }, 'client declined address (in use by an unknown host); quarantined');
  }
  return { note: quarantined ? `${ip} declined and quarantined` : `DECLINE of ${ip}, not this client's` };
}

async function release(ctx: HandlerContext, inc: Incoming): Promise<Outcome> {
  const { facts, packet } = inc;
  if (facts.serverId !== undefined && facts.serverId !== ctx.serverIp) return { note: 'RELEASE for another server' };
  if (!facts.ciaddrSet) return { note: 'RELEASE without ciaddr' };
  const released = await ctx.leases.release(facts.mac, packet.ciaddr, ctx.now());
  return { note: released ? `${packet.ciaddr} released` : `RELEASE of ${packet.ciaddr}, not this client's` };
}

/** INFORM: the client has an address (configured by hand); give it configuration only, no lease. */
async function inform(ctx: HandlerContext, inc: Incoming): Promise<Outcome> {
  const { facts, packet } = inc;
  if (!facts.ciaddrSet) return { note: 'INFORM without ciaddr' };
  const pool = choosePool(ctx.pools, packet.giaddr, packet.ciaddr);
  if (!pool || !poolContains(pool, packet.ciaddr)) return { note: noPoolNote(packet) };
  const info = await ctx.core.lookup(facts.mac, facts.uuid);
  return answer(ctx, inc, 'ACK', pool, undefined, info);
}

function answer(
  ctx: HandlerContext,
  inc: Incoming,
  type: ReplyType,
  pool: Pool,
  yiaddr: string | undefined,
  info: DhcpMachineInfo | undefined,
): Outcome {
  const { facts, packet } = inc;
  const reply = replyTo(packet, type, ctx.serverIp);
  if (yiaddr) reply.yiaddr = yiaddr;
  addPoolOptions(reply, pool, yiaddr !== undefined);
  const boot = facts.wantsBoot ? bootFor(ctx, facts, info) : undefined;
  if (boot) addBootOptions(reply, boot, facts, ctx.serverIp);
  echoRelayAgentInfo(reply, facts);
  return { reply: { packet: reply, type, to: destinationFor(packet, type, ctx.ports) }, boot };
}

function addPoolOptions(reply: DhcpPacket, pool: Pool, withLease: boolean): void {
  reply.options.set(Opt.SUBNET_MASK, ipBytes(pool.subnetMask));
  if (pool.router) reply.options.set(Opt.ROUTER, ipBytes(pool.router));
  if (pool.dns.length > 0) reply.options.set(Opt.DNS_SERVERS, ipListBytes(pool.dns));
  if (!withLease) return; // RFC 2131 §4.3.5: no lease time in an ACK to INFORM
  reply.options.set(Opt.LEASE_TIME, u32Bytes(pool.leaseTimeSec));
  reply.options.set(Opt.RENEWAL_TIME, u32Bytes(Math.floor(pool.leaseTimeSec / 2)));
  reply.options.set(Opt.REBINDING_TIME, u32Bytes(Math.floor((pool.leaseTimeSec * 7) / 8)));
}

function nak(ctx: HandlerContext, inc: Incoming, why: string): Outcome {
  const reply = replyTo(inc.packet, 'NAK', ctx.serverIp);
  reply.options.set(Opt.MESSAGE, stringBytes(why));
  echoRelayAgentInfo(reply, inc.facts);
  ctx.logger.info({ mac: inc.facts.mac, why }, 'DHCPNAK');
  return { reply: { packet: reply, type: 'NAK', to: destinationFor(inc.packet, 'NAK', ctx.ports) }, note: why };
}

function noPoolNote(packet: DhcpPacket): string {
  return packet.giaddr !== '0.0.0.0'
    ? `no relay subnet configured for giaddr ${packet.giaddr}`
    : 'no local pool configured';
}
