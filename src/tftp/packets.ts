// Pure TFTP packet codec: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and
// RFC 2347 (OACK, request options). Decoding never throws: malformed input
// yields `{ ok: false, error }` so a network handler can drop it safely.

export const Opcode = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

export const ErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_NEGOTIATION: 8,
} as const;

/** Option names are lower-cased (RFC 2347: case-insensitive); values kept as sent. */
export type TftpOptions = Map<string, string>;

export interface RequestPacket {
  opcode: typeof Opcode.RRQ | typeof Opcode.WRQ;
  filename: string;
  /** Lower-cased transfer mode: "octet", "netascii" or "mail". */
  mode: string;
  options: TftpOptions;
}
export interface DataPacket {
  opcode: typeof Opcode.DATA;
  block: number;
  /** A view into the decoded buffer, not a copy. */
  data: Buffer;
}
export interface AckPacket {
  opcode: typeof Opcode.ACK;
  block: number;
}
export interface ErrorPacket {
  opcode: typeof Opcode.ERROR;
  code: number;
  message: string;
}
export interface OackPacket {
  opcode: typeof Opcode.OACK;
  options: TftpOptions;
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

export type DecodeResult = { ok: true; packet: TftpPacket } | { ok: false; error: string };

/** More options than any real client sends; bounds work done per request. */
export const MAX_OPTIONS = 32;
/** A NUL-terminated string field longer than this is refused (filenames included). */
export const MAX_STRING_BYTES = 1024;
export const DATA_HEADER_BYTES = 4;

const fail = (error: string): DecodeResult => ({ ok: false, error });

/** Reads a NUL-terminated string at `offset`; returns [value, offsetAfterNul] or an error. */
function readString(buf: Buffer, offset: number, what: string): [string, number] | string {
  const end = buf.indexOf(0, offset);
  if (end === -1) return `${what}: missing NUL terminator`;
  if (end - offset > MAX_STRING_BYTES) return `${what}: longer than ${MAX_STRING_BYTES} bytes`;
  return [buf.toString('utf8', offset, end), end + 1];
}

/** True when every byte from `offset` on is NUL: some PXE ROMs pad requests with zeros. */
function onlyPadding(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function readOptions(buf: Buffer, offset: number): TftpOptions | string {
  const options: TftpOptions = new Map();
  let pos = offset;
  let count = 0;
  while (pos < buf.length && !onlyPadding(buf, pos)) {
    if (++count > MAX_OPTIONS) return `more than ${MAX_OPTIONS} options`;
    const name = readString(buf, pos, 'option name');
    if (typeof name === 'string') return name;
    if (name[0] === '') return 'empty option name';
    if (name[1] >= buf.length) return `option ${name[0]}: missing value`;
    const value = readString(buf, name[1], `option ${name[0]} value`);
    if (typeof value === 'string') return value;
    const key = name[0].toLowerCase();
    // First occurrence wins: a repeated option cannot override a vetted one.
    if (!options.has(key)) options.set(key, value[0]);
    pos = value[1];
  }
  return options;
}

function decodeRequest(buf: Buffer, opcode: typeof Opcode.RRQ | typeof Opcode.WRQ): DecodeResult {
  const filename = readString(buf, 2, 'filename');
  if (typeof filename === 'string') return fail(filename);
  if (filename[0] === '') return fail('empty filename');
  const mode = readString(buf, filename[1], 'mode');
  if (typeof mode === 'string') return fail(mode);
  const modeName = mode[0].toLowerCase();
  if (modeName !== 'octet' && modeName !== 'netascii' && modeName !== 'mail') {
    return fail(`unknown mode ${JSON.stringify(mode[0].slice(0, 32))}`);
  }
  const options = readOptions(buf, mode[1]);
  if (typeof options === 'string') return fail(options);
  return { ok: true, packet: { opcode, filename: filename[0], mode: modeName, options } };
}

/** Decodes one datagram. Accepts a Buffer or any Uint8Array; never throws. */
export function decodePacket(input: Uint8Array): DecodeResult {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length < 2) return fail('truncated: no opcode');
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
    case Opcode.WRQ:
      return decodeRequest(buf, opcode);
    case Opcode.DATA:
      if (buf.length < 4) return fail('truncated DATA');
      return { ok: true, packet: { opcode, block: buf.readUInt16BE(2), data: buf.subarray(4) } };
    case Opcode.ACK:
      // Trailing bytes are tolerated: a few firmware stacks pad short frames.
      if (buf.length < 4) return fail('truncated ACK');
      return { ok: true, packet: { opcode, block: buf.readUInt16BE(2) } };
    case Opcode.ERROR: {
      if (buf.length < 4) return fail('truncated ERROR');
      const message = readString(buf, 4, 'error message');
      if (typeof message === 'string') return fail(message);
      return { ok: true, packet: { opcode, code: buf.readUInt16BE(2), message: message[0] } };
    }
    case Opcode.OACK: {
      const options = readOptions(buf, 2);
      if (typeof options === 'string') return fail(options);
      return { ok: true, packet: { opcode, options } };
    }
    default:
      return fail(`bad opcode ${opcode}`);
  }
}

