// The cap on concurrent TFTP transfers per source address, over loopback: stalled transfers from
// 127.0.0.1 fill its cap; tftp-hpa from there gets an error packet; another address (127.0.0.2) is
// served; once a stalled transfer ends, tftp-hpa from 127.0.0.1 downloads the file. Needs tftp-hpa.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Opcode, decodePacket, encodeError, encodeRequest, type TftpPacket } from '../../src/tftp/packets.js';
import { startTftpServer, type TransferErrorEvent } from '../../src/tftp/server.js';

const CAP = 3;

/** A UDP peer on one loopback address that keeps what it receives (bounded). */
async function peer(t: Test, address: string) {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  t.teardown(() => socket.close());
  const got: Array<{ packet: TftpPacket; port: number }> = [];
  socket.on('message', (msg, rinfo) => {
    const d = decodePacket(msg);
    if (d.ok && got.length < 100) got.push({ packet: d.packet, port: rinfo.port });
  });
  const next = async () => {
    for (let waited = 0; waited < 5000 && got.length === 0; waited += 20) await new Promise((r) => setTimeout(r, 20));
    const p = got.shift();
    if (!p) throw new Error(`${address}: no packet within 5 s`);
    return p;
  };
  return { socket, next };
}

function tftpHpa(port: number, file: string, out: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) =>
    execFile(
      'tftp',
      ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', file, out],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    ),
  );
}

t.test(`at most ${CAP} transfers per source; past it an error packet; other sources unaffected`, async (t) => {
  if (!fs.existsSync('/usr/bin/tftp')) {
    t.fail('/usr/bin/tftp missing: install tftp-hpa');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tftp-cap-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  const content = randomBytes(64 * 1024 + 7);
  fs.writeFileSync(path.join(root, 'file.bin'), content);
  const errors: TransferErrorEvent[] = [];
  // Long retransmission timeouts: a transfer whose client never ACKs stays open for the whole test.
  const server = await startTftpServer({
    host: '127.0.0.1',
    port: 0,
    root,
    timeoutMs: 10_000,
    retries: 5,
    maxTransfersPerSource: CAP,
    observer: { onTransferError: (e) => errors.push(e) },
  });
  t.teardown(() => server.close());
  const port = server.address().port;

  const holders = await Promise.all(Array.from({ length: CAP }, () => peer(t, '127.0.0.1')));
  const transferPorts: number[] = [];
  for (const h of holders) {
    h.socket.send(encodeRequest(Opcode.RRQ, 'file.bin'), port, '127.0.0.1');
    const first = await h.next();
    t.match(
      first.packet,
      { opcode: Opcode.DATA, block: 1 },
      'a stalled transfer holds a slot (its DATA 1 is never acknowledged)',
    );
    transferPorts.push(first.port);
  }
  t.equal(server.activeTransfers, CAP);

  const refusedOut = path.join(dir, 'refused.bin');
  const refused = await tftpHpa(port, 'file.bin', refusedOut);
  t.match(
    refused.output,
    /too many transfers from 127\.0\.0\.1/,
    `tftp-hpa past the cap is told why: ${refused.output.trim()}`,
  );
  t.notOk(fs.existsSync(refusedOut) && fs.statSync(refusedOut).size === content.length, 'and gets no file');
  t.equal(server.activeTransfers, CAP, 'the refusal started no transfer');

  // A burst of requests past the cap: each is refused, but only the first one is reported.
  const burst = await peer(t, '127.0.0.1');
  for (let i = 0; i < 20; i++) burst.socket.send(encodeRequest(Opcode.RRQ, 'file.bin'), port, '127.0.0.1');
  const answers = [];
  for (let i = 0; i < 20; i++) answers.push((await burst.next()).packet);
  t.ok(
    answers.every((p) => p.opcode === Opcode.ERROR && p.code === 0 && /too many transfers/.test(p.message)),
    'every request of a burst past the cap gets an error packet',
  );
  t.equal(
    errors.filter((e) => e.error.kind === 'BUSY').length,
    1,
    'one report per saturation, not one per refused packet',
  );

  const other = await peer(t, '127.0.0.2');
  other.socket.send(encodeRequest(Opcode.RRQ, 'file.bin'), port, '127.0.0.1');
  t.match((await other.next()).packet, { opcode: Opcode.DATA, block: 1 }, '127.0.0.2 is served meanwhile');

  // One stalled client gives up: its slot is released.
  holders[0]!.socket.send(encodeError(0, 'giving up'), transferPorts[0]!, '127.0.0.1');
  for (let waited = 0; waited < 5000 && server.activeTransfers > CAP; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
  const okOut = path.join(dir, 'ok.bin');
  const ok = await tftpHpa(port, 'file.bin', okOut);
  t.equal(ok.code, 0, `tftp-hpa downloads once a slot is free ${ok.output}`);
  t.equal(
    createHash('sha256').update(fs.readFileSync(okOut)).digest('hex'),
    createHash('sha256').update(content).digest('hex'),
    'the whole file',
  );
});
