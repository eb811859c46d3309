import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  ErrorCode,
  MAX_OPTIONS,
  MAX_STRING_BYTES,
  Opcode,
  decodePacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  writeDataHeader,
} from '../../src/tftp/packets.js';
import type { TftpPacket } from '../../src/tftp/packets.js';
import { xorshift32 } from '../helpers/prng.js';

function decodeOk(buf: Uint8Array): TftpPacket {
  const result = decodePacket(buf);
  if (!result.ok) throw new Error(`unexpected decode error: ${result.error}`);
  return result.packet;
}

function decodeError(buf: Uint8Array): string {
  const result = decodePacket(buf);
  if (result.ok) throw new Error(`unexpectedly decoded ${JSON.stringify(result.packet)}`);
  return result.error;
}

t.test('round trips', async (t) => {
  const rrq = decodeOk(encodeRequest(Opcode.RRQ, 'pxelinux.0', 'OCTET', { BlkSize: 1468, tsize: 0, windowsize: 4 }));
  t.same(rrq, {
    opcode: Opcode.RRQ,
    filename: 'pxelinux.0',
    mode: 'octet',
    options: new Map([
      ['blksize', '1468'],
      ['tsize', '0'],
      ['windowsize', '4'],
    ]),
  });
  const wrq = decodeOk(encodeRequest(Opcode.WRQ, 'dir/ünïcode.bin', 'netascii'));
  t.same(wrq, { opcode: Opcode.WRQ, filename: 'dir/ünïcode.bin', mode: 'netascii', options: new Map() });

  const payload = randomBytes(1468);
  const data = decodeOk(encodeData(65535, payload));
  t.equal(data.opcode, Opcode.DATA);
  if (data.opcode === Opcode.DATA) {
    t.equal(data.block, 65535);
    t.ok(data.data.equals(payload));
  }
  t.same(decodeOk(encodeData(7, Buffer.alloc(0))), { opcode: Opcode.DATA, block: 7, data: Buffer.alloc(0) });
  t.same(decodeOk(encodeAck(0)), { opcode: Opcode.ACK, block: 0 });
  t.same(decodeOk(encodeAck(65536 + 3)), { opcode: Opcode.ACK, block: 3 }, 'ACK numbers wrap');
  t.same(decodeOk(encodeError(ErrorCode.FILE_NOT_FOUND, 'nope')), { opcode: Opcode.ERROR, code: 1, message: 'nope' });
  t.same(decodeOk(encodeOack(new Map([['blksize', '512']]))), {
    opcode: Opcode.OACK,
    options: new Map([['blksize', '512']]),
  });
  t.same(decodeOk(encodeOack({})), { opcode: Opcode.OACK, options: new Map() });
});

t.test('writeDataHeader encodes in place and wraps past 65535', async (t) => {
  const buf = Buffer.alloc(12, 0xaa);
  writeDataHeader(buf, 4, 65536 + 258);
  t.same([...buf.subarray(4, 8)], [0, 3, 1, 2]);
  t.equal(buf[3], 0xaa, 'bytes before the header untouched');
  t.equal(buf[8], 0xaa, 'payload untouched');
});

t.test('lenient where real clients need it', async (t) => {
  const padded = Buffer.concat([encodeRequest(Opcode.RRQ, 'a', 'octet', { tsize: 0 }), Buffer.alloc(7)]);
  t.same(
    decodeOk(padded),
    { opcode: Opcode.RRQ, filename: 'a', mode: 'octet', options: new Map([['tsize', '0']]) },
    'NUL padding after options',
  );
  t.same(decodeOk(Buffer.from([0, 4, 0, 9, 0, 0])), { opcode: Opcode.ACK, block: 9 }, 'padded ACK');
  const dup = decodeOk(
    encodeRequest(
      Opcode.RRQ,
      'a',
      'octet',
      new Map([
        ['blksize', '8'],
        ['BLKSIZE', '9'],
      ]),
    ),
  );
  t.same(dup.opcode === Opcode.RRQ && dup.options.get('blksize'), '8', 'first of a repeated option wins');
  const proto = decodeOk(encodeRequest(Opcode.RRQ, 'a', 'octet', new Map([['__proto__', 'x']])));
  t.same(proto.opcode === Opcode.RRQ && proto.options.get('__proto__'), 'x', 'option names are plain map keys');
  t.same(decodeOk(new Uint8Array([0, 4, 0, 1])), { opcode: Opcode.ACK, block: 1 }, 'plain Uint8Array input');
});

