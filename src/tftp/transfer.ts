// One read transfer on its own ephemeral UDP socket (the RFC 1350 TID).
//
// Memory per transfer is fixed: one buffer of `slots` ready-to-send DATA
// packets (header + payload), filled with a single readv per batch. Blocks are
// sent straight out of that buffer, so the per-block hot path allocates
// nothing of ours. The batch always starts at the oldest unacknowledged block,
// which keeps retransmission trivial: resend from the batch.
import type dgram from 'node:dgram';
import fs from 'node:fs';
import { DATA_HEADER_BYTES, ErrorCode, Opcode, encodeError, encodeOack, writeDataHeader } from './packets.js';
import type { NegotiatedOptions, TftpErrorKind } from './types.js';
import { TftpTransferError } from './types.js';

/** Read ahead at least this much per readv when the window is small: fewer syscalls. */
const READ_AHEAD_BYTES = 32 * 1024;
/** Linux IOV_MAX: one readv fills at most this many slots, so windows are capped to it too. */
export const MAX_SLOTS = 1024;

export interface TransferHooks {
  /** Called once when the transfer ends either way; the socket is closing. */
  onEnd(error: TftpTransferError | undefined, bytes: number): void;
  debug(obj: object, msg: string): void;
}

export interface TransferParams {
  socket: dgram.Socket; // bound and connected to the client
  fd: number;
  size: number;
  options: NegotiatedOptions;
  oack: Map<string, string> | undefined;
  retries: number;
  hooks: TransferHooks;
}

export class ReadTransfer {
  private readonly socket: dgram.Socket;
  private readonly fd: number;
  private readonly size: number;
  private readonly blksize: number;
  private readonly windowsize: number;
  private readonly stride: number;
  private readonly slots: number;
  private readonly packets: Buffer;
  private readonly payloadViews: Buffer[];
  /** Absolute (never wrapping) number of the final block; it may carry 0 bytes. */
  private readonly lastBlock: number;
  private readonly oackPacket: Buffer | undefined;
  private readonly maxRetries: number;
  private readonly timer: NodeJS.Timeout;
  private readonly hooks: TransferHooks;

  private phase: 'oack' | 'data' | 'ended' = 'data';
  private nextUnacked = 1;
  private windowEnd = 0;
  private batchStart = 1;
  private batchCount = 0;
  private reading = false;
  private readExpected = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  private retriesLeft: number;

  constructor(params: TransferParams) {
    this.socket = params.socket;
    this.fd = params.fd;
    this.size = params.size;
    this.blksize = params.options.blksize;
    this.windowsize = params.options.windowsize;
    this.hooks = params.hooks;
    this.maxRetries = params.retries;
    this.retriesLeft = params.retries;
    this.lastBlock = Math.floor(this.size / this.blksize) + 1;
    this.stride = DATA_HEADER_BYTES + this.blksize;
    const readAhead = Math.max(1, Math.floor(READ_AHEAD_BYTES / this.blksize));
    this.slots = Math.min(Math.max(this.windowsize, readAhead), this.lastBlock, MAX_SLOTS);
    this.packets = Buffer.allocUnsafe(this.slots * this.stride);
    this.payloadViews = [];
    for (let i = 0; i < this.slots; i++) {
      const start = i * this.stride + DATA_HEADER_BYTES;
      this.payloadViews.push(this.packets.subarray(start, start + this.blksize));
    }
    this.oackPacket = params.oack ? encodeOack(params.oack) : undefined;
    // Bound once so the hot path passes existing functions, not fresh closures.
    this.onReadDone = this.onReadDone.bind(this);
    this.onTimeout = this.onTimeout.bind(this);
    this.onMessage = this.onMessage.bind(this);
    this.timer = setTimeout(this.onTimeout, params.options.timeoutMs);
    this.timer.unref();
    this.socket.on('message', this.onMessage);
  }

  /** Sends the OACK (when options were accepted) or the first window. */
  begin(): void {
    if (this.oackPacket) {
      this.phase = 'oack';
      this.socket.send(this.oackPacket);
      this.timer.refresh();
    } else {
      this.sendWindow();
    }
  }

  /** Ends the transfer; `notifyCode` sends an ERROR packet to the client first. */
  abort(kind: TftpErrorKind, message: string, notifyCode?: number): void {
    if (this.phase === 'ended') return;
    const error = new TftpTransferError(kind, message, this.ackedBytes());
    if (notifyCode === undefined) return this.end(error, false);
    // Closing the socket would cancel a queued ERROR: close once it has left.
    this.socket.send(encodeError(notifyCode, message), () => this.closeSocket());
    this.end(error, true);
  }

  private ackedBytes(): number {
    return Math.min(this.size, (this.nextUnacked - 1) * this.blksize);
  }

  private end(error: TftpTransferError | undefined, closeAfterSend: boolean): void {
    this.phase = 'ended';
    clearTimeout(this.timer);
    this.socket.off('message', this.onMessage);
    // A readv still in flight owns the fd; onReadDone closes it instead.
    if (!this.reading) fs.close(this.fd, () => undefined);
    clearTimeout(this.drainTimer);
    if (!closeAfterSend) this.closeSocket();
    this.hooks.onEnd(error, error ? error.bytes : this.size);
  }

