// Loopback transfers with the in-repo client: options, windows, rollover,
// retransmission after a lost ACK, observer events.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tftpGet } from '../../src/tftp/client.js';
import { startTftpServer } from '../../src/tftp/server.js';
import type {
  TftpObserver,
  TftpServer,
  TftpServerOptions,
  TransferCompleteEvent,
  TransferErrorEvent,
  TransferStartEvent,
} from '../../src/tftp/server.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tftp-transfers-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const files: Record<string, Buffer> = {
  'small.txt': Buffer.from('hello metalboot\n'),
  'empty.bin': Buffer.alloc(0),
  'exact-512.bin': randomBytes(1024), // multiple of 512: ends with a 0-byte block
  'big.bin': randomBytes(1_500_000),
  'rollover.bin': randomBytes(600_000), // > 65535 blocks of 8 bytes
};
fs.mkdirSync(path.join(dir, 'boot'));
for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
fs.writeFileSync(path.join(dir, 'boot', 'ipxe.efi'), files['small.txt'] as Buffer);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Recorded {
  starts: TransferStartEvent[];
  completes: TransferCompleteEvent[];
  errors: TransferErrorEvent[];
}

/** The client resolves when it sends the final ACK; the server records the end a moment later. */
async function idle(server: TftpServer): Promise<void> {
  for (let i = 0; i < 200 && server.activeTransfers > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

async function serve(t: { teardown(fn: () => unknown): void }, extra: Partial<TftpServerOptions> = {}) {
  const events: Recorded = { starts: [], completes: [], errors: [] };
  const observer: TftpObserver = {
    onTransferStart: (e) => events.starts.push(e),
    onTransferComplete: (e) => events.completes.push(e),
    onTransferError: (e) => events.errors.push(e),
  };
  const server = await startTftpServer({ host: '127.0.0.1', port: 0, root: dir, observer, ...extra });
  t.teardown(() => server.close());
  return { server, port: server.address().port, events };
}

t.test('plain RFC 1350 transfers (no options)', async (t) => {
  const { server, port, events } = await serve(t);
  for (const name of ['small.txt', 'empty.bin', 'exact-512.bin', 'big.bin']) {
    const got = await tftpGet({ host: '127.0.0.1', port, file: name, collect: true });
    t.ok(got.data?.equals(files[name] as Buffer), `${name} byte-identical`);
    t.equal(got.oack.size, 0, `${name}: no OACK without options`);
  }
  const slash = await tftpGet({ host: '127.0.0.1', port, file: '/boot/ipxe.efi', collect: true, mode: 'netascii' });
  t.ok(slash.data?.equals(files['small.txt'] as Buffer), 'leading slash resolves inside root; netascii served as-is');
  await idle(server);
  t.equal(events.completes.length, 5);
  t.match(events.completes[3], { file: 'big.bin', clientAddress: '127.0.0.1', bytes: 1_500_000 });
  t.equal(events.completes[4]?.file, 'boot/ipxe.efi', 'observer sees the normalized path');
  t.equal(events.errors.length, 0);
  t.equal(server.activeTransfers, 0);
});

t.test('blksize, tsize, timeout and windowsize', async (t) => {
  const { port, events } = await serve(t);
  for (const windowsize of [1, 4, 64, 200]) {
    const got = await tftpGet({
      host: '127.0.0.1',
      port,
      file: 'big.bin',
      blksize: 65464,
      tsize: true,
      windowsize,
      timeoutMs: 2000,
      sendTimeout: true,
    });
    t.equal(got.sha256, sha(files['big.bin'] as Buffer), `windowsize ${windowsize}: byte-identical`);
    t.same(Object.fromEntries(got.oack), {
      blksize: '1468',
      tsize: '1500000',
      timeout: '2',
      windowsize: String(Math.min(windowsize, 64)),
    });
  }
  t.match(events.starts[0], {
    file: 'big.bin',
    clientAddress: '127.0.0.1',
    options: {
      blksize: 1468,
      windowsize: 1,
      timeoutMs: 2000,
      tsize: 1_500_000,
      requested: { blksize: '65464', tsize: '0' },
    },
  });
  t.type(events.starts[0]?.clientPort, 'number');
});

t.test('configurable limits', async (t) => {
  const { port } = await serve(t, { maxBlksize: 9000, maxWindowsize: 2 });
  const got = await tftpGet({ host: '127.0.0.1', port, file: 'big.bin', blksize: 65464, windowsize: 16 });
  t.same(Object.fromEntries(got.oack), { blksize: '9000', windowsize: '2' });
  t.equal(got.sha256, sha(files['big.bin'] as Buffer));
});

t.test('block numbers roll over past 65535', async (t) => {
  const { server, port, events } = await serve(t);
  const expected = sha(files['rollover.bin'] as Buffer);
  const windowed = await tftpGet({ host: '127.0.0.1', port, file: 'rollover.bin', blksize: 8, windowsize: 32 });
  t.equal(windowed.sha256, expected, 'blksize 8, windowsize 32: 75001 blocks');
  const lockstep = await tftpGet({ host: '127.0.0.1', port, file: 'rollover.bin', blksize: 8 });
  t.equal(lockstep.sha256, expected, 'blksize 8, lock-step');
  await idle(server);
  t.equal(events.completes.length, 2);
});

t.test('a dropped ACK is recovered by retransmission', async (t) => {
  const { server, port, events } = await serve(t, { timeoutMs: 50 });
  const dropped = new Set<number>();
  const dropOnce = (blocks: number[]) => (block: number) => {
    if (!blocks.includes(block) || dropped.has(block)) return false;
    dropped.add(block);
    return true;
  };
  // Client timeout far above the server's: recovery must come from the server.
  const lockstep = await tftpGet({
    host: '127.0.0.1',
    port,
    file: 'big.bin',
    timeoutMs: 5000,
    dropAck: dropOnce([3, 700]),
  });
  t.equal(lockstep.sha256, sha(files['big.bin'] as Buffer), 'lock-step completes');
  t.ok(lockstep.outOfOrder >= 2, `server resent the unacknowledged blocks (${lockstep.outOfOrder} repeats)`);
  dropped.clear();
  const windowed = await tftpGet({
    host: '127.0.0.1',
    port,
    file: 'big.bin',
    blksize: 1468,
    windowsize: 8,
    timeoutMs: 5000,
    dropAck: dropOnce([0, 16, 64]),
  });
  t.equal(windowed.sha256, sha(files['big.bin'] as Buffer), 'windowed completes, OACK ACK lost too');
  await idle(server);
  t.equal(events.errors.length, 0);
});

t.test('tsize probe abort (OVMF) then the real download', async (t) => {
  const { server, port, events } = await serve(t);
  await tftpGet({ host: '127.0.0.1', port, file: 'big.bin', tsize: true, abortAfterOack: true });
  const got = await tftpGet({ host: '127.0.0.1', port, file: 'big.bin', tsize: true, blksize: 1468 });
  t.equal(got.sha256, sha(files['big.bin'] as Buffer));
  await idle(server);
  t.equal(events.errors.length, 1);
  t.match(events.errors[0], { file: 'big.bin', error: { kind: 'CLIENT_ABORTED', bytes: 0 } });
  t.equal(events.completes.length, 1);
  t.equal(server.activeTransfers, 0);
});

t.test('a throwing observer does not break transfers', async (t) => {
  const logged: string[] = [];
  const noop = (): void => undefined;
  const logger = {
    debug: noop,
    info: noop,
    warn: noop,
    error: (_o: object, msg?: string) => void logged.push(msg ?? ''),
  };
  const boom = (): never => {
    throw new Error('observer bug');
  };
  const server = await startTftpServer({
    host: '127.0.0.1',
    port: 0,
    root: dir,
    logger,
    observer: { onTransferStart: boom, onTransferComplete: boom, onTransferError: boom },
  });
  t.teardown(() => server.close());
  const got = await tftpGet({ host: '127.0.0.1', port: server.address().port, file: 'small.txt', collect: true });
  t.ok(got.data?.equals(files['small.txt'] as Buffer));
  await idle(server);
  t.same(logged, ['tftp observer threw', 'tftp observer threw']);
});

t.test('IPv6 loopback', async (t) => {
  let server: Awaited<ReturnType<typeof startTftpServer>>;
  try {
    server = await startTftpServer({ host: '::1', port: 0, root: dir });
  } catch (err) {
    t.pass('IPv6', { skip: `no ::1 here: ${(err as Error).message}` });
    return;
  }
  t.teardown(() => server.close());
  const got = await tftpGet({
    host: '::1',
    port: server.address().port,
    file: 'big.bin',
    blksize: 1468,
    windowsize: 8,
  });
  t.equal(got.sha256, sha(files['big.bin'] as Buffer));
});

t.test('dual-stack "::" reports IPv4 clients as plain IPv4', async (t) => {
  const seen: string[] = [];
  let server: Awaited<ReturnType<typeof startTftpServer>>;
  try {
    server = await startTftpServer({
      host: '::',
      port: 0,
      root: dir,
      observer: { onTransferComplete: (e) => seen.push(e.clientAddress) },
    });
  } catch (err) {
    t.pass('dual-stack', { skip: `cannot bind "::" here: ${(err as Error).message}` });
    return;
  }
  t.teardown(() => server.close());
  await tftpGet({ host: '127.0.0.1', port: server.address().port, file: 'small.txt' });
  await idle(server);
  t.same(seen, ['127.0.0.1']);
});

t.test('client errors', async (t) => {
  const { port } = await serve(t);
  await t.rejects(tftpGet({ host: '127.0.0.1', port, file: 'missing' }), {
    name: 'TftpClientError',
    code: 1,
    message: 'file not found',
  });
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  await t.rejects(
    tftpGet({ host: '127.0.0.1', port: silent.address().port, file: 'x', timeoutMs: 20, retries: 1 }),
    /timed out/,
  );
});
