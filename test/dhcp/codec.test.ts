/** The wire codec against the packet shapes real clients send (hand-built and captured). */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { BOOTREPLY, decodeDhcp, encodeDhcp, type DhcpPacket } from '../../src/dhcp/codec.js';
import { clientFacts } from '../../src/dhcp/client-facts.js';
import {
  ipBytes,
  Opt,
  readIp,
  readString,
  readSubOptions,
  readU16List,
  readU32,
  u32Bytes,
  readUserClasses,
  subOptionBytes,
} from '../../src/dhcp/options.js';
import { CLIENT_SHAPES, clientPacket, SAMPLE_UUID } from '../helpers/dhcp-packets.js';

function decode(buf: Uint8Array): DhcpPacket {
  const r = decodeDhcp(buf);
  if (!r.ok) throw new Error(r.error);
  return r.packet;
}

t.test('SeaBIOS + iPXE ROM DISCOVER', async (t) => {
  const p = decode(clientPacket({ type: 1, xid: 0xdeadbeef, flags: 0x8000, options: CLIENT_SHAPES.seabiosIpxe() }));
  t.equal(p.op, 1);
  t.equal(p.xid, 0xdeadbeef);
  t.equal(p.flags, 0x8000);
  const f = clientFacts(p);
  t.equal(f.mac, '52:54:00:12:34:56');
  t.equal(f.messageType, 'DISCOVER');
  t.same(f.archs, [0]);
  t.equal(f.vendorClass, 'PXEClient:Arch:00000:UNDI:002001');
  t.same(f.userClasses, ['iPXE'], 'bare user class string (not RFC 3004 framed)');
  t.ok(f.isIpxe);
  t.ok(f.isPxeClass);
  t.equal(f.uuid, SAMPLE_UUID, 'option 97 converted from SMBIOS byte order');
  t.same([...p.options.get(Opt.CLIENT_NDI)!], [1, 2, 1]);
  t.ok(p.options.get(Opt.PARAMETER_LIST)!.includes(60), 'option 55 containing 60 is just data');
});

t.test('OVMF PXE and UEFI HTTP boot DISCOVERs', async (t) => {
  const ovmf = clientFacts(decode(clientPacket({ type: 1, options: CLIENT_SHAPES.ovmfPxe() })));
  t.same(ovmf.archs, [7]);
  t.notOk(ovmf.isIpxe, 'no 77, no 175');
  t.ok(ovmf.wantsBoot);
  const http = clientFacts(decode(clientPacket({ type: 1, options: CLIENT_SHAPES.uefiHttp(16) })));
  t.ok(http.isHttpClass);
  t.same(http.archs, [16]);
  const rfc3004 = readUserClasses(Uint8Array.from([4, ...Buffer.from('iPXE'), 3, ...Buffer.from('abc')]));
  t.same(rfc3004, ['iPXE', 'abc'], 'RFC 3004 framed user classes');
  t.same(readU16List(Uint8Array.of(0, 7, 0, 16)), [7, 16], 'option 93 is a list');
  t.equal(readU16List(Uint8Array.of(0)), undefined);
});

t.test('captured requests from real clients decode', async (t) => {
  const fixtures = JSON.parse(readFileSync(new URL('./fixtures/captured-requests.json', import.meta.url), 'utf8')) as {
    name: string;
    hex: string;
  }[];
  t.equal(fixtures.length, 3);
  for (const fx of fixtures) {
    const p = decode(Buffer.from(fx.hex, 'hex'));
    const f = clientFacts(p);
    t.equal(f.mac, '52:54:00:aa:bb:01', fx.name);
    t.equal(f.messageType, 'DISCOVER', fx.name);
    if (fx.name === 'udhcpc-discover') t.match(f.vendorClass, /^udhcp 1\.35/);
    if (fx.name === 'udhcpc-pxe-ipxe-discover') {
      t.same(f.archs, [7]);
      t.ok(f.isIpxe && f.isPxeClass);
    }
    if (fx.name === 'dhclient-discover') t.equal(f.hostname, 'capture');
  }
});

