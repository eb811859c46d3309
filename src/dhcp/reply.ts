/** Building replies: the common header, boot options, relay echo, and where the reply goes. */
import type { BootDecision } from '../core/boot/boot-file.js';
import { BOOTREPLY, BROADCAST_FLAG, type DhcpPacket } from './codec.js';
import type { ClientFacts } from './client-facts.js';
import {
  ipBytes,
  MessageType,
  Opt,
  PXE_DISCOVERY_USE_BOOTFILE,
  stringBytes,
  subOptionBytes,
  u8Bytes,
} from './options.js';

export type ReplyType = 'OFFER' | 'ACK' | 'NAK';

export const LIMITED_BROADCAST = '255.255.255.255';
const FILE_FIELD_MAX = 127; // 128 bytes including the terminating NUL

/**
 * RFC 2131 table 3: fields every reply copies from the request. The client identifier (61), when
 * the request has one, is echoed in every OFFER, ACK and NAK (RFC 6842 §3): clients and relays
 * that match replies by it (perfdhcp, some embedded stacks) drop a reply without it.
 */
export function replyTo(req: DhcpPacket, type: ReplyType, serverIp: string): DhcpPacket {
  const options = new Map<number, Uint8Array>();
  options.set(Opt.MESSAGE_TYPE, u8Bytes(MessageType[type]));
  options.set(Opt.SERVER_ID, ipBytes(serverIp));
  const clientId = req.options.get(Opt.CLIENT_ID);
  if (clientId) options.set(Opt.CLIENT_ID, clientId);
  return {
    op: BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    // A NAK through a relay must be broadcast by the relay (RFC 2131 §4.3.2).
    flags: type === 'NAK' && req.giaddr !== '0.0.0.0' ? req.flags | BROADCAST_FLAG : req.flags,
    ciaddr: type === 'ACK' ? req.ciaddr : '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options,
  };
}

/**
 * Boot information for a network-booting client: next-server + file for TFTP, a URL for UEFI
 * HTTP boot (with vendor class `HTTPClient`, which such firmware requires) and for iPXE.
 * PXE firmware also gets vendor class `PXEClient` and discovery control "use the boot file",
 * which makes it skip boot-server discovery (port 4011 multicast/broadcast) altogether.
 */
export function addBootOptions(reply: DhcpPacket, decision: BootDecision, facts: ClientFacts, serverIp: string): void {
  if (decision.kind === 'none') return;
  reply.siaddr = serverIp;
  if (decision.bootFile.length <= FILE_FIELD_MAX) reply.file = decision.bootFile;
  if (decision.kind === 'tftp') reply.options.set(Opt.TFTP_SERVER_NAME, stringBytes(serverIp));
  reply.options.set(Opt.BOOTFILE_NAME, stringBytes(decision.bootFile));
  if (decision.vendorClass === 'HTTPClient') {
    reply.options.set(Opt.VENDOR_CLASS, stringBytes('HTTPClient'));
  } else if (facts.isPxeClass) {
    reply.options.set(Opt.VENDOR_CLASS, stringBytes('PXEClient'));
    reply.options.set(Opt.VENDOR_SPECIFIC, subOptionBytes([[6, Uint8Array.of(PXE_DISCOVERY_USE_BOOTFILE)]]));
  }
  if (facts.machineIdRaw) reply.options.set(Opt.CLIENT_MACHINE_ID, facts.machineIdRaw);
}

/** RFC 3046 §2.2: the server echoes option 82 unchanged in replies through a relay. */
export function echoRelayAgentInfo(reply: DhcpPacket, facts: ClientFacts): void {
  if (facts.relayAgentInfo && facts.relayed) reply.options.set(Opt.RELAY_AGENT_INFO, facts.relayAgentInfo);
}

export interface Destination {
  address: string;
  port: number;
}

/**
 * RFC 2131 §4.1: relayed → the relay's server port; NAK → broadcast; client has an address →
 * unicast to it; otherwise broadcast. (Unicasting to yiaddr would need an ARP entry we cannot
 * add from Node, and every client accepts a broadcast reply.)
 */
export function destinationFor(
  req: DhcpPacket,
  type: ReplyType,
  ports: { server: number; client: number },
): Destination {
  if (req.giaddr !== '0.0.0.0') return { address: req.giaddr, port: ports.server };
  if (type !== 'NAK' && req.ciaddr !== '0.0.0.0') return { address: req.ciaddr, port: ports.client };
  return { address: LIMITED_BROADCAST, port: ports.client };
}
