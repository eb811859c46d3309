/**
 * ProxyDHCP (PXE spec 2.1 §2.2.2): another server hands out addresses; we only tell PXE clients
 * what to boot. Shaped after dnsmasq's proxy replies: no yiaddr, no lease options; 53, 54, 60
 * `PXEClient`, 43 with discovery control, 97 echoed, siaddr + file (and 66/67).
 *
 * - port 67, DISCOVER → OFFER (broadcast, as the client has no address yet);
 * - port 67, REQUEST naming us as server → ACK. A REQUEST naming the real DHCP server is its
 *   business: an ACK from us without an address could be taken for the real one (we only note
 *   the address it accepted);
 * - port 4011, REQUEST (iPXE and some firmware ask the proxy directly once they have an
 *   address) → ACK unicast back to where it came from.
 * Everything from non-PXE clients is ignored: they never learn a proxy exists.
 */
import { bootFor, type HandlerContext, type Incoming, type Outcome } from './context.js';
import { addBootOptions, destinationFor, echoRelayAgentInfo, replyTo, type ReplyType } from './reply.js';

export async function handleProxy(ctx: HandlerContext, inc: Incoming): Promise<Outcome | undefined> {
  const { facts, packet } = inc;
  if (!facts.isPxeClass && !facts.isHttpClass) return undefined;

  let type: ReplyType | undefined;
  if (inc.via === 'proxy') {
    if (facts.messageType === 'REQUEST' || facts.messageType === 'INFORM') type = 'ACK';
  } else if (facts.messageType === 'DISCOVER') {
    type = 'OFFER';
  } else if (facts.messageType === 'REQUEST' && facts.serverId === ctx.serverIp) {
    type = 'ACK';
  } else if (facts.messageType === 'REQUEST' && facts.requestedIp && facts.serverId) {
    // The client takes its address from the real DHCP server: we stay silent, but remember the
    // address, because TFTP and /boot.ipxe only tell us who is asking by their source address.
    return { note: `client accepted ${facts.requestedIp} from ${facts.serverId}` };
  }
  if (!type) return undefined;

  const info = await ctx.core.lookup(facts.mac, facts.uuid);
  const boot = bootFor(ctx, facts, info);
  if (boot.kind === 'none') return { boot, note: boot.reason };

  const reply = replyTo(packet, type, ctx.serverIp);
  // The PXE spec wants `PXEClient` in every proxy reply, also to iPXE (which sends PXEClient too).
  addBootOptions(reply, boot, facts, ctx.serverIp);
  echoRelayAgentInfo(reply, facts);
  const to = inc.via === 'proxy' ? inc.source : destinationFor(packet, type, ctx.ports);
  return { reply: { packet: reply, type, to }, boot };
}