t.test('malformed input yields errors, never throws', async (t) => {
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /truncated/],
    ['one byte', Buffer.from([0]), /truncated/],
    ['bad opcode 0', Buffer.from([0, 0, 1, 2]), /bad opcode 0/],
    ['bad opcode 7', Buffer.from([0, 7, 1, 2]), /bad opcode 7/],
    ['bad opcode 0xffff', Buffer.from([0xff, 0xff]), /bad opcode 65535/],
    ['truncated DATA', Buffer.from([0, 3, 0]), /truncated DATA/],
    ['truncated ACK', Buffer.from([0, 4, 0]), /truncated ACK/],
    ['truncated ERROR', Buffer.from([0, 5, 0]), /truncated ERROR/],
    ['ERROR without NUL', Buffer.from([0, 5, 0, 1, 65, 66]), /missing NUL/],
    ['RRQ without filename NUL', Buffer.from('\x00\x01abc', 'latin1'), /filename: missing NUL/],
    ['RRQ empty filename', Buffer.from('\x00\x01\x00octet\x00', 'latin1'), /empty filename/],
    ['RRQ without mode', Buffer.from('\x00\x01abc\x00', 'latin1'), /mode: missing NUL/],
    ['RRQ mode without NUL', Buffer.from('\x00\x01abc\x00oct', 'latin1'), /mode: missing NUL/],
    ['RRQ unknown mode', Buffer.from('\x00\x01abc\x00binary\x00', 'latin1'), /unknown mode/],
    ['option without value', Buffer.from('\x00\x01abc\x00octet\x00blksize\x00', 'latin1'), /missing value/],
    ['option value without NUL', Buffer.from('\x00\x01abc\x00octet\x00blksize\x00512', 'latin1'), /missing NUL/],
    ['option name without NUL', Buffer.from('\x00\x01abc\x00octet\x00blk', 'latin1'), /missing NUL/],
    ['empty option name', Buffer.from('\x00\x01abc\x00octet\x00\x00512\x00', 'latin1'), /empty option name/],
    ['OACK option without value', Buffer.from('\x00\x06tsize\x00', 'latin1'), /missing value/],
    [
      'huge filename',
      Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(MAX_STRING_BYTES + 1, 65), Buffer.from('\x00octet\x00')]),
      /longer than/,
    ],
  ];
  for (const [name, buf, pattern] of cases) t.match(decodeError(buf), pattern, name);

  const many: Record<string, number> = {};
  for (let i = 0; i <= MAX_OPTIONS; i++) many[`opt${i}`] = i;
  t.match(decodeError(encodeRequest(Opcode.RRQ, 'a', 'octet', many)), /more than 32 options/, 'huge option list');
  const huge: Record<string, number> = {};
  for (let i = 0; i < 5000; i++) huge[`o${i}`] = i;
  t.match(decodeError(encodeRequest(Opcode.RRQ, 'a', 'octet', huge)), /more than/, 'a 60 KB option list is cut short');
});

t.test('fuzz: 150k random and mutated packets never throw', async (t) => {
  const seed = Number(process.env.TFTP_FUZZ_SEED ?? 0x5eed);
  const rand = xorshift32(seed);
  const seeds = [
    encodeRequest(Opcode.RRQ, 'undionly.kpxe', 'octet', { blksize: 1468, tsize: 0, windowsize: 8, timeout: 2 }),
    encodeRequest(Opcode.WRQ, 'x', 'netascii'),
    encodeData(1, Buffer.from('hello')),
    encodeAck(42),
    encodeError(8, 'tsize probe'),
    encodeOack({ blksize: 1468 }),
  ];
  const buf = Buffer.alloc(2048);
  let decoded = 0;
  for (let i = 0; i < 150_000; i++) {
    let packet: Buffer;
    if (i % 2 === 0) {
      // Random bytes, biased towards valid opcodes so deeper code gets exercised.
      const len = rand() % 600;
      for (let j = 0; j < len; j++) buf[j] = rand() & 0xff;
      if (len >= 2 && rand() % 4 !== 0) {
        buf[0] = 0;
        buf[1] = rand() % 8;
      }
      packet = buf.subarray(0, len);
    } else {
      const base = seeds[rand() % seeds.length] as Buffer;
      const len = Math.max(0, base.length + (rand() % 9) - 4);
      packet = buf.subarray(0, len);
      base.copy(packet, 0, 0, Math.min(len, base.length));
      for (let j = base.length; j < len; j++) packet[j] = rand() & 0xff;
      const flips = rand() % 4;
      for (let f = 0; f < flips && len > 0; f++) packet[rand() % len] = rand() & 0xff;
    }
    const result = decodePacket(packet); // throwing here fails the test
    if (result.ok) decoded++;
    else if (typeof result.error !== 'string' || result.error === '') t.fail(`empty error for seed ${seed} case ${i}`);
  }
  t.ok(decoded > 1000, `some mutated packets still decode (${decoded})`);
});
