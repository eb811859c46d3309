// Option negotiation for read requests: RFC 2347 (framework), 2348 (blksize),
// 2349 (timeout, tsize) and 7440 (windowsize). Unknown or invalid options are
// left out of the OACK, which RFC 2347 defines as "declined", never an error.
import type { TftpOptions } from './packets.js';
import type { NegotiatedOptions } from './types.js';

export const DEFAULT_BLKSIZE = 512;
/** RFC 2348 bounds. */
export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE = 65464;
/** RFC 7440 bounds. */
export const MAX_WINDOWSIZE = 65535;
/**
 * A transfer buffers one window of packets, so windowsize x blksize is its
 * memory; this caps it (64 x 1468 is ~92 KiB, far below).
 */
export const MAX_WINDOW_BYTES = 1024 * 1024;

export interface NegotiationLimits {
  maxBlksize: number;
  maxWindowsize: number;
  defaultTimeoutMs: number;
}

export interface Negotiation {
  negotiated: NegotiatedOptions;
  /** Options to acknowledge, or undefined when none was accepted (reply with DATA 1). */
  oack: Map<string, string> | undefined;
}

/** Strict decimal: rejects "", "1e3", "+5", " 5", "0x10" and absurd lengths. */
function parseDecimal(value: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(value)) return undefined;
  return Number(value);
}

export function negotiateOptions(requested: TftpOptions, fileSize: number, limits: NegotiationLimits): Negotiation {
  const oack = new Map<string, string>();
  const negotiated: NegotiatedOptions = {
    blksize: DEFAULT_BLKSIZE,
    windowsize: 1,
    timeoutMs: limits.defaultTimeoutMs,
    requested: Object.fromEntries(requested),
  };

  const blksize = parseDecimal(requested.get('blksize') ?? '');
  if (blksize !== undefined && blksize >= MIN_BLKSIZE) {
    // Larger requests are clamped rather than declined: a client asking for
    // 65464 still gets the biggest block that fits our network.
    negotiated.blksize = Math.min(blksize, MAX_BLKSIZE, limits.maxBlksize);
    oack.set('blksize', String(negotiated.blksize));
  }

  // tsize on a read request: the client sends 0 and learns the file size.
  if (parseDecimal(requested.get('tsize') ?? '') !== undefined) {
    negotiated.tsize = fileSize;
    oack.set('tsize', String(fileSize));
  }

  // RFC 2349: seconds, 1..255; the server must echo it unchanged or decline it.
  const timeout = parseDecimal(requested.get('timeout') ?? '');
  if (timeout !== undefined && timeout >= 1 && timeout <= 255) {
    negotiated.timeoutMs = timeout * 1000;
    oack.set('timeout', String(timeout));
  }

  const windowsize = parseDecimal(requested.get('windowsize') ?? '');
  if (windowsize !== undefined && windowsize >= 1 && windowsize <= MAX_WINDOWSIZE) {
    const byMemory = Math.max(1, Math.floor(MAX_WINDOW_BYTES / negotiated.blksize));
    negotiated.windowsize = Math.min(windowsize, limits.maxWindowsize, byMemory);
    oack.set('windowsize', String(negotiated.windowsize));
  }

  return { negotiated, oack: oack.size > 0 ? oack : undefined };
}