function encodeStrings(opcode: number, strings: string[]): Buffer {
  let size = 2;
  for (const s of strings) size += Buffer.byteLength(s, 'utf8') + 1;
  const buf = Buffer.alloc(size);
  buf.writeUInt16BE(opcode, 0);
  let pos = 2;
  for (const s of strings) {
    pos += buf.write(s, pos, 'utf8');
    buf[pos++] = 0;
  }
  return buf;
}

function optionStrings(options: TftpOptions | Record<string, string | number> | undefined): string[] {
  if (!options) return [];
  const entries = options instanceof Map ? [...options] : Object.entries(options);
  return entries.flatMap(([k, v]) => [k, String(v)]);
}

export function encodeRequest(
  opcode: typeof Opcode.RRQ | typeof Opcode.WRQ,
  filename: string,
  mode = 'octet',
  options?: TftpOptions | Record<string, string | number>,
): Buffer {
  return encodeStrings(opcode, [filename, mode, ...optionStrings(options)]);
}

export function encodeOack(options: TftpOptions | Record<string, string | number>): Buffer {
  return encodeStrings(Opcode.OACK, optionStrings(options));
}

export function encodeError(code: number, message: string): Buffer {
  const buf = Buffer.alloc(4 + Buffer.byteLength(message, 'utf8') + 1);
  buf.writeUInt16BE(Opcode.ERROR, 0);
  buf.writeUInt16BE(code & 0xffff, 2);
  buf.write(message, 4, 'utf8'); // the final byte stays 0: the NUL terminator
  return buf;
}

export function encodeAck(block: number): Buffer {
  const buf = Buffer.alloc(4);
  writeAck(buf, 0, block);
  return buf;
}

/** Hot-path ACK encoder for clients: writes into a caller-owned buffer. */
export function writeAck(buf: Buffer, offset: number, block: number): void {
  buf[offset] = 0;
  buf[offset + 1] = Opcode.ACK;
  buf[offset + 2] = (block >>> 8) & 0xff;
  buf[offset + 3] = block & 0xff;
}

/**
 * Hot-path DATA encoder: writes only the 4-byte header in place, in front of a
 * payload the caller already read into `buf` at `offset + 4`. The block number
 * wraps past 65535 to 0 (the rollover convention of tftp-hpa, iPXE and OVMF).
 */
export function writeDataHeader(buf: Buffer, offset: number, block: number): void {
  buf[offset] = 0;
  buf[offset + 1] = Opcode.DATA;
  buf[offset + 2] = (block >>> 8) & 0xff;
  buf[offset + 3] = block & 0xff;
}

/** Allocating DATA encoder for tests and tools; servers use writeDataHeader. */
export function encodeData(block: number, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER_BYTES + data.length);
  writeDataHeader(buf, 0, block);
  buf.set(data, DATA_HEADER_BYTES);
  return buf;
}
