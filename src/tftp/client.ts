// Minimal TFTP read client (RFC 1350 + options + RFC 7440 windows). It exists
// to test and benchmark the server with one well-understood peer; it is not
// used by metalboot at run time. `dropAck` injects faults for tests.
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { ErrorCode, Opcode, decodePacket, encodeAck, encodeError, encodeRequest, writeAck } from './packets.js';

export interface TftpGetOptions {
  host: string;
  port: number;
  file: string;
  mode?: string;
  blksize?: number;
  windowsize?: number;
  /** Ask for tsize (RFC 2349). */
  tsize?: boolean;
  /** Client retransmission timeout; also sent as the `timeout` option when `sendTimeout`. */
  timeoutMs?: number;
  sendTimeout?: boolean;
  retries?: number;
  /** Return true to "lose" the ACK for this absolute block number (0 = ACK of the OACK). */
  dropAck?: (block: number) => boolean;
  /** Send ERROR 8 right after the OACK, like OVMF's tsize probe. */
  abortAfterOack?: boolean;
  /** Keep the whole file in the result (tests); otherwise only size and sha256. */
  collect?: boolean;
}

export interface TftpGetResult {
  bytes: number;
  sha256: string;
  data?: Buffer;
  /** Options from the server's OACK, empty when it sent none. */
  oack: Map<string, string>;
  serverPort: number;
  /** DATA packets received that were not the next expected block. */
  outOfOrder: number;
}

export class TftpClientError extends Error {
  constructor(
    message: string,
    /** TFTP error code when the server sent an ERROR packet. */
    readonly code?: number,
  ) {
    super(message);
    this.name = 'TftpClientError';
  }
}

export function tftpGet(opts: TftpGetOptions): Promise<TftpGetResult> {
  return new Promise((resolve, reject) => {
    const requested: Record<string, string | number> = {};
    if (opts.blksize) requested.blksize = opts.blksize;
    if (opts.windowsize) requested.windowsize = opts.windowsize;
    if (opts.tsize) requested.tsize = 0;
    const timeoutMs = opts.timeoutMs ?? 1000;
    if (opts.sendTimeout) requested.timeout = Math.max(1, Math.round(timeoutMs / 1000));
    const request = encodeRequest(Opcode.RRQ, opts.file, opts.mode ?? 'octet', requested);
    const socket = dgram.createSocket(net.isIPv6(opts.host) ? 'udp6' : 'udp4');
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    const ack = Buffer.alloc(4);
    let blksize = 512;
    let windowsize = 1;
    let oack = new Map<string, string>();
    let serverPort = 0;
    let received = 0; // absolute number of the last in-order block
    let sinceAck = 0;
    let gapAcked = false;
    let bytes = 0;
    let outOfOrder = 0;
    let retriesLeft = opts.retries ?? 5;
    let last: Buffer = request;
    let lastPort = opts.port;
    let done = false;

    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else
        resolve({
          bytes,
          sha256: hash.digest('hex'),
          data: opts.collect ? Buffer.concat(chunks) : undefined,
          oack,
          serverPort,
          outOfOrder,
        });
    };
    const send = (buf: Buffer, port: number, then?: () => void): void => {
      last = buf;
      lastPort = port;
      socket.send(buf, port, opts.host, then);
      timer.refresh();
    };
    /** `then` runs once the ACK has left (closing the socket earlier would cancel it). */
    const sendAck = (block: number, then?: () => void): void => {
      if (opts.dropAck?.(block)) {
        last = encodeAck(block & 0xffff); // our own retransmission timer still sends it later
        lastPort = serverPort;
        timer.refresh();
        then?.();
        return;
      }
      writeAck(ack, 0, block & 0xffff);
      send(ack, serverPort, then);
    };
    const timer = setTimeout(function onTimeout() {
      if (retriesLeft-- <= 0) return finish(new TftpClientError(`timed out waiting for block ${received + 1}`));
      socket.send(last, lastPort, opts.host);
      timer.refresh();
    }, timeoutMs);

    socket.on('error', (err) => finish(err));
    socket.on('message', (msg, rinfo) => {
      if (done || msg.length < 4) return;
      if (serverPort === 0)
        serverPort = rinfo.port; // the server's TID
      else if (rinfo.port !== serverPort) return; // not our transfer
      retriesLeft = opts.retries ?? 5;
      const opcode = msg.readUInt16BE(0);
      if (opcode === Opcode.DATA) return onData(msg.readUInt16BE(2), msg.subarray(4));
      const decoded = decodePacket(msg);
      if (!decoded.ok) return finish(new TftpClientError(`malformed packet from server: ${decoded.error}`));
      const packet = decoded.packet;
      if (packet.opcode === Opcode.ERROR) return finish(new TftpClientError(packet.message, packet.code));
      if (packet.opcode === Opcode.OACK && received === 0) {
        oack = packet.options;
        blksize = Number(oack.get('blksize') ?? 512);
        windowsize = Number(oack.get('windowsize') ?? 1);
        if (opts.abortAfterOack) {
          socket.send(encodeError(ErrorCode.OPTION_NEGOTIATION, 'tsize probe done'), serverPort, opts.host, () =>
            finish(),
          );
          return;
        }
        sendAck(0);
      }
    });

    function onData(block: number, data: Buffer): void {
      const ahead = (block - received) & 0xffff;
      if (ahead !== 1) {
        outOfOrder++;
        // A repeat of the last block we have: the server missed our ACK and
        // resent (lock-step or a whole window); ACK it again. A block beyond
        // the next one: a gap; ACK the last in-order block once (RFC 7440) so
        // the server restarts right after it. Older repeats need no answer.
        const repeat = ahead === 0;
        const gap = windowsize > 1 && ahead > 1 && ahead < 0x8000 && !gapAcked;
        if (repeat || gap) {
          gapAcked = gap;
          sinceAck = 0;
          sendAck(received);
        }
        return;
      }
      gapAcked = false;
      received++;
      bytes += data.length;
      hash.update(data);
      if (opts.collect) chunks.push(Buffer.from(data));
      if (data.length < blksize) {
        sendAck(received, () => finish());
        return;
      }
      if (++sinceAck >= windowsize) {
        sinceAck = 0;
        sendAck(received);
      } else {
        timer.refresh();
      }
    }

    socket.bind(0, () => send(request, opts.port));
  });
}
