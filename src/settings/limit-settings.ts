/**
 * Connection limits as `metalboot serve` (and doctor) take them: whole seconds and counts from
 * flags, METALBOOT_* variables or metalboot.yaml, into the HTTP listener's and TFTP's limits.
 */
import {
  DEFAULT_HTTP_LIMITS,
  MAX_KEEP_ALIVE_MS,
  validateHttpLimits,
  type HttpLimits,
} from '../http/connection-limits.js';
import { DEFAULT_MAX_TRANSFERS_PER_SOURCE } from '../tftp/server.js';

export interface ConnectionLimits {
  http: HttpLimits;
  /** Concurrent TFTP transfers from one source address. */
  tftpMaxTransfersPerSource: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  http: DEFAULT_HTTP_LIMITS,
  tftpMaxTransfersPerSource: DEFAULT_MAX_TRANSFERS_PER_SOURCE,
};

/** The option values as commander hands them over (absent: the default). */
export interface ConnectionLimitInputs {
  httpHeaderTimeout?: string;
  httpBodyTimeout?: string;
  httpKeepaliveTimeout?: string;
  httpSendTimeout?: string;
  httpMaxConnections?: string;
  httpMaxConnectionsPerSource?: string;
  tftpMaxTransfersPerSource?: string;
}

/** The flag defaults, as text (commander shows them in --help). */
export const CONNECTION_LIMIT_DEFAULTS = {
  httpHeaderTimeout: String(DEFAULT_HTTP_LIMITS.headerTimeoutMs / 1000),
  httpBodyTimeout: String(DEFAULT_HTTP_LIMITS.bodyTimeoutMs / 1000),
  httpKeepaliveTimeout: String(DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs / 1000),
  httpSendTimeout: String(DEFAULT_HTTP_LIMITS.sendTimeoutMs / 1000),
  httpMaxConnections: String(DEFAULT_HTTP_LIMITS.maxConnections),
  httpMaxConnectionsPerSource: String(DEFAULT_HTTP_LIMITS.maxConnectionsPerSource),
  tftpMaxTransfersPerSource: String(DEFAULT_MAX_TRANSFERS_PER_SOURCE),
} as const;

/** A limit can be lowered, never switched off: 0, negatives, fractions and words are refused. */
function count(value: string | undefined, fallback: number, flag: string, max = 1_000_000): number {
  if (value === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n > max)
    throw new Error(`--${flag} must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

export function parseConnectionLimits(inp: ConnectionLimitInputs): ConnectionLimits {
  const d = DEFAULT_HTTP_LIMITS;
  const seconds = (v: string | undefined, fallbackMs: number, flag: string, maxS = 3600) =>
    count(v, fallbackMs / 1000, flag, maxS) * 1000;
  const http: HttpLimits = {
    headerTimeoutMs: seconds(inp.httpHeaderTimeout, d.headerTimeoutMs, 'http-header-timeout'),
    bodyTimeoutMs: seconds(inp.httpBodyTimeout, d.bodyTimeoutMs, 'http-body-timeout'),
    keepAliveTimeoutMs: seconds(
      inp.httpKeepaliveTimeout,
      d.keepAliveTimeoutMs,
      'http-keepalive-timeout',
      MAX_KEEP_ALIVE_MS / 1000,
    ),
    sendTimeoutMs: seconds(inp.httpSendTimeout, d.sendTimeoutMs, 'http-send-timeout'),
    maxConnections: count(inp.httpMaxConnections, d.maxConnections, 'http-max-connections'),
    maxConnectionsPerSource: count(
      inp.httpMaxConnectionsPerSource,
      d.maxConnectionsPerSource,
      'http-max-connections-per-source',
    ),
  };
  if (http.maxConnectionsPerSource > http.maxConnections) {
    throw new Error(
      `--http-max-connections-per-source (${http.maxConnectionsPerSource}) must not exceed --http-max-connections (${http.maxConnections})`,
    );
  }
  return {
    http: validateHttpLimits(http),
    tftpMaxTransfersPerSource: count(
      inp.tftpMaxTransfersPerSource,
      DEFAULT_MAX_TRANSFERS_PER_SOURCE,
      'tftp-max-transfers-per-source',
      10_000,
    ),
  };
}

/** One line for logs and doctor. */
export function describeConnectionLimits(l: ConnectionLimits): string {
  const s = (ms: number) => `${ms / 1000} s`;
  const h = l.http;
  return `HTTP: header ${s(h.headerTimeoutMs)}, body idle ${s(h.bodyTimeoutMs)}, keep-alive ${s(h.keepAliveTimeoutMs)}, download idle ${s(h.sendTimeoutMs)}, ${h.maxConnections} connections (${h.maxConnectionsPerSource} per source); TFTP: ${l.tftpMaxTransfersPerSource} transfers per source`;
}
