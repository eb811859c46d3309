// Public types of the TFTP server: configuration, the observer the core uses
// to put transfers on a machine's timeline, and the error it reports.

/** The options a transfer runs with after negotiation (RFC 2347/2348/2349/7440). */
export interface NegotiatedOptions {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout in milliseconds. */
  timeoutMs: number;
  /** File size when the client asked for it (tsize), else undefined. */
  tsize?: number;
  /** Options exactly as the client requested them (lower-cased names). */
  requested: Record<string, string>;
}

export interface TransferStartEvent {
  /** The normalized path relative to root, e.g. "undionly.kpxe". */
  file: string;
  /** The client's IP; IPv4-mapped IPv6 ("::ffff:10.0.0.5") is reported as plain IPv4. */
  clientAddress: string;
  clientPort: number;
  options: NegotiatedOptions;
}

export interface TransferCompleteEvent {
  file: string;
  clientAddress: string;
  clientPort: number;
  bytes: number;
  durationMs: number;
}

export interface TransferErrorEvent {
  /** Undefined when the request could not even be parsed into a file name. */
  file?: string;
  clientAddress: string;
  clientPort: number;
  error: TftpTransferError;
}

/**
 * Callbacks for the core. Every accepted request yields onTransferStart then
 * exactly one of onTransferComplete / onTransferError. A refused request (not
 * found, traversal, write, busy) yields only onTransferError. Observer
 * exceptions are caught and logged, they never break a transfer.
 */
export interface TftpObserver {
  onTransferStart?(event: TransferStartEvent): void;
  onTransferComplete?(event: TransferCompleteEvent): void;
  onTransferError?(event: TransferErrorEvent): void;
}

/** Structural subset of pino's Logger, so a pino child logger can be passed as-is. */
export interface TftpLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type TftpErrorKind =
  | 'NOT_FOUND'
  | 'ACCESS_VIOLATION'
  | 'ILLEGAL_OPERATION'
  | 'BUSY'
  /** The client sent an ERROR. After an OACK with 0 bytes sent this is the
   * usual tsize probe (OVMF, some iPXE builds), not a real failure. */
  | 'CLIENT_ABORTED'
  | 'TIMEOUT'
  | 'IO'
  | 'SERVER_CLOSED';

export class TftpTransferError extends Error {
  override readonly name = 'TftpTransferError';
  constructor(
    readonly kind: TftpErrorKind,
    message: string,
    /** Bytes acknowledged by the client before the failure. */
    readonly bytes = 0,
  ) {
    super(message);
  }
}

export interface TftpServerOptions {
  /** Address to bind, e.g. "0.0.0.0" or a provisioning-interface address. IPv6 works too. */
  host: string;
  /** UDP port; 69 in production, 0 for an ephemeral port in tests. */
  port: number;
  /** Directory served read-only. Requests can never resolve outside it. */
  root: string;
  observer?: TftpObserver;
  logger?: TftpLogger;
  /** Concurrent transfers; further requests get ERROR 0 "server busy". Default 1000. */
  maxTransfers?: number;
  /**
   * Concurrent transfers from one source address; further requests from it get ERROR 0 "too many
   * transfers". Default 8 (a PXE ROM fetches one file at a time; an iPXE binary and a retry fit).
   */
  maxTransfersPerSource?: number;
  /** Retransmission timeout when the client does not ask for one. Default 1000 ms. */
  timeoutMs?: number;
  /** Retransmissions of one packet/window before giving up. Default 5. */
  retries?: number;
  /** Largest blksize granted (RFC 2348 allows up to 65464). Default 1468: fits a 1500 MTU. */
  maxBlksize?: number;
  /** Largest windowsize granted (RFC 7440). Default 64, at most 1024 (IOV_MAX). */
  maxWindowsize?: number;
}

export interface TftpServer {
  /** Bound address of the request socket (useful with port 0). */
  address(): { address: string; family: string; port: number };
  /** Stops accepting requests and aborts running transfers. */
  close(): Promise<void>;
  readonly activeTransfers: number;
}
