/**
 * DHCP option codes and message types (RFC 2132, 3004, 3046, 3396, 4578) plus typed readers and
 * writers for option payloads. Readers never throw: a payload of the wrong shape reads as
 * undefined, because clients send all sorts and one odd option must not cost the whole packet.
 */

export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  VENDOR_SPECIFIC: 43, // PXE: encapsulated sub-options (discovery control is sub-option 6)
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52, // 1 = `file` holds options, 2 = `sname` holds options, 3 = both
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  USER_CLASS: 77,
  RELAY_AGENT_INFO: 82,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_MACHINE_ID: 97,
  IPXE_ENCAP: 175,
  END: 255,
} as const;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;

const MESSAGE_TYPE_NAMES = new Map<number, MessageTypeName>(
  Object.entries(MessageType).map(([name, code]) => [code, name as MessageTypeName]),
);

export function messageTypeName(code: number | undefined): MessageTypeName | undefined {
  return code === undefined ? undefined : MESSAGE_TYPE_NAMES.get(code);
}

/** PXE vendor sub-option 6 value: "boot the file named in the offer, skip boot server discovery". */
export const PXE_DISCOVERY_USE_BOOTFILE = 8;

/** Client system architectures of option 93 (RFC 4578 and the IANA registry). */
export const ClientArch = {
  X86_BIOS: 0,
  EFI_IA32: 6,
  EFI_BC: 7, // what OVMF and most x86-64 UEFI firmware send
  EFI_X86_64: 9,
  EFI_ARM32: 10,
  EFI_ARM64: 11,
  EFI_X86_HTTP: 15,
  EFI_X86_64_HTTP: 16,
  EFI_ARM32_HTTP: 18,
  EFI_ARM64_HTTP: 19,
} as const;

// ---- readers ----------------------------------------------------------------------------------

export function readIp(v: Uint8Array | undefined): string | undefined {
  if (v?.length !== 4) return undefined;
  return `${v[0]}.${v[1]}.${v[2]}.${v[3]}`;
}

export function readU8(v: Uint8Array | undefined): number | undefined {
  return v?.length === 1 ? v[0] : undefined;
}

export function readU32(v: Uint8Array | undefined): number | undefined {
  if (v?.length !== 4) return undefined;
  return ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
}

export function readU16List(v: Uint8Array | undefined): number[] | undefined {
  if (!v || v.length === 0 || v.length % 2 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
  return out;
}

/** NVT ASCII as clients send it; trailing NULs (some firmware pads strings) are dropped. */
export function readString(v: Uint8Array | undefined): string | undefined {
  if (!v) return undefined;
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  return Buffer.from(v.buffer, v.byteOffset, end).toString('latin1');
}

/**
 * User class (77). RFC 3004 says a list of length-prefixed strings, but iPXE and udhcpc send one
 * bare string (`iPXE`). Parse the RFC form when it consumes the payload exactly, else take it whole.
 */
export function readUserClasses(v: Uint8Array | undefined): string[] {
  if (!v || v.length === 0) return [];
  const out: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) return [readString(v) ?? ''];
    out.push(Buffer.from(v.subarray(i + 1, i + 1 + len)).toString('latin1'));
    i += 1 + len;
  }
  return out;
}

/** PXE vendor-encapsulated (43) sub-options; undefined when the payload is not TLV-shaped. */
export function readSubOptions(v: Uint8Array | undefined): Map<number, Uint8Array> | undefined {
  if (!v) return undefined;
  const out = new Map<number, Uint8Array>();
  let i = 0;
  while (i < v.length) {
    const code = v[i]!;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (code === Opt.END) break;
    const len = v[i + 1];
    if (len === undefined || i + 2 + len > v.length) return undefined;
    out.set(code, v.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

// ---- writers ----------------------------------------------------------------------------------

export function ipBytes(ip: string): Uint8Array {
  const out = new Uint8Array(4);
  writeIp(out, 0, ip);
  return out;
}

/**
 * Writes dotted-quad `ip` into out[at..at+3]. Every reply carries several addresses: parsed by
 * hand, not with split/map, which showed in the DHCP benchmark's profile.
 */
export function writeIp(out: Uint8Array, at: number, ip: string): void {
  let part = 0;
  let digits = 0;
  let index = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 0x2e; // the end closes the last part like a dot
    if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x2e && digits > 0 && part <= 255 && index < 4) {
      out[at + index++] = part;
      part = 0;
      digits = 0;
    } else {
      throw new Error(`not an IPv4 address: ${ip}`);
    }
  }
  if (index !== 4) throw new Error(`not an IPv4 address: ${ip}`);
}

export function ipListBytes(ips: readonly string[]): Uint8Array {
  const out = new Uint8Array(ips.length * 4);
  ips.forEach((ip, i) => out.set(ipBytes(ip), i * 4));
  return out;
}

export function u32Bytes(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

export function u8Bytes(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff);
}

export function stringBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

export function subOptionBytes(subs: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const parts: number[] = [];
  for (const [code, value] of subs) parts.push(code, value.length, ...value);
  parts.push(Opt.END);
  return Uint8Array.from(parts);
}
