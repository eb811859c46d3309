/**
 * Client DHCP datagrams for tests, assembled byte by byte (deliberately not with src/dhcp/codec.ts,
 * so codec tests do not check the codec against itself), plus the shapes real clients send
 * (test/fixtures/NOTES.md, "What the clients send").
 */

export type RawOption = readonly [code: number, value: Uint8Array | number[] | string];

export interface ClientPacketSpec {
  /** DHCP message type (1 DISCOVER, 3 REQUEST, 4 DECLINE, 7 RELEASE, 8 INFORM). */
  type?: number;
  mac?: string;
  xid?: number;
  flags?: number;
  ciaddr?: string;
  giaddr?: string;
  hops?: number;
  /** Options after 53, in order, each written once (no splitting: tests that split do it by hand). */
  options?: RawOption[];
  /** Raw bytes for the `file` field (option overload tests). */
  fileField?: Uint8Array;
  snameField?: Uint8Array;
  /** Leave out the END option. */
  noEnd?: boolean;
}

export const bytes = (v: Uint8Array | number[] | string): number[] =>
  typeof v === 'string' ? [...Buffer.from(v, 'latin1')] : [...v];

export const ip = (s: string): number[] => s.split('.').map(Number);

export function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

export function clientPacket(spec: ClientPacketSpec = {}): Buffer {
  const header = Buffer.alloc(240);
  header[0] = 1; // BOOTREQUEST
  header[1] = 1; // Ethernet
  header[2] = 6;
  header[3] = spec.hops ?? 0;
  header.writeUInt32BE(spec.xid ?? 0x12345678, 4);
  header.writeUInt16BE(spec.flags ?? 0, 10);
  header.set(ip(spec.ciaddr ?? '0.0.0.0'), 12);
  header.set(ip(spec.giaddr ?? '0.0.0.0'), 24);
  header.set(macBytes(spec.mac ?? '52:54:00:12:34:56'), 28);
  if (spec.snameField) header.set(spec.snameField.subarray(0, 64), 44);
  if (spec.fileField) header.set(spec.fileField.subarray(0, 128), 108);
  header.set([99, 130, 83, 99], 236);
  const opts: number[] = [];
  if (spec.type !== undefined) opts.push(53, 1, spec.type);
  for (const [code, value] of spec.options ?? []) {
    const b = bytes(value);
    opts.push(code, b.length, ...b);
  }
  if (!spec.noEnd) opts.push(255);
  return Buffer.concat([header, Buffer.from(opts)]);
}

/** SMBIOS UUID bytes (option 97 payload after the type byte) for `00112233-4455-6677-8899-aabbccddeeff`. */
export const SAMPLE_UUID = '00112233-4455-6677-8899-aabbccddeeff';
export const SAMPLE_UUID_RAW = [
  0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

/** Parameter request lists roughly as each client sends them. */
const PRL_IPXE = [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203];
const PRL_OVMF = [
  1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130,
  131, 132, 133, 134, 135,
];

/** What each real client puts in a DISCOVER (NOTES.md). `extra` goes after the standard options. */
export const CLIENT_SHAPES = {
  /** SeaBIOS + iPXE NIC ROM: arch 0, iPXE user class and option 175. */
  seabiosIpxe: (extra: RawOption[] = []): RawOption[] => [
    [57, [0x05, 0xdc]],
    [93, [0, 0]],
    [94, [1, 2, 1]],
    [60, 'PXEClient:Arch:00000:UNDI:002001'],
    [77, 'iPXE'],
    [55, PRL_IPXE],
    [
      175,
      [
        0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0x24, 0x01, 0x01, 0x27, 0x01, 0x01, 0x19, 0x01, 0x01, 0x29, 0x01,
        0x01, 0x10, 0x01, 0x02, 0x22, 0x01, 0x01, 0x3b, 0x01, 0x01, 0x17, 0x01, 0x01, 0x1e, 0x01, 0x01, 0x15, 0x01,
        0x01, 0x12, 0x01, 0x01, 0x11, 0x01, 0x01,
      ],
    ],
    [61, [1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]],
    [97, [0, ...SAMPLE_UUID_RAW]],
    ...extra,
  ],
  /** OVMF's own PXE (NIC ROM off): arch 7, no user class, no 175. */
  ovmfPxe: (extra: RawOption[] = []): RawOption[] => [
    [57, [0x05, 0xc0]],
    [55, PRL_OVMF],
    [97, [0, ...SAMPLE_UUID_RAW]],
    [94, [1, 3, 0]],
    [93, [0, 7]],
    [60, 'PXEClient:Arch:00007:UNDI:003000'],
    ...extra,
  ],
  /** ipxe.efi / iPXE EFI ROM: arch 7, iPXE user class, 175. */
  ipxeEfi: (extra: RawOption[] = []): RawOption[] => [
    [57, [0x05, 0xdc]],
    [93, [0, 7]],
    [94, [1, 3, 10]],
    [60, 'PXEClient:Arch:00007:UNDI:003010'],
    [77, 'iPXE'],
    [55, PRL_IPXE],
    [175, [0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0x24, 0x01, 0x01]],
    [61, [1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]],
    [97, [0, ...SAMPLE_UUID_RAW]],
    ...extra,
  ],
  /** UEFI HTTP boot (x64): arch 16 and vendor class HTTPClient. */
  uefiHttp: (arch = 16, extra: RawOption[] = []): RawOption[] => [
    [55, [1, 3, 6, 43, 60, 66, 67]],
    [97, [0, ...SAMPLE_UUID_RAW]],
    [94, [1, 3, 0]],
    [93, [0, arch]],
    [60, `HTTPClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003000`],
    ...extra,
  ],
  /** busybox udhcpc 1.35 with its default request list. */
  udhcpc: (extra: RawOption[] = []): RawOption[] => [
    [61, [1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]],
    [57, [0x02, 0x40]],
    [55, [1, 3, 6, 12, 15, 28, 42]],
    [60, 'udhcp 1.35.0'],
    ...extra,
  ],
} as const;
