import { ValidationError } from '../errors.js';

const HEX12 = /^[0-9a-f]{12}$/;

/**
 * Normalise a MAC address to lower-case colon form (`aa:bb:cc:dd:ee:ff`).
 * Accepts the spellings operators paste from BMCs, switches and iPXE:
 * `AA:BB:..`, `AA-BB-..`, `aabb.ccdd.eeff` (Cisco) and bare `aabbccddeeff`.
 * Anything else (mixed separators, wrong length, non-hex) is rejected, naming the field.
 */
export function parseMac(input: unknown, field = 'mac'): string {
  if (typeof input !== 'string') throw new ValidationError(`${field} must be a string`, field);
  const s = input.trim().toLowerCase();
  let hex: string | undefined;
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(s) || /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/.test(s)) {
    hex = s.replace(/[:-]/g, '');
  } else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(s)) {
    hex = s.replace(/\./g, '');
  } else if (HEX12.test(s)) {
    hex = s;
  }
  if (hex === undefined) {
    throw new ValidationError(
      `${field} "${input.slice(0, 40)}" is not a MAC address (expected e.g. aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff)`,
      field,
    );
  }
  return hex.match(/../g)!.join(':');
}

/** parseMac that returns undefined instead of throwing: for adapters that log and move on. */
export function tryParseMac(input: unknown): string | undefined {
  try {
    return parseMac(input);
  } catch {
    return undefined;
  }
}

/** MAC from a raw hardware address (DHCP chaddr). */
export function macFromBytes(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Whether a normalised MAC can be one NIC's own address. All-zero (an uninitialised NIC, a fuzzer),
 * broadcast and multicast (the I/G bit of the first octet) never name one machine: recording them
 * would let anyone fill the registry with addresses no machine can boot from.
 */
export function isStationMac(mac: string): boolean {
  if (mac === '00:00:00:00:00:00') return false;
  return (parseInt(mac.slice(0, 2), 16) & 0x01) === 0;
}

/** parseMac, and refuse what cannot be one machine's NIC (isStationMac): for registrations. */
export function parseStationMac(input: unknown, field = 'mac'): string {
  const mac = parseMac(input, field);
  if (!isStationMac(mac)) {
    const what =
      mac === '00:00:00:00:00:00'
        ? 'the all-zero address'
        : mac === 'ff:ff:ff:ff:ff:ff'
          ? 'the broadcast address'
          : 'a multicast address (the first octet is odd)';
    throw new ValidationError(`${field} ${mac} is ${what}, not a NIC's own address`, field);
  }
  return mac;
}
