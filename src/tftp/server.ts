// metalboot's read-only TFTP server (RFC 1350 + 2347/2348/2349/7440).
//
// The request socket only parses RRQ/WRQ and hands each accepted request to a
// ReadTransfer on its own ephemeral socket, connected to the client so the
// kernel filters foreign TIDs for us. Nothing thrown while handling a datagram
// escapes: every handler is wrapped and failures are logged.
import dgram from 'node:dgram';
import { close as closeFd } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import { enlargeRecvBuffer } from '../net/recv-buffer.js';
import { negotiateOptions } from './options.js';
import { ErrorCode, Opcode, decodePacket, encodeError } from './packets.js';
import type { RequestPacket } from './packets.js';
import { openInsideRoot } from './paths.js';
import { MAX_SLOTS, ReadTransfer } from './transfer.js';
import type { TftpErrorKind, TftpLogger, TftpObserver, TftpServer, TftpServerOptions } from './types.js';
import { TftpTransferError } from './types.js';

export * from './types.js';

const noop = (): void => undefined;

export const DEFAULT_MAX_TRANSFERS_PER_SOURCE = 8;

const silentLogger: TftpLogger = { debug: noop, info: noop, warn: noop, error: noop };

const ERROR_CODE_FOR: Record<TftpErrorKind, number> = {
  NOT_FOUND: ErrorCode.FILE_NOT_FOUND,
  ACCESS_VIOLATION: ErrorCode.ACCESS_VIOLATION,
  ILLEGAL_OPERATION: ErrorCode.ILLEGAL_OPERATION,
  BUSY: ErrorCode.NOT_DEFINED,
  CLIENT_ABORTED: ErrorCode.NOT_DEFINED,
  TIMEOUT: ErrorCode.NOT_DEFINED,
  IO: ErrorCode.NOT_DEFINED,
  SERVER_CLOSED: ErrorCode.NOT_DEFINED,
};

/** Calls an observer hook, keeping its exceptions out of the transfer. */
function notify<E>(logger: TftpLogger, hook: ((event: E) => void) | undefined, event: E): void {
  if (!hook) return;
  try {
    hook(event);
  } catch (err) {
    logger.error({ err }, 'tftp observer threw');
  }
}

interface Client {
  /** As the socket layer needs it, e.g. "::ffff:10.0.0.5" on a dual-stack socket. */
  address: string;
  port: number;
  /** As reported to the observer and logs: IPv4-mapped addresses unwrapped to "10.0.0.5". */
  reported: string;
}

function clientOf(address: string, port: number): Client {
  const mapped = address.toLowerCase().startsWith('::ffff:') && net.isIPv4(address.slice(7));
  return { address, port, reported: mapped ? address.slice(7) : address };
}

