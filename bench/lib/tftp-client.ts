// TFTP read as UEFI firmware does it for `ipxe.efi` (NOTES.md gotcha 9): first a probe
// (RRQ with tsize=0 and blksize, OACK, ERROR 8 to end it), then the real transfer, lock-step,
// blksize 1468. Bound to the simulated machine's own address, so the server sees (and metalboot
// attributes the transfer to) that machine. Packets from metalboot's codec (src/tftp/packets.ts).
import dgram from 'node:dgram';
import { Opcode, decodePacket, encodeError, encodeRequest, writeAck } from '../../src/tftp/packets.js';

export interface TftpFetchOptions {
  server: string;
  port?: number;
  localAddress: string;
  file: string;
  blksize: number;
  /** Do the tsize probe first, like OVMF. */
  probe: boolean;
  timeoutMs: number;
  /** Retransmissions allowed per packet before giving up. */
  retries: number;
}

export interface TftpFetchResult {
  bytes: number;
  tsize?: number;
  retries: number;
  ms: number;
}

function oneTransfer(o: TftpFetchOptions, probe: boolean): Promise<{ bytes: number; tsize?: number; retries: number }> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const options: Record<string, string | number> = { blksize: o.blksize };
    if (probe) options.tsize = 0;
    const rrq = encodeRequest(Opcode.RRQ, o.file, 'octet', options);
    const ack = Buffer.alloc(4);
    let serverPort = 0;
    let blksize = 512;
    let received = 0;
    let bytes = 0;
    let retries = 0;
    let left = o.retries;
    let last: Buffer = rrq;
    let lastPort = o.port ?? 69;
    let done = false;
    const finish = (err?: Error, tsize?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(Object.assign(err, { retries }));
      else resolve({ bytes, tsize, retries });
    };
    const send = (buf: Buffer, port: number, then?: () => void) => {
      last = buf;
      lastPort = port;
      socket.send(buf, port, o.server, then);
      timer.refresh();
    };
    const timer = setTimeout(function onTimeout() {
      if (left-- <= 0) return finish(new Error(`TFTP ${o.file}: timed out waiting for block ${received + 1}`));
      retries++;
      socket.send(last, lastPort, o.server);
      timer.refresh();
    }, o.timeoutMs);
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg, rinfo) => {
      if (done || msg.length < 4) return;
      if (serverPort === 0) serverPort = rinfo.port;
      else if (rinfo.port !== serverPort) return;
      left = o.retries;
      const opcode = msg.readUInt16BE(0);
      if (opcode === Opcode.DATA) {
        const block = msg.readUInt16BE(2);
        if (block !== ((received + 1) & 0xffff)) {
          // Duplicate of the last block (our ACK was lost or late): ACK it again.
          if (block === (received & 0xffff)) send(ack, serverPort);
          return;
        }
        received++;
        const n = msg.length - 4;
        bytes += n;
        writeAck(ack, 0, block);
        if (n < blksize) send(ack, serverPort, () => finish());
        else send(ack, serverPort);
        return;
      }
      const d = decodePacket(msg);
      if (!d.ok) return finish(new Error(`TFTP ${o.file}: malformed packet: ${d.error}`));
      const p = d.packet;
      if (p.opcode === Opcode.ERROR) return finish(new Error(`TFTP ${o.file}: server error ${p.code} ${p.message}`));
      if (p.opcode === Opcode.OACK && received === 0) {
        blksize = Number(p.options.get('blksize') ?? 512);
        if (probe) {
          const tsize = Number(p.options.get('tsize'));
          socket.send(encodeError(8, 'tsize probe done'), serverPort, o.server, () => finish(undefined, tsize));
          return;
        }
        writeAck(ack, 0, 0);
        send(ack, serverPort);
      }
    });
    socket.bind(0, o.localAddress, () => send(rrq, lastPort));
  });
}

export async function tftpFetch(o: TftpFetchOptions): Promise<TftpFetchResult> {
  const started = performance.now();
  let retries = 0;
  let tsize: number | undefined;
  if (o.probe) {
    const p = await oneTransfer(o, true);
    retries += p.retries;
    tsize = p.tsize;
  }
  try {
    const t = await oneTransfer(o, false);
    retries += t.retries;
    if (tsize !== undefined && tsize !== t.bytes)
      throw new Error(`TFTP ${o.file}: tsize ${tsize} but ${t.bytes} bytes received`);
    return { bytes: t.bytes, tsize, retries, ms: performance.now() - started };
  } catch (err) {
    (err as { retries?: number }).retries = ((err as { retries?: number }).retries ?? 0) + retries;
    throw err;
  }
}
