/**
 * Random and mutated datagrams through the decoder and the whole handler: nothing may throw,
 * every reply must be a decodable DHCP packet. Seeded, so a failure reproduces: the seed and
 * the offending datagram (hex) are printed. FUZZ_SEED / FUZZ_ROUNDS override the defaults.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { decodeDhcp, encodeDhcp, BOOTREPLY } from '../../src/dhcp/codec.js';
import { CLIENT_SHAPES, clientPacket, ip, type RawOption } from '../helpers/dhcp-packets.js';
import { makeRig, SERVER_IP } from '../helpers/dhcp-rig.js';
import { xorshift32 } from '../helpers/prng.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 100_000);

function prng(seed: number) {
  const next = xorshift32(seed);
  return { next, int: (n: number) => next() % n, pick: <T>(a: readonly T[]) => a[next() % a.length]! };
}

function corpus(): Buffer[] {
  const captured = JSON.parse(readFileSync(new URL('./fixtures/captured-requests.json', import.meta.url), 'utf8')) as {
    hex: string;
  }[];
  const shapes: RawOption[][] = [
    CLIENT_SHAPES.seabiosIpxe(),
    CLIENT_SHAPES.ovmfPxe(),
    CLIENT_SHAPES.ipxeEfi(),
    CLIENT_SHAPES.uefiHttp(19),
    CLIENT_SHAPES.udhcpc([[93, [0, 0]]]),
  ];
  const out: Buffer[] = captured.map((c) => Buffer.from(c.hex, 'hex'));
  for (const opts of shapes) {
    for (const type of [1, 3, 4, 7, 8]) {
      out.push(clientPacket({ type, options: [...opts, [54, ip(SERVER_IP)], [50, ip('10.253.0.101')]] }));
      out.push(clientPacket({ type, ciaddr: '10.253.0.102', options: opts }));
      out.push(clientPacket({ type, giaddr: '10.253.2.1', options: [...opts, [82, [1, 2, 0, 1]]] }));
    }
  }
  out.push(
    clientPacket({
      type: 1,
      options: [[52, [3]]],
      fileField: Uint8Array.of(60, 3, 65, 66, 67, 255),
      snameField: Uint8Array.of(12, 1, 65),
    }),
  );
  return out;
}

function mutate(r: ReturnType<typeof prng>, seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  switch (r.int(6)) {
    case 0: // flip a few random bits
      for (let i = r.int(8) + 1; i > 0; i--) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    case 1: // overwrite bytes in the options area (lengths, codes)
      for (let i = r.int(6) + 1; i > 0; i--) b[240 + r.int(Math.max(1, b.length - 240))] = r.int(256);
      return b;
    case 2: // truncate
      return b.subarray(0, r.int(b.length + 1));
    case 3: {
      // append random TLVs, long ones included (RFC 3396 territory)
      const extra: number[] = [];
      for (let i = r.int(5); i >= 0; i--) {
        const len = r.int(256);
        extra.push(r.pick([52, 53, 54, 50, 55, 60, 61, 77, 82, 93, 94, 97, 175, r.int(256)]), len);
        for (let j = 0; j < len; j++) extra.push(r.int(256));
      }
      return Buffer.concat([b.subarray(0, Math.max(240, b.length - 1)), Buffer.from(extra), Buffer.from([255])]);
    }
    case 4: // header fields: hlen, htype, op, giaddr, ciaddr
      b[r.pick([0, 1, 2, 3, 12, 15, 24, 27, 28, 33])] = r.int(256);
      return b;
    default: // splice two packets
      return Buffer.concat([b.subarray(0, r.int(b.length)), seed.subarray(r.int(seed.length))]);
  }
}

function randomDatagram(r: ReturnType<typeof prng>): Buffer {
  const b = Buffer.alloc(r.int(700));
  for (let i = 0; i < b.length; i++) b[i] = r.int(256);
  if (b.length > 240 && r.int(2) === 0) b.set([99, 130, 83, 99], 236); // get past the cookie check
  return b;
}

t.test(`decoder: ${ROUNDS} random and mutated datagrams (seed ${SEED})`, async (t) => {
  const r = prng(SEED);
  const seeds = corpus();
  let decoded = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const dgram = i % 4 === 0 ? randomDatagram(r) : mutate(r, r.pick(seeds));
    let result: ReturnType<typeof decodeDhcp>;
    try {
      result = decodeDhcp(dgram);
    } catch (err) {
      t.fail(`decode threw on round ${i}: ${(err as Error).message}; datagram ${dgram.toString('hex')}`);
      return;
    }
    if (!result.ok) continue;
    decoded++;
    // Round trip: what we decoded, re-encoded, decodes to the same options.
    const p = result.packet;
    const again = decodeDhcp(encodeDhcp({ ...p, op: BOOTREPLY, sname: '', file: '' }));
    if (!again.ok || again.packet.options.size !== p.options.size) {
      t.fail(`round trip lost options on round ${i}; datagram ${dgram.toString('hex')}`);
      return;
    }
  }
  t.ok(decoded > ROUNDS / 4, `a useful share decoded (${decoded})`);
});

for (const mode of ['authoritative', 'proxy'] as const) {
  const rounds = mode === 'authoritative' ? ROUNDS : Math.ceil(ROUNDS / 4);
  t.test(`${mode} handler: ${rounds} random and mutated datagrams (seed ${SEED})`, async (t) => {
    const rig = makeRig(
      mode === 'proxy'
        ? { mode, pool: undefined }
        : { relaySubnets: [{ subnet: '10.253.2.0/24', range: '10.253.2.10-10.253.2.20', leaseTimeSec: 600 }] },
      { reservations: { '52:54:00:12:34:56': '10.253.0.60' } },
    );
    t.teardown(rig.close);
    const r = prng(SEED ^ (mode === 'proxy' ? 0xabcdef : 0));
    const seeds = corpus();
    for (let i = 0; i < rounds; i++) {
      const dgram = i % 5 === 0 ? randomDatagram(r) : mutate(r, r.pick(seeds));
      if (i % 1000 === 0) rig.clock.now += 30_000; // let offers and leases expire now and then
      const before = rig.sent.length;
      try {
        await rig.handler.handle(dgram, { address: '10.253.0.77', port: 68 }, r.int(3) === 0 ? 'proxy' : 'server');
      } catch (err) {
        t.fail(`handler rejected on round ${i}: ${(err as Error).message}; datagram ${dgram.toString('hex')}`);
        return;
      }
      for (const out of rig.sent.slice(before)) {
        const d = decodeDhcp(out.buf);
        if (!d.ok || out.buf.length < 300) {
          t.fail(`bad reply on round ${i}: ${d.ok ? 'short' : d.error}; datagram ${dgram.toString('hex')}`);
          return;
        }
      }
      rig.sent.length = 0;
    }
    const s = rig.handler.stats;
    t.equal(s.received, rounds);
    t.equal(s.errors, 0, 'no handler errors');
    t.ok(
      s.replied > 0 && s.malformed > 0 && s.ignored > 0,
      `replied ${s.replied}, malformed ${s.malformed}, ignored ${s.ignored}`,
    );
    const leases = await rig.store.leases.list();
    const active = leases.filter((l) => l.state === 'bound' && l.expiresAt > rig.clock.now);
    t.equal(new Set(active.map((l) => l.ip)).size, active.length, 'no address bound twice');
  });
}
