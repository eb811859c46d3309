/**
 * A peer address as machines are known by it: no port, no brackets, IPv4-mapped IPv6
 * (`::ffff:10.0.0.5`, what a dual-stack listener reports for IPv4 clients) as plain IPv4.
 */
export function normalisePeerIp(address: string | undefined): string {
  if (!address) return 'unknown';
  const ip = address.replace(/^\[|\]$/g, '');
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * grpc-js `call.getPeer()` is `${remoteAddress}:${remotePort}`: `10.0.0.5:51234`,
 * `::ffff:10.0.0.5:51234`, `::1:51234` (IPv6 unbracketed, so the port is always the last part).
 */
export function peerIpFromGrpc(peer: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  if (bracketed) return normalisePeerIp(bracketed[1]);
  const m = /^(.*):(\d+)$/.exec(peer);
  return normalisePeerIp(m ? m[1] : peer);
}
