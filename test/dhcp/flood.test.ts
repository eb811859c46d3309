/**
 * A random-MAC DISCOVER flood against the socket-free handler: registered and reserved machines
 * still get an address, unknown newcomers get one once the flood's offers are old, and the
 * exhaustion warning is one line per interval with a count, not one per packet.
 */
import t from 'tap';
import { Opt } from '../../src/dhcp/options.js';
import type { DhcpLogger } from '../../src/dhcp/types.js';
import { ip } from '../helpers/dhcp-packets.js';
import { makeRig } from '../helpers/dhcp-rig.js';

const DISCOVER = 1;
const REQUEST = 3;
const REGISTERED = '52:54:00:aa:00:01'; // registered (a boot-file override), no reservation
const RESERVED = '52:54:00:aa:00:02';
const RESERVED_IP = '10.253.0.104'; // inside the pool: the flood must never be offered it
const floodMac = (i: number) =>
  `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function recordingLogger(lines: Line[]): DhcpLogger {
  const at = (level: string) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function floodRig(lines: Line[] = []) {
  // Pool of 5 (100-104), one of them reserved: four addresses for everyone else.
  return makeRig(
    { logger: recordingLogger(lines) },
    { reservations: { [RESERVED]: RESERVED_IP }, overrides: { [REGISTERED]: 'snponly.efi' } },
  );
}

t.test('during a flood that exhausts the pool, registered and reserved machines still get an address', async (t) => {
  const rig = floodRig();
  t.teardown(rig.close);
  const offered = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const [offer] = await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
    if (offer) offered.add(offer.packet.yiaddr);
  }
  t.equal(offered.size, 4, `the flood took the four free addresses (${[...offered].join(' ')})`);
  t.notOk(offered.has(RESERVED_IP), 'the reserved address was never offered to the flood');

  const [reserved] = await rig.send({ type: DISCOVER, mac: RESERVED, xid: 900 });
  t.equal(reserved?.packet.yiaddr, RESERVED_IP, 'the reserved machine gets its address');

  const [registered] = await rig.send({ type: DISCOVER, mac: REGISTERED, xid: 901 });
  t.equal(registered?.type, 'OFFER', 'the registered machine gets an offer from a full pool');
  const taken = registered!.packet.yiaddr;
  t.ok(offered.has(taken), "by taking over one of the flood's unconfirmed offers");
  const [ack] = await rig.send({
    type: REQUEST,
    mac: REGISTERED,
    xid: 902,
    options: [
      [Opt.SERVER_ID, ip('10.253.0.1')],
      [Opt.REQUESTED_IP, ip(taken)],
    ],
  });
  t.equal(ack?.type, 'ACK', 'and its REQUEST is ACKed');
  t.equal((await rig.store.leases.get(taken))?.mac, REGISTERED);

  // The flood client that had been offered that address comes back for it: NAK, not a double lease.
  const loser = rig.core.observations.find((o) => o.offeredIp === taken && o.mac !== REGISTERED)!.mac;
  const [nak] = await rig.send({
    type: REQUEST,
    mac: loser,
    xid: 903,
    options: [
      [Opt.SERVER_ID, ip('10.253.0.1')],
      [Opt.REQUESTED_IP, ip(taken)],
    ],
  });
  t.equal(nak?.type, 'NAK', 'the client whose offer was reclaimed is NAKed');
});

t.test('an unknown client takes over only offers older than the pressured hold', async (t) => {
  const rig = floodRig();
  t.teardown(rig.close);
  for (let i = 0; i < 4; i++) await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
  const late = '52:54:00:bb:00:01';
  rig.clock.now += 5_000;
  t.same(await rig.send({ type: DISCOVER, mac: late, xid: 100 }), [], 'offers 5 s old are still held');
  rig.clock.now += 5_000;
  const [offer] = await rig.send({ type: DISCOVER, mac: late, xid: 101 });
  t.equal(offer?.type, 'OFFER', 'offers 10 s old are reclaimed for a newcomer');
  t.equal(offer?.packet.yiaddr, '10.253.0.100', 'the oldest offer first');
  const [again] = await rig.send({ type: DISCOVER, mac: floodMac(9), xid: 102 });
  t.equal(again?.packet.yiaddr, '10.253.0.101', 'then the next oldest');
});

t.test('a bound lease is never reclaimed, only unconfirmed offers', async (t) => {
  const rig = floodRig();
  t.teardown(rig.close);
  for (let i = 0; i < 4; i++) {
    const [offer] = await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
    await rig.send({
      type: REQUEST,
      mac: floodMac(i),
      xid: i,
      options: [
        [Opt.SERVER_ID, ip('10.253.0.1')],
        [Opt.REQUESTED_IP, ip(offer!.packet.yiaddr)],
      ],
    });
  }
  rig.clock.now += 120_000;
  t.same(
    await rig.send({ type: DISCOVER, mac: REGISTERED, xid: 50 }),
    [],
    'all four bound: nothing to give, even to a registered machine',
  );
  t.same(
    (await rig.store.leases.list()).map((l) => [l.state, l.mac]),
    [0, 1, 2, 3].map((i) => ['bound', floodMac(i)]),
    'the leases are untouched',
  );
});

t.test('exhaustion is logged once per interval with a count', async (t) => {
  const lines: Line[] = [];
  const rig = floodRig(lines);
  t.teardown(rig.close);
  for (let i = 0; i < 4; i++) await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
  for (let i = 4; i < 40; i++) await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
  const exhausted = () =>
    lines.filter((l) => l.level === 'warn' && /exhausted; DISCOVERs left unanswered/.test(l.msg ?? ''));
  t.equal(exhausted().length, 1, '36 refused DISCOVERs, one line');
  t.match(exhausted()[0]?.obj, { pool: 'local', count: 1, intervalSec: 60 });
  rig.clock.now += 9_000; // offers still held: more refusals, still within the interval
  for (let i = 40; i < 50; i++) await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
  t.equal(exhausted().length, 1);
  rig.clock.now += 52_000; // past the interval, and past every offer hold: a new offer, no line
  const [offer] = await rig.send({ type: DISCOVER, mac: floodMac(60), xid: 60 });
  t.equal(offer?.type, 'OFFER');
  for (let i = 61; i < 64; i++) await rig.send({ type: DISCOVER, mac: floodMac(i), xid: i });
  t.equal(exhausted().length, 1, 'expired offers freed the pool, no refusal');
  await rig.send({ type: DISCOVER, mac: floodMac(70), xid: 70 });
  t.equal(exhausted().length, 2, 'the next refusal past the interval writes the next line');
  t.match(exhausted()[1]?.obj, { count: 46 }, 'with the refusals held back since the first line');
  const reclaimedLines = lines.filter((l) => /unconfirmed offers reclaimed/.test(l.msg ?? ''));
  t.equal(reclaimedLines.length, 0, 'no offer was old enough to reclaim for an unknown client');
});
