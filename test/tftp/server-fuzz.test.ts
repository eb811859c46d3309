// Fuzz the running server over real sockets: 150k random and mutated
// datagrams at the request port and at live transfer ports. Nothing may throw
// (an uncaught exception fails this test), no handler may log a failure, and
// the server must still serve a file correctly afterwards.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tftpGet } from '../../src/tftp/client.js';
import { Opcode, encodeAck, encodeData, encodeError, encodeOack, encodeRequest } from '../../src/tftp/packets.js';
import { startTftpServer } from '../../src/tftp/server.js';
import { xorshift32 } from '../helpers/prng.js';

const PACKETS = 150_000;
const SOCKETS = 16;

t.test('server survives 150k fuzzed datagrams and still serves', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tftp-fuzz-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const content = randomBytes(300_000);
  fs.writeFileSync(path.join(dir, 'file.bin'), content);
  fs.writeFileSync(path.join(dir, 'tiny'), 'x');

  const failures: string[] = [];
  const noop = (): void => undefined;
  const logger = {
    debug: noop,
    info: noop,
    warn: noop,
    error: (_o: object, msg?: string) => void failures.push(msg ?? '?'),
  };
  const server = await startTftpServer({
    host: '127.0.0.1',
    port: 0,
    root: dir,
    logger,
    maxTransfers: 64,
    timeoutMs: 30,
    retries: 1,
  });
  t.teardown(() => server.close());
  const port = server.address().port;

  const seed = Number(process.env.TFTP_FUZZ_SEED ?? 0xf22);
  const rand = xorshift32(seed);
  const seeds = [
    encodeRequest(Opcode.RRQ, 'file.bin', 'octet', { blksize: 1468, tsize: 0, windowsize: 8, timeout: 1 }),
    encodeRequest(Opcode.RRQ, 'tiny', 'netascii'),
    encodeRequest(Opcode.RRQ, '../file.bin', 'octet', { blksize: 8 }),
    encodeRequest(Opcode.WRQ, 'file.bin', 'octet'),
    encodeAck(0),
    encodeAck(1),
    encodeData(1, Buffer.from('data')),
    encodeError(8, 'abort'),
    encodeOack({ blksize: 8 }),
  ];
  // Transfer TIDs learned from the server's replies, so fuzz also reaches transfer sockets.
  const tids: number[] = [];
  const sockets = await Promise.all(
    Array.from({ length: SOCKETS }, async () => {
      const s = dgram.createSocket('udp4');
      s.on('message', (_msg, rinfo) => {
        // Keep the most recent TIDs: old transfers are gone, their ports closed.
        if (rinfo.port !== port && !tids.includes(rinfo.port)) tids.push(rinfo.port) > 32 && tids.shift();
      });
      s.on('error', noop); // ICMP unreachable from closed transfer ports
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    }),
  );
  t.teardown(() => sockets.forEach((s) => s.close()));

  const buf = Buffer.alloc(1600);
  for (let i = 0; i < PACKETS; i++) {
    let len: number;
    if (rand() % 3 === 0) {
      len = rand() % 700;
      for (let j = 0; j < len; j++) buf[j] = rand() & 0xff;
      if (len >= 2 && rand() % 2 === 0) {
        buf[0] = 0;
        buf[1] = rand() % 8;
      }
    } else {
      const base = seeds[rand() % seeds.length] as Buffer;
      len = Math.max(0, base.length + (rand() % 9) - 4);
      base.copy(buf, 0, 0, Math.min(len, base.length));
      for (let j = base.length; j < len; j++) buf[j] = rand() & 0xff;
      const flips = rand() % 3;
      for (let f = 0; f < flips && len > 0; f++) buf[rand() % len] = rand() & 0xff;
    }
    const toTransfer = tids.length > 0 && rand() % 6 === 0;
    const target = toTransfer ? (tids[rand() % tids.length] as number) : port;
    // send() may run later, so each datagram gets its own copy of the bytes.
    const socket = sockets[i % SOCKETS] as dgram.Socket;
    const datagram = Buffer.from(buf.subarray(0, len));
    if (i % 32 === 31) {
      // Pace: wait until this batch has left, then let the server read it, so
      // the datagrams reach its handlers instead of overflowing socket buffers.
      await new Promise((resolve) => socket.send(datagram, target, '127.0.0.1', resolve));
      await new Promise((r) => setImmediate(r));
    } else {
      socket.send(datagram, target, '127.0.0.1');
    }
  }
  // Let fuzz-started transfers time out (30 ms x 2) before the real download.
  for (let i = 0; i < 300 && server.activeTransfers > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(server.activeTransfers, 0, 'fuzz-started transfers all ended');
  t.same(failures, [], 'no handler failure was logged');

  const got = await tftpGet({ host: '127.0.0.1', port, file: 'file.bin', blksize: 1468, windowsize: 4 });
  t.equal(got.sha256, createHash('sha256').update(content).digest('hex'), 'still serves a correct file');
  t.ok(tids.length > 0, 'fuzz reached transfer sockets too');
});
