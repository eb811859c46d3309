import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { unmappedIp } from './auth.js';

/**
 * How long a client may take and how many connections it may hold, modelled on nginx's
 * client_header_timeout, client_body_timeout, keepalive_timeout, send_timeout and limit_conn.
 * Without them one host held 19,990 idle sockets and everyone else's /healthz and /ipxe were reset.
 */
export interface HttpLimits {
  /** From a connection's first byte (or its opening) to the end of the request headers: a total, so dribbling bytes does not extend it. */
  headerTimeoutMs: number;
  /** No byte received for this long while a request body is expected (and, for ordinary responses, none sent either): closed. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection between two requests is closed after this (at most MAX_KEEP_ALIVE_MS). */
  keepAliveTimeoutMs: number;
  /** A file download that makes no progress (the client reads nothing) for this long is cut. Never a limit on its total time. */
  sendTimeoutMs: number;
  /** Open connections in all; past it a new connection gets 503 and Retry-After. */
  maxConnections: number;
  /** Open connections from one source address; past it a new one from there gets 503 and Retry-After. */
  maxConnectionsPerSource: number;
}

/** nginx's defaults where it has them (60 s header, body and send timeouts); keep-alive stays at the 30 s metalboot always had. */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  headerTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 30_000,
  sendTimeoutMs: 60_000,
  // A booting machine holds one or two connections; an operator's browser about six and an event stream.
  maxConnectionsPerSource: 64,
  maxConnections: 4096,
};

/** nginx's keepalive_timeout default: an idle connection is not worth holding longer. */
export const MAX_KEEP_ALIVE_MS = 75_000;

/** What a refused client is told to wait; iPXE honours Retry-After on a 503. */
export const RETRY_AFTER_SECONDS = 5;
/** A refused connection gets this long to read its 503 before it is cut… */
const REFUSED_LINGER_MS = 1000;
/** …unless this many refused ones are lingering already: then it is cut at once, so a flood costs no file descriptors. */
const MAX_LINGERING = 1024;
/** Refusals are logged once per this interval, with a count, not once per connection. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export type RefusalReason = 'total' | 'per-source';

export interface RefusalLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Counts open connections, in all and per source address, and refuses a new one past either cap
 * with a raw `503` + `Retry-After` written on the socket before it closes (no request is parsed,
 * nothing else runs). A connection is counted from its acceptance until its socket's 'close',
 * which node emits exactly once for every socket whatever ends it, so a count cannot leak; a source
 * whose count drops to zero leaves the map, which thus never holds more than maxConnections entries.
 */
export class ConnectionGate {
  private open = 0;
  private readonly perSource = new Map<string, number>();
  private lingering = 0;
  private readonly refused: Record<RefusalReason, number> = { total: 0, 'per-source': 0 };
  private unlogged: Record<RefusalReason, number> = { total: 0, 'per-source': 0 };
  private lastLog = -Infinity;

