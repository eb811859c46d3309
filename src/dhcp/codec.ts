/**
 * DHCP wire format (RFC 2131 §2, RFC 2132, RFC 3396): pure functions, no I/O, so they can be
 * fuzzed. `decodeDhcp` never throws; it reports why a datagram is not a usable DHCP message.
 * `encodeDhcp` builds our replies and throws only on programmer error (a bad IP string).
 */
import { Opt, writeIp } from './options.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const BROADCAST_FLAG = 0x8000;

const MAGIC_COOKIE = [99, 130, 83, 99] as const;
const HEADER_LEN = 236; // fixed BOOTP header, up to `file`
const OPTIONS_START = HEADER_LEN + 4; // after the magic cookie
const SNAME = { start: 44, len: 64 } as const;
const FILE = { start: 108, len: 128 } as const;
/** RFC 1542: BOOTP relay agents and old clients drop anything shorter. */
const MIN_REPLY_LEN = 300;

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The 16-byte client hardware address field; the MAC is its first `hlen` bytes. */
  chaddr: Uint8Array;
  /** Server host name; empty when option 52 says the field carries options. */
  sname: string;
  /** Boot file name; empty when option 52 says the field carries options. */
  file: string;
  /**
   * Options by code, in order of first appearance. Split options (RFC 3396: the same code more
   * than once, across `options`, `file` and `sname` in that order) are already concatenated.
   */
  options: Map<number, Uint8Array>;
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; error: string };

export function decodeDhcp(buf: Uint8Array): DecodeResult {
  try {
    return decodeUnchecked(buf);
  } catch (err) {
    // Nothing above should throw; this is the "never throws" guarantee, not a code path.
    return { ok: false, error: `decoder failure: ${(err as Error).message}` };
  }
}

function decodeUnchecked(buf: Uint8Array): DecodeResult {
  if (buf.length < OPTIONS_START) return { ok: false, error: `too short (${buf.length} bytes)` };
  for (let i = 0; i < 4; i++) {
    if (buf[HEADER_LEN + i] !== MAGIC_COOKIE[i]) return { ok: false, error: 'no DHCP magic cookie' };
  }
  const hlen = buf[2]!;
  if (hlen > 16) return { ok: false, error: `hardware address length ${hlen} > 16` };

  const options = new Map<number, Uint8Array[]>();
  const main = parseOptionArea(buf.subarray(OPTIONS_START), options, true);
  if (main) return { ok: false, error: main };

  // Option 52 is only honoured in the main area: an overload inside `file` cannot re-overload.
  const overloadParts = options.get(Opt.OVERLOAD);
  const overload = overloadParts ? concat(overloadParts) : undefined;
  const mode = overload?.length === 1 ? overload[0]! : 0;
  if (overload && (mode < 1 || mode > 3)) return { ok: false, error: 'invalid option 52 value' };
  const fileHoldsOptions = mode === 1 || mode === 3;
  const snameHoldsOptions = mode === 2 || mode === 3;
  if (fileHoldsOptions) {
    const err = parseOptionArea(buf.subarray(FILE.start, FILE.start + FILE.len), options, false);
    if (err) return { ok: false, error: `in file field: ${err}` };
  }
  if (snameHoldsOptions) {
    const err = parseOptionArea(buf.subarray(SNAME.start, SNAME.start + SNAME.len), options, false);
    if (err) return { ok: false, error: `in sname field: ${err}` };
  }

  const merged = new Map<number, Uint8Array>();
  for (const [code, parts] of options) merged.set(code, concat(parts));

  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    ok: true,
    packet: {
      op: buf[0]!,
      htype: buf[1]!,
      hlen,
      hops: buf[3]!,
      xid: view.getUint32(4),
      secs: view.getUint16(8),
      flags: view.getUint16(10),
      ciaddr: ipAt(buf, 12),
      yiaddr: ipAt(buf, 16),
      siaddr: ipAt(buf, 20),
      giaddr: ipAt(buf, 24),
      chaddr: buf.slice(28, 44),
      sname: snameHoldsOptions ? '' : cString(buf.subarray(SNAME.start, SNAME.start + SNAME.len)),
      file: fileHoldsOptions ? '' : cString(buf.subarray(FILE.start, FILE.start + FILE.len)),
      options: merged,
    },
  };
}