t.test('RFC 3396 long options are concatenated, and split when encoding', async (t) => {
  const long = Buffer.alloc(600, 0x41);
  const raw = clientPacket({
    type: 1,
    options: [
      [Opt.VENDOR_CLASS, long.subarray(0, 255)],
      [Opt.HOSTNAME, 'h'],
      [Opt.VENDOR_CLASS, long.subarray(255, 510)],
      [Opt.VENDOR_CLASS, long.subarray(510)],
    ],
  });
  const p = decode(raw);
  t.equal(p.options.get(Opt.VENDOR_CLASS)?.length, 600);
  const reply = { ...p, op: BOOTREPLY };
  const back = decode(encodeDhcp(reply));
  t.same(Buffer.from(back.options.get(Opt.VENDOR_CLASS)!), long, 'round trip of a 600-byte option');
  const enc = encodeDhcp(reply);
  t.equal(enc[240], Opt.MESSAGE_TYPE, 'message type is the first option');
});

t.test('option overload (52): options in file and sname, in RFC 3396 order', async (t) => {
  const file = Uint8Array.from([Opt.HOSTNAME, 3, ...Buffer.from('abc'), Opt.VENDOR_CLASS, 2, 0x58, 0x59, 255]);
  const sname = Uint8Array.from([0, 0, Opt.VENDOR_CLASS, 1, 0x5a, Opt.OVERLOAD, 1, 1, 255]);
  const p = decode(
    clientPacket({
      type: 3,
      options: [
        [Opt.OVERLOAD, [3]],
        [Opt.VENDOR_CLASS, 'W'],
      ],
      fileField: file,
      snameField: sname,
    }),
  );
  t.equal(readString(p.options.get(Opt.HOSTNAME)), 'abc');
  t.equal(readString(p.options.get(Opt.VENDOR_CLASS)), 'WXYZ', 'options, then file, then sname');
  t.equal(p.file, '', 'file field carries options, not a name');
  t.equal(p.sname, '');
  const bad = decodeDhcp(clientPacket({ type: 3, options: [[Opt.OVERLOAD, [9]]] }));
  t.match(bad, { ok: false, error: /option 52/ });
  const truncated = decodeDhcp(
    clientPacket({ type: 3, options: [[Opt.OVERLOAD, [1]]], fileField: Uint8Array.of(12, 200) }),
  );
  t.match(truncated, { ok: false, error: /in file field/ });
});

t.test('pad bytes, missing END, malformed input', async (t) => {
  const withPads = clientPacket({ type: 1, options: [[Opt.HOSTNAME, 'x']] });
  const padded = Buffer.concat([withPads.subarray(0, 240), Buffer.alloc(20, 0), withPads.subarray(240)]);
  t.equal(readString(decode(padded).options.get(Opt.HOSTNAME)), 'x', 'pads before options');
  const noEnd = decode(clientPacket({ type: 1, options: [[Opt.HOSTNAME, 'y']], noEnd: true }));
  t.equal(readString(noEnd.options.get(Opt.HOSTNAME)), 'y', 'missing END tolerated');
  t.match(decodeDhcp(Buffer.alloc(100)), { ok: false, error: /too short/ });
  t.match(decodeDhcp(Buffer.alloc(300)), { ok: false, error: /magic cookie/ });
  const trunc = clientPacket({ type: 1, noEnd: true });
  t.match(decodeDhcp(Buffer.concat([trunc, Buffer.from([12, 10, 65])])), { ok: false, error: /option 12 truncated/ });
  const bigHlen = clientPacket({ type: 1 });
  bigHlen[2] = 17;
  t.match(decodeDhcp(bigHlen), { ok: false, error: /hardware address length/ });
  const afterEnd = decode(Buffer.concat([clientPacket({ type: 1 }), Buffer.from([12, 200])]));
  t.notOk(afterEnd.options.has(Opt.HOSTNAME), 'bytes after END are ignored');
});