  constructor(
    private readonly limits: Pick<HttpLimits, 'maxConnections' | 'maxConnectionsPerSource'>,
    private readonly log?: RefusalLogger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Puts the gate in front of the server's own connection handling (node's HTTP parser never sees a refused socket). */
  install(server: Server): void {
    const own = server.listeners('connection') as Array<(socket: Socket) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (this.admit(socket)) for (const listener of own) listener.call(server, socket);
    });
  }

  /** Open connections from `source` (an address as clients send from; IPv4-mapped IPv6 is unwrapped). */
  openFrom(source: string): number {
    return this.perSource.get(unmappedIp(source)) ?? 0;
  }

  stats(): { open: number; sources: number; lingering: number; refused: Record<RefusalReason, number> } {
    return { open: this.open, sources: this.perSource.size, lingering: this.lingering, refused: { ...this.refused } };
  }

  private admit(socket: Socket): boolean {
    const source = unmappedIp(socket.remoteAddress ?? '');
    if (!source || socket.destroyed) {
      socket.destroy(); // gone before we saw it: nothing to answer
      return false;
    }
    const fromSource = this.perSource.get(source) ?? 0;
    const reason: RefusalReason | undefined =
      this.open >= this.limits.maxConnections
        ? 'total'
        : fromSource >= this.limits.maxConnectionsPerSource
          ? 'per-source'
          : undefined;
    if (reason) {
      this.refuse(socket, source, reason);
      return false;
    }
    this.open++;
    this.perSource.set(source, fromSource + 1);
    socket.once('close', () => {
      this.open--;
      const left = (this.perSource.get(source) ?? 1) - 1;
      if (left > 0) this.perSource.set(source, left);
      else this.perSource.delete(source);
    });
    return true;
  }

  private refuse(socket: Socket, source: string, reason: RefusalReason): void {
    this.refused[reason]++;
    this.unlogged[reason]++;
    this.logRefusals(source, reason);
    socket.on('error', () => undefined); // a client that resets is no news
    if (this.lingering >= MAX_LINGERING) {
      socket.destroy();
      return;
    }
    this.lingering++;
    socket.once('close', () => this.lingering--);
    // Read (and drop) what the client sends, so closing does not reset the connection before it
    // has read the answer; its FIN, or the linger timer, ends it.
    socket.on('end', () => socket.destroy());
    socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
    socket.resume();
    socket.end(
      refusal(source, reason, reason === 'total' ? this.limits.maxConnections : this.limits.maxConnectionsPerSource),
    );
  }

  private logRefusals(source: string, reason: RefusalReason): void {
    const now = this.now();
    if (!this.log || now - this.lastLog < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastLog = now;
    const counts = this.unlogged;
    this.unlogged = { total: 0, 'per-source': 0 };
    this.log.warn(
      {
        source,
        reason,
        refusedTotalCap: counts.total,
        refusedPerSourceCap: counts['per-source'],
        open: this.open,
        limits: this.limits,
      },
      `HTTP connections refused with 503 (${counts['per-source']} past the per-source cap of ${this.limits.maxConnectionsPerSource}, ${counts.total} past the total cap of ${this.limits.maxConnections}) since the last such line; latest from ${source}`,
    );
  }
}

function refusal(source: string, reason: RefusalReason, limit: number): string {
  const why =
    reason === 'total'
      ? `the server holds its maximum of ${limit} connections`
      : `${source} holds its maximum of ${limit} connections`;
  const body = JSON.stringify({
    error: 'too_many_connections',
    message: `${why}; retry after ${RETRY_AFTER_SECONDS} s`,
  });
  return [
    'HTTP/1.1 503 Service Unavailable',
    `Retry-After: ${RETRY_AFTER_SECONDS}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * node's own timers do the timing: headersTimeout (a 408, checked every connectionsCheckingInterval)
 * covers a connection that sends nothing as well as one that dribbles its headers; the socket's
 * inactivity timeout (server.timeout) covers a request body, and ordinary responses; keepAliveTimeout
 * replaces it between requests (node adds 1 s to it). No requestTimeout: it would be a total time.
 * Downloads set their own inactivity timeout (file-sender's inactivityTimeoutMs).
 */
export function applyHttpTimeouts(server: Server, limits: HttpLimits): void {
  server.headersTimeout = limits.headerTimeoutMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.timeout = limits.bodyTimeoutMs;
  // Read when the server starts listening: how often node looks for connections past the header timeout.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    100,
    Math.min(5000, Math.floor(limits.headerTimeoutMs / 4)),
  );
}

/** Refuses values that would switch a limit off or defeat it, with the setting's name. */
export function validateHttpLimits(limits: HttpLimits): HttpLimits {
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`HTTP limit ${key} must be a positive integer, got ${value}`);
  }
  if (limits.keepAliveTimeoutMs > MAX_KEEP_ALIVE_MS)
    throw new Error(
      `HTTP keep-alive timeout must be at most ${MAX_KEEP_ALIVE_MS / 1000} s, got ${limits.keepAliveTimeoutMs / 1000} s`,
    );
  if (limits.maxConnectionsPerSource > limits.maxConnections) {
    throw new Error(
      `HTTP connections per source (${limits.maxConnectionsPerSource}) must not exceed the total (${limits.maxConnections})`,
    );
  }
  return limits;
}