/** Appends each option instance to `into`; returns an error message or undefined. */
function parseOptionArea(area: Uint8Array, into: Map<number, Uint8Array[]>, isMain: boolean): string | undefined {
  let i = 0;
  while (i < area.length) {
    const code = area[i]!;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (code === Opt.END) return undefined;
    const len = area[i + 1];
    if (len === undefined || i + 2 + len > area.length) return `option ${code} truncated`;
    if (isMain || code !== Opt.OVERLOAD) {
      const list = into.get(code);
      const value = area.slice(i + 2, i + 2 + len);
      if (list) list.push(value);
      else into.set(code, [value]);
    }
    i += 2 + len;
  }
  return undefined; // a missing END is tolerated: several embedded stacks forget it
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ipAt(buf: Uint8Array, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

function cString(field: Uint8Array): string {
  const nul = field.indexOf(0);
  return Buffer.from(field.subarray(0, nul === -1 ? field.length : nul)).toString('latin1');
}

/**
 * Serialise a packet. Options longer than 255 bytes are split into consecutive instances
 * (RFC 3396). Message type goes first and relay agent info last (RFC 3046 §2.1 expects it
 * at the end); the rest keep their map order. Padded to 300 bytes for BOOTP-era relays.
 * Written straight into one buffer sized up front: this runs for every reply.
 */
export function encodeDhcp(p: DhcpPacket): Buffer {
  const snameLen = Buffer.byteLength(p.sname, 'latin1');
  const fileLen = Buffer.byteLength(p.file, 'latin1');
  if (snameLen >= SNAME.len) throw new RangeError(`sname longer than ${SNAME.len - 1} bytes`);
  if (fileLen >= FILE.len) throw new RangeError(`file longer than ${FILE.len - 1} bytes`);
  if (p.chaddr.length > 16) throw new RangeError('chaddr longer than 16 bytes');

  let optionsLen = 1; // END
  for (const [code, value] of p.options) {
    if (code === Opt.PAD || code === Opt.END) continue;
    optionsLen += value.length + 2 * Math.max(1, Math.ceil(value.length / 255));
  }
  const out = Buffer.alloc(Math.max(MIN_REPLY_LEN, OPTIONS_START + optionsLen));
  out[0] = p.op;
  out[1] = p.htype;
  out[2] = p.hlen;
  out[3] = p.hops;
  out.writeUInt32BE(p.xid >>> 0, 4);
  out.writeUInt16BE(p.secs & 0xffff, 8);
  out.writeUInt16BE(p.flags & 0xffff, 10);
  writeIp(out, 12, p.ciaddr);
  writeIp(out, 16, p.yiaddr);
  writeIp(out, 20, p.siaddr);
  writeIp(out, 24, p.giaddr);
  out.set(p.chaddr, 28);
  if (snameLen) out.write(p.sname, SNAME.start, 'latin1');
  if (fileLen) out.write(p.file, FILE.start, 'latin1');
  out.set(MAGIC_COOKIE, HEADER_LEN);

  let at = OPTIONS_START;
  const put = (code: number, value: Uint8Array) => {
    if (value.length === 0) {
      out[at++] = code;
      out[at++] = 0;
    }
    for (let from = 0; from < value.length; from += 255) {
      const chunk = value.subarray(from, from + 255);
      out[at++] = code;
      out[at++] = chunk.length;
      out.set(chunk, at);
      at += chunk.length;
    }
  };
  const first = p.options.get(Opt.MESSAGE_TYPE);
  if (first) put(Opt.MESSAGE_TYPE, first);
  for (const [code, value] of p.options) {
    if (code !== Opt.MESSAGE_TYPE && code !== Opt.RELAY_AGENT_INFO && code !== Opt.PAD && code !== Opt.END)
      put(code, value);
  }
  const last = p.options.get(Opt.RELAY_AGENT_INFO);
  if (last) put(Opt.RELAY_AGENT_INFO, last);
  out[at] = Opt.END;
  return out;
}
