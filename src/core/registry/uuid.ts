/**
 * SMBIOS UUIDs reach us in two byte orders: iPXE's `${uuid}` and Talos print the usual textual
 * form, while DHCP option 97 (RFC 4578) carries the raw SMBIOS bytes whose first three fields are
 * little-endian. We store the textual form and convert the raw bytes on the way in.
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function normaliseUuid(input: string): string | undefined {
  const s = input.trim().toLowerCase();
  if (UUID_RE.test(s)) return s;
  if (/^[0-9a-f]{32}$/.test(s)) {
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
  return undefined;
}

/** Textual UUID from the 16 SMBIOS bytes of DHCP option 97 (after its type byte). */
export function uuidFromSmbiosBytes(raw: Uint8Array): string | undefined {
  if (raw.length !== 16) return undefined;
  const hex = (a: number, b: number, swap: boolean) => {
    const part = Array.from(raw.subarray(a, b));
    if (swap) part.reverse();
    return part.map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/**
 * UUIDs that firmware ships instead of a real one: all zeros or all ones (SMBIOS "not present"
 * / "not settable"), and the 00-01-…-09 sequence many boards carry in every unit. They identify no
 * machine, so nothing is ever matched by them.
 */
const PLACEHOLDER_UUIDS = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '03000200-0400-0500-0006-000700080009',
  '00020003-0004-0005-0006-000700080009',
]);

export function isPlaceholderUuid(uuid: string): boolean {
  return PLACEHOLDER_UUIDS.has(uuid.toLowerCase());
}
