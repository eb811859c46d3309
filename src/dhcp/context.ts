/** What the per-mode handlers share: resolved configuration, and the shape of their outcome. */
import { type BootDecision, decideBoot } from '../core/boot/boot-file.js';
import type { LeaseRepo } from '../core/ports/leases.js';
import type { ClientFacts } from './client-facts.js';
import type { CoalescedLog } from './coalesced-log.js';
import type { DhcpPacket } from './codec.js';
import type { Pools } from './pools.js';
import type { Destination, ReplyType } from './reply.js';
import type { DhcpCore, DhcpLogger, DhcpMachineInfo, DhcpMode } from './types.js';

export interface HandlerContext {
  mode: DhcpMode;
  serverIp: string;
  ports: { server: number; proxy: number; client: number };
  advertiseUrl: string;
  tftp: boolean;
  core: DhcpCore;
  leases: LeaseRepo;
  logger: DhcpLogger;
  pools: Pools;
  offerHoldMs: number;
  /** With the pool exhausted, offers older than this to other clients may go to an unknown one. */
  pressuredOfferHoldMs: number;
  declineQuarantineMs: number;
  /** A standby's wait before answering a DISCOVER (0: answer at once); see authoritative.ts `standBy`. */
  answerDelayMs: number;
  /** Waits `ms`; resolves false when the server closes meanwhile (nothing is sent then). */
  wait: (ms: number) => Promise<boolean>;
  /** Per-packet warnings a flood could repeat, once per interval. */
  notices: CoalescedLog;
  now: () => number;
}

/** Which socket a request arrived on: the DHCP server port (67) or the PXE proxy port (4011). */
export type Via = 'server' | 'proxy';

export interface Incoming {
  packet: DhcpPacket;
  facts: ClientFacts;
  via: Via;
  source: Destination;
}

export interface Outcome {
  reply?: { packet: DhcpPacket; type: ReplyType; to: Destination };
  boot?: BootDecision;
  /** Why we NAKed or stayed silent: logged and put on the timeline. */
  note?: string;
}

export function bootFor(ctx: HandlerContext, facts: ClientFacts, info: DhcpMachineInfo | undefined): BootDecision {
  return decideBoot(
    {
      archs: facts.archs,
      vendorClass: facts.vendorClass,
      isIpxe: facts.isIpxe,
      override: info?.bootFileOverride,
    },
    { advertiseUrl: ctx.advertiseUrl, tftp: ctx.tftp },
  );
}