  private closeSocket(): void {
    try {
      this.socket.close();
    } catch {
      // already closed (server shutdown raced us): nothing left to release
    }
  }

  private blockLength(block: number): number {
    return block < this.lastBlock ? this.blksize : this.size - (this.lastBlock - 1) * this.blksize;
  }

  /** (Re)sends the window starting at the oldest unacknowledged block. */
  private sendWindow(): void {
    if (this.phase !== 'data' || this.reading) return;
    const first = this.nextUnacked;
    const last = Math.min(first + this.windowsize - 1, this.lastBlock);
    if (first < this.batchStart || last >= this.batchStart + this.batchCount) {
      this.refill(first);
      return;
    }
    for (let block = first; block <= last; block++) {
      // No callback: it would cost a nextTick per packet. Send errors surface
      // as socket 'error' events (ICMP unreachable) or, at worst, as timeouts.
      this.socket.send(
        this.packets,
        (block - this.batchStart) * this.stride,
        DATA_HEADER_BYTES + this.blockLength(block),
      );
    }
    this.windowEnd = last;
    this.timer.refresh();
  }

  /** Reads the batch starting at `first` into the packet slots (one readv). */
  private refill(first: number): void {
    // A send libuv had to queue (socket buffer full) still references the
    // slots; overwriting them could put torn packets on the wire. Sends
    // normally complete synchronously, so this wait is rare.
    if (this.socket.getSendQueueCount() > 0) {
      this.drainTimer ??= setTimeout(() => {
        this.drainTimer = undefined;
        this.sendWindow();
      }, 1);
      return;
    }
    const count = Math.min(this.slots, this.lastBlock - first + 1);
    for (let i = 0; i < count; i++) writeDataHeader(this.packets, i * this.stride, (first + i) & 0xffff);
    this.batchStart = first;
    this.readExpected = Math.min(count * this.blksize, this.size - (first - 1) * this.blksize);
    this.reading = true;
    this.batchCount = count;
    fs.readv(this.fd, this.payloadViews, (first - 1) * this.blksize, this.onReadDone);
  }

  private onReadDone(err: Error | null, bytesRead: number): void {
    this.reading = false;
    if (this.phase === 'ended') {
      fs.close(this.fd, () => undefined);
      return;
    }
    if (err) return this.abort('IO', `read failed: ${err.message}`, ErrorCode.NOT_DEFINED);
    if (bytesRead < this.readExpected) {
      return this.abort('IO', 'file shrank during transfer', ErrorCode.NOT_DEFINED);
    }
    this.sendWindow();
  }

  private onTimeout(): void {
    if (this.phase === 'ended') return;
    if (this.retriesLeft <= 0) {
      this.abort('TIMEOUT', `no acknowledgement after ${this.maxRetries} retransmissions`, ErrorCode.NOT_DEFINED);
      return;
    }
    this.retriesLeft--;
    this.hooks.debug({ phase: this.phase, block: this.nextUnacked }, 'tftp retransmit');
    if (this.phase === 'oack' && this.oackPacket) {
      this.socket.send(this.oackPacket);
      this.timer.refresh();
    } else {
      this.sendWindow();
    }
  }

  /** The socket is connected, so only the client's own datagrams arrive here. */
  private onMessage(msg: Buffer): void {
    if (this.phase === 'ended' || msg.length < 4 || msg[0] !== 0) return;
    const opcode = msg[1];
    if (opcode === Opcode.ACK) {
      this.onAck(msg.readUInt16BE(2));
    } else if (opcode === Opcode.ERROR) {
      const end = msg.indexOf(0, 4);
      const text = msg.toString('utf8', 4, end === -1 ? Math.min(msg.length, 260) : Math.min(end, 260));
      const error = new TftpTransferError(
        'CLIENT_ABORTED',
        `client sent ERROR ${msg.readUInt16BE(2)}: ${text}`,
        this.ackedBytes(),
      );
      this.end(error, false);
    }
    // Anything else (DATA, requests, OACK) from a reader is ignored: answering
    // strays would only amplify a confused or hostile peer.
  }

  private onAck(block: number): void {
    if (this.phase === 'oack') {
      if (block !== 0) return;
      this.phase = 'data';
      this.retriesLeft = this.maxRetries;
      this.sendWindow();
      return;
    }
    // Map the 16-bit number onto the absolute window (handles rollover).
    const lastAcked = this.nextUnacked - 1;
    const delta = (block - lastAcked) & 0xffff;
    // delta 0: a duplicate ACK. Resending on duplicates is the Sorcerer's
    // Apprentice bug; the retransmission timer alone recovers real loss.
    if (delta === 0 || delta > this.windowEnd - lastAcked) return;
    const acked = lastAcked + delta;
    this.nextUnacked = acked + 1;
    this.retriesLeft = this.maxRetries;
    if (acked === this.lastBlock) {
      this.end(undefined, false);
      return;
    }
    // Full window acknowledged, or (RFC 7440) a partial ACK meaning the client
    // lost a block: either way the next window starts right after `acked`.
    this.sendWindow();
  }
}