/** A request from setup (bind, open, negotiate) until its socket has closed. */
class Session {
  transfer: ReadTransfer | undefined;
  aborted = false;
  readonly closed: Promise<void>;
  constructor(
    readonly client: Client,
    readonly socket: dgram.Socket,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', resolve));
  }
  abort(kind: TftpErrorKind, message: string): void {
    this.aborted = true;
    if (this.transfer) this.transfer.abort(kind, message, ERROR_CODE_FOR[kind]);
    else this.closeSocket(); // still in setup: it checks `aborted` after each await
  }
  closeSocket(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export async function startTftpServer(options: TftpServerOptions): Promise<TftpServer> {
  const logger = options.logger ?? silentLogger;
  const observer: TftpObserver = options.observer ?? {};
  const maxTransfers = options.maxTransfers ?? 1000;
  const maxPerSource = options.maxTransfersPerSource ?? DEFAULT_MAX_TRANSFERS_PER_SOURCE;
  const retries = options.retries ?? 5;
  const limits = {
    maxBlksize: options.maxBlksize ?? 1468,
    // A window must fit the transfer's packet slots (one readv, at most IOV_MAX).
    maxWindowsize: Math.min(options.maxWindowsize ?? 64, MAX_SLOTS),
    defaultTimeoutMs: options.timeoutMs ?? 1000,
  };
  const realRoot = await fs.realpath(options.root);
  if (!(await fs.stat(realRoot)).isDirectory()) throw new Error(`TFTP root is not a directory: ${options.root}`);
  const socketType = net.isIPv6(options.host) ? 'udp6' : 'udp4';

  /**
   * One entry per request being set up or transferring, keyed by client
   * "address|port": a retransmitted RRQ must not start a second transfer.
   * The entry goes away when its socket closes, whatever the outcome.
   */
  const sessions = new Map<string, Session>();
  /**
   * Sessions per source address (as reported, so a v4-mapped and a plain address are one source);
   * a source leaves the map when its last session closes, so it never outgrows `sessions`.
   */
  const perSource = new Map<string, number>();
  /**
   * Sources refused since they last dropped below the cap: only their first refusal is logged and
   * observed (a timeline entry for a known machine), so a flood of requests writes one line, not one per packet.
   */
  const refusedSources = new Set<string>();
  let closing = false;

  const requestSocket = dgram.createSocket({ type: socketType });
  requestSocket.on('error', (err) => logger.error({ err }, 'tftp request socket error'));
  await new Promise<void>((resolve, reject) => {
    requestSocket.once('error', reject);
    requestSocket.bind(options.port, options.host, () => {
      requestSocket.off('error', reject);
      resolve();
    });
  });
  enlargeRecvBuffer(requestSocket, 'tftp request socket', logger);
  requestSocket.on('message', (msg, rinfo) => {
    try {
      handleRequest(msg, clientOf(rinfo.address, rinfo.port));
    } catch (err) {
      logger.error({ err, client: rinfo.address }, 'tftp request handler failed');
    }
  });

  function reportError(client: Client, file: string | undefined, kind: TftpErrorKind, message: string): void {
    // Garbage is routine on a boot network (scanners, broken ROMs): keep it out of info logs.
    const level = kind === 'ILLEGAL_OPERATION' ? 'debug' : 'info';
    logger[level]({ client: client.reported, file, kind, message }, 'tftp request refused');
    const error = new TftpTransferError(kind, message);
    notify(logger, observer.onTransferError, { file, clientAddress: client.reported, clientPort: client.port, error });
  }

  /** Refusals that need no transfer socket (busy, malformed) come from the request port. */
  function refuseFromRequestSocket(client: Client, code: number, message: string): void {
    requestSocket.send(encodeError(code, message), client.port, client.address, noop);
  }

  function handleRequest(msg: Buffer, client: Client): void {
    if (closing || msg.length < 2 || msg[0] !== 0) return;
    // Only requests belong on the request port; stray DATA/ACK/ERROR are dropped
    // silently, as answering them would let anyone reflect traffic off us.
    if (msg[1] !== Opcode.RRQ && msg[1] !== Opcode.WRQ) return;
    const key = `${client.address}|${client.port}`;
    if (sessions.has(key)) return; // retransmitted request: the transfer answers it
    const decoded = decodePacket(msg);
    if (!decoded.ok) {
      refuseFromRequestSocket(client, ErrorCode.ILLEGAL_OPERATION, `malformed request: ${decoded.error}`);
      reportError(client, undefined, 'ILLEGAL_OPERATION', `malformed request: ${decoded.error}`);
      return;
    }
    if (sessions.size >= maxTransfers) {
      refuseFromRequestSocket(client, ErrorCode.NOT_DEFINED, 'server busy, retry later');
      reportError(
        client,
        (decoded.packet as RequestPacket).filename,
        'BUSY',
        `more than ${maxTransfers} concurrent transfers`,
      );
      return;
    }
    const source = client.reported;
    const fromSource = perSource.get(source) ?? 0;
    if (fromSource >= maxPerSource) {
      refuseFromRequestSocket(client, ErrorCode.NOT_DEFINED, `too many transfers from ${source}, retry later`);
      if (!refusedSources.has(source)) {
        refusedSources.add(source);
        reportError(
          client,
          (decoded.packet as RequestPacket).filename,
          'BUSY',
          `more than ${maxPerSource} concurrent transfers from ${source} (further refusals until one ends are not logged)`,
        );
      }
      return;
    }
    const session = new Session(client, dgram.createSocket({ type: socketType }));
    sessions.set(key, session);
    perSource.set(source, fromSource + 1);
    session.closed.then(() => {
      sessions.delete(key);
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
      refusedSources.delete(source);
    }, noop);
    startSession(session, decoded.packet as RequestPacket).catch((err: unknown) => {
      logger.error({ err, client: client.reported }, 'tftp transfer setup failed');
      session.closeSocket();
    });
  }

  async function startSession(session: Session, request: RequestPacket): Promise<void> {
    const startedAt = performance.now();
    const { client, socket } = session;
    socket.on('error', (err) => {
      // ECONNREFUSED: the client's port is gone (ICMP unreachable), it gave up.
      if (session.transfer) session.transfer.abort('CLIENT_ABORTED', `socket error: ${err.message}`);
      else if (!session.aborted) {
        reportError(client, request.filename, 'IO', `transfer socket: ${err.message}`);
        session.abort('IO', err.message);
      }
    });
    const refuse = (kind: TftpErrorKind, message: string, file?: string): void => {
      reportError(client, file ?? request.filename, kind, message);
      socket.send(encodeError(ERROR_CODE_FOR[kind], message), () => session.closeSocket());
    };
    // A failing bind/connect emits 'error' (handled above: the socket closes and
    // the session with it) instead of calling back, so these only ever resolve.
    // After each await the session may have been aborted (server closing).
    await new Promise<void>((resolve) => socket.bind(0, options.host, resolve));
    if (session.aborted) return;
    await new Promise<void>((resolve) => socket.connect(client.port, client.address, resolve));
    if (session.aborted) return;
    if (request.opcode === Opcode.WRQ) return refuse('ACCESS_VIOLATION', 'write requests refused: read-only server');
    if (request.mode === 'mail') return refuse('ILLEGAL_OPERATION', 'mail mode not supported');
    // netascii is served byte-for-byte like octet: boot files are binaries and
    // translating line endings would change tsize and block offsets.
    const opened = await openInsideRoot(realRoot, request.filename);
    if (session.aborted) return opened.ok ? closeFd(opened.fd, noop) : undefined;
    if (!opened.ok) return refuse(opened.kind, opened.message, opened.relative);
    const { negotiated, oack } = negotiateOptions(request.options, opened.size, limits);
    const file = opened.relative;
    const base = { file, clientAddress: client.reported, clientPort: client.port };
    notify(logger, observer.onTransferStart, { ...base, options: negotiated });
    logger.debug({ client: client.reported, file, options: negotiated }, 'tftp transfer start');
    session.transfer = new ReadTransfer({
      socket,
      fd: opened.fd,
      size: opened.size,
      options: negotiated,
      oack,
      retries,
      hooks: {
        debug: (obj, msg) => logger.debug({ ...obj, client: client.reported, file }, msg),
        onEnd: (error, bytes) => {
          if (error) {
            logger.info(
              { client: client.reported, file, kind: error.kind, message: error.message },
              'tftp transfer failed',
            );
            notify(logger, observer.onTransferError, { ...base, error });
          } else {
            const durationMs = performance.now() - startedAt;
            logger.info({ client: client.reported, file, bytes, durationMs }, 'tftp transfer complete');
            notify(logger, observer.onTransferComplete, { ...base, bytes, durationMs });
          }
        },
      },
    });
    session.transfer.begin();
  }

  return {
    address() {
      const a = requestSocket.address();
      return { address: a.address, family: a.family, port: a.port };
    },
    get activeTransfers() {
      return sessions.size;
    },
    async close() {
      if (closing) return;
      closing = true;
      const all = [...sessions.values()];
      for (const session of all) session.abort('SERVER_CLOSED', 'server shutting down');
      await new Promise<void>((resolve) => requestSocket.close(() => resolve()));
      await Promise.all(all.map((session) => session.closed));
    },
  };
}