t.test('encode: header fields, padding, option 82 last, sub-options', async (t) => {
  const relay82 = Uint8Array.from([1, 4, 0, 0, 0, 1, 2, 2, 0xab, 0xcd]);
  const req = decode(clientPacket({ type: 1, giaddr: '10.253.2.1', options: [[Opt.RELAY_AGENT_INFO, relay82]] }));
  const options = new Map<number, Uint8Array>([
    [Opt.RELAY_AGENT_INFO, relay82],
    [Opt.SERVER_ID, Uint8Array.of(10, 253, 0, 1)],
    [Opt.MESSAGE_TYPE, Uint8Array.of(2)],
    [Opt.VENDOR_SPECIFIC, subOptionBytes([[6, Uint8Array.of(8)]])],
    [175, new Uint8Array(0)],
  ]);
  const buf = encodeDhcp({
    ...req,
    op: BOOTREPLY,
    yiaddr: '10.253.2.50',
    siaddr: '10.253.0.1',
    file: 'ipxe.efi',
    sname: 'mb',
    options,
  });
  t.equal(buf.length, 300);
  const p = decode(buf);
  t.equal(p.yiaddr, '10.253.2.50');
  t.equal(p.siaddr, '10.253.0.1');
  t.equal(p.giaddr, '10.253.2.1');
  t.equal(p.file, 'ipxe.efi');
  t.equal(p.sname, 'mb');
  t.equal(readIp(p.options.get(Opt.SERVER_ID)), '10.253.0.1');
  t.same([...p.options.keys()].at(-1), Opt.RELAY_AGENT_INFO, 'relay agent info last');
  t.same(readSubOptions(p.options.get(Opt.VENDOR_SPECIFIC))?.get(6), Uint8Array.of(8));
  t.ok(p.options.has(175), 'zero-length option kept');
  t.throws(() => encodeDhcp({ ...p, file: 'x'.repeat(128) }), RangeError);
  t.throws(() => encodeDhcp({ ...p, sname: 'x'.repeat(64) }), RangeError);
  t.throws(() => encodeDhcp({ ...p, chaddr: new Uint8Array(17) }), RangeError);
  t.throws(() => encodeDhcp({ ...p, yiaddr: '1.2.3' }));
  for (const bad of [
    '1.2.3.256',
    '1.2.3.4.',
    '1.2.3.4.5',
    '.1.2.3',
    '1..2.3',
    '1.2.3.1000',
    '1.2.3.a',
    '',
    ' 1.2.3.4',
  ]) {
    t.throws(() => ipBytes(bad), /not an IPv4 address/, `"${bad}" is refused`);
  }
  t.same([...ipBytes('255.0.10.1')], [255, 0, 10, 1]);
  t.same([...u32Bytes(0xdeadbeef)], [0xde, 0xad, 0xbe, 0xef]);
  const long = new Uint8Array(300).fill(7); // RFC 3396: split into 255 + 45
  const split = encodeDhcp({
    ...p,
    options: new Map([
      [Opt.MESSAGE_TYPE, Uint8Array.of(2)],
      [Opt.VENDOR_SPECIFIC, long],
    ]),
  });
  t.same([...split.subarray(240, 246)], [53, 1, 2, 43, 255, 7]);
  t.same([...split.subarray(240 + 3 + 257, 240 + 3 + 257 + 2)], [43, 45]);
  t.same(decode(split).options.get(Opt.VENDOR_SPECIFIC), long, 'reassembled by the decoder');
  t.equal(readU32(Uint8Array.of(0, 0, 14, 16)), 3600);
  t.equal(readSubOptions(Uint8Array.of(6, 5, 1)), undefined, 'truncated sub-option');
});
