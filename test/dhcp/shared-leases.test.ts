/**
 * Two authoritative instances on one segment, one lease table (issue 15), through the socket-free
 * handler: both hear every broadcast, RFC 2131's server identifier decides who answers a REQUEST,
 * and neither undoes what the other did. Over the in-memory fake and over PostgreSQL.
 */
import t from 'tap';
import { Opt } from '../../src/dhcp/options.js';
import { type ClientPacketSpec, ip } from '../helpers/dhcp-packets.js';
import type { Reply } from '../helpers/dhcp-rig.js';
import { eachSharedStore, instance, type Instance, SERVER_A, SERVER_B } from '../helpers/dhcp-pair.js';

const DISCOVER = 1;
const REQUEST = 3;
const M = '52:54:00:54:00:01';
const mac = (i: number) => `52:54:00:54:01:${i.toString(16).padStart(2, '0')}`;
const sid = (s: string) => [Opt.SERVER_ID, ip(s)] as const;
const req50 = (s: string) => [Opt.REQUESTED_IP, ip(s)] as const;
const clock = () => ({ now: Date.parse('2026-01-01T00:00:00Z') });

/** One broadcast heard by both instances in the order given; the replies of each, in that order. */
async function broadcast(to: [Instance, Instance], spec: ClientPacketSpec): Promise<[Reply[], Reply[]]> {
  const first = await to[0].send(spec);
  return [first, await to[1].send(spec)];
}

eachSharedStore(t, (t, stores) => {
  const pair = async (t: Parameters<typeof stores>[0]) => {
    const { a, b } = await stores(t);
    const c = clock();
    return { A: instance(a, SERVER_A, c), B: instance(b, SERVER_B, c), clock: c };
  };

  t.test('a DISCOVER heard by both: both offer the same address, one offer row', async (t) => {
    const { A, B } = await pair(t);
    const [[fromA], [fromB]] = await broadcast([A, B], { type: DISCOVER, mac: M, xid: 1 });
    t.equal(fromA?.type, 'OFFER');
    t.equal(fromB?.type, 'OFFER');
    t.equal(fromB?.packet.yiaddr, fromA?.packet.yiaddr, 'one address');
    t.equal(fromA?.ipOpt(Opt.SERVER_ID), SERVER_A);
    t.equal(fromB?.ipOpt(Opt.SERVER_ID), SERVER_B, 'each names itself');
    const rows = await A.store.leases.listByMac(M);
    t.same(
      rows.map((l) => [l.ip, l.state, l.serverId]),
      [[fromA!.packet.yiaddr, 'offered', SERVER_A]],
      "the row is A's offer",
    );
  });

  t.test('20 clients DISCOVER to both at once: offers never conflict', async (t) => {
    const { A, B } = await pair(t);
    const macs = Array.from({ length: 20 }, (_, i) => mac(i));
    const replies = await Promise.all(
      macs.flatMap((m, i) => [A.send({ type: DISCOVER, mac: m, xid: i }), B.send({ type: DISCOVER, mac: m, xid: i })]),
    );
    const offered = macs.map((_, i) => [replies[2 * i]?.[0]?.packet.yiaddr, replies[2 * i + 1]?.[0]?.packet.yiaddr]);
    t.ok(
      offered.every(([a, b]) => a !== undefined && a === b),
      'each client is offered one address by both',
    );
    t.equal(new Set(offered.map(([a]) => a)).size, 20, 'twenty distinct addresses');
    const rows = (await B.store.leases.list()).filter((l) => l.state === 'offered');
    t.equal(rows.length, 20, 'one offer row per client');
  });

  for (const order of ['B hears it first', 'A hears it first'] as const) {
    t.test(`REQUEST selecting A (${order}): A ACKs, B cancels nothing of A's`, async (t) => {
      const { A, B } = await pair(t);
      const [[offer]] = await broadcast([A, B], { type: DISCOVER, mac: M, xid: 2 });
      const yiaddr = offer!.packet.yiaddr;
      const selecting = { type: REQUEST, mac: M, xid: 2, options: [sid(SERVER_A), req50(yiaddr)] };
      const hearers: [Instance, Instance] = order === 'B hears it first' ? [B, A] : [A, B];
      const replies = await broadcast(hearers, selecting);
      const [fromA, fromB] = order === 'B hears it first' ? [replies[1], replies[0]] : [replies[0], replies[1]];
      t.same(fromB, [], 'B stays silent');
      t.equal(fromA?.[0]?.type, 'ACK', 'A finds its offer intact and ACKs');
      t.equal(fromA?.[0]?.packet.yiaddr, yiaddr);
      t.match(B.core.observations.at(-1), { messageType: 'REQUEST', note: `client chose server ${SERVER_A}` });
      const rows = await B.store.leases.listByMac(M);
      t.same(
        rows.map((l) => [l.ip, l.state, l.serverId]),
        [[yiaddr, 'bound', SERVER_A]],
        'bound by A',
      );
    });
  }

  t.test("REQUEST selecting B for the address A's row holds: B ACKs, A keeps the row for it", async (t) => {
    const { A, B } = await pair(t);
    // A wrote the offer row first; B offered the same address. The client took B's OFFER.
    const [[offer]] = await broadcast([A, B], { type: DISCOVER, mac: M, xid: 3 });
    const yiaddr = offer!.packet.yiaddr;
    const [fromA, fromB] = await broadcast([A, B], {
      type: REQUEST,
      mac: M,
      xid: 3,
      options: [sid(SERVER_B), req50(yiaddr)],
    });
    t.same(fromA, [], 'A stays silent');
    t.equal(fromB?.[0]?.type, 'ACK', 'B ACKs: A did not cancel the row the client asked B for');
    const rows = await A.store.leases.listByMac(M);
    t.same(
      rows.map((l) => [l.ip, l.state, l.serverId]),
      [[yiaddr, 'bound', SERVER_B]],
      'bound by B',
    );
  });

  t.test('the client chose A, A died before its ACK: a new DISCOVER gets the same address from B', async (t) => {
    const { A, B, clock } = await pair(t);
    const [[offer]] = await broadcast([A, B], { type: DISCOVER, mac: M, xid: 7 });
    const yiaddr = offer!.packet.yiaddr;
    // The REQUEST naming A reaches B only: A is dead.
    t.same(await B.send({ type: REQUEST, mac: M, xid: 7, options: [sid(SERVER_A), req50(yiaddr)] }), []);
    clock.now += 4_000; // udhcpc gives up on A and starts over
    const [again] = await B.send({ type: DISCOVER, mac: M, xid: 8 });
    t.equal(again?.packet.yiaddr, yiaddr, "B offers the address A's offer holds for the client");
    const [ack] = await B.send({ type: REQUEST, mac: M, xid: 8, options: [sid(SERVER_B), req50(yiaddr)] });
    t.equal(ack?.type, 'ACK');
    t.same(
      (await B.store.leases.listByMac(M)).map((l) => [l.ip, l.state, l.serverId]),
      [[yiaddr, 'bound', SERVER_B]],
    );
  });

  t.test(
    'INIT-REBOOT and RENEW to the instance that did not bind: honoured, the binding becomes its own',
    async (t) => {
      const { A, B, clock } = await pair(t);
      const [offer] = await A.send({ type: DISCOVER, mac: M, xid: 4 });
      const yiaddr = offer!.packet.yiaddr;
      const [ack] = await A.send({ type: REQUEST, mac: M, xid: 4, options: [sid(SERVER_A), req50(yiaddr)] });
      t.equal(ack?.type, 'ACK');
      // A is gone. The client reboots: INIT-REBOOT (no server id, option 50, no ciaddr), heard by B only.
      clock.now += 60_000;
      const [reboot] = await B.send({ type: REQUEST, mac: M, xid: 5, options: [req50(yiaddr)] });
      t.equal(reboot?.type, 'ACK', 'B ACKs the binding A made');
      t.equal(reboot?.packet.yiaddr, yiaddr);
      t.equal((await B.store.leases.get(yiaddr))?.serverId, SERVER_B, 'the binding is now B’s');
      // A renewal (ciaddr) reaches B too, once rebinding broadcasts it.
      clock.now += 300_000;
      const [renew] = await B.send({ type: REQUEST, mac: M, xid: 6, ciaddr: yiaddr });
      t.equal(renew?.type, 'ACK', 'B renews it');
      const lease = await A.store.leases.get(yiaddr);
      t.same([lease?.state, lease?.serverId, lease?.expiresAt], ['bound', SERVER_B, clock.now + 600_000]);
      t.equal((await A.store.leases.list()).filter((l) => l.mac === M && l.state === 'bound').length, 1);
    },
  );

  t.test('30 clients, full exchanges through either server: 30 addresses, one binding each', async (t) => {
    const { A, B } = await pair(t);
    const macs = Array.from({ length: 30 }, (_, i) => mac(0x40 + i));
    const acks = await Promise.all(
      macs.map(async (m, i) => {
        const discover = { type: DISCOVER, mac: m, xid: i };
        const [[oa], [ob]] = await Promise.all([A.send(discover), B.send(discover)]);
        const chosen = i % 3 === 0 ? ob : oa; // the client takes one of the two offers
        const serverId = chosen!.ipOpt(Opt.SERVER_ID)!;
        const spec = { type: REQUEST, mac: m, xid: i, options: [sid(serverId), req50(chosen!.packet.yiaddr)] };
        const replies = await Promise.all([A.send(spec), B.send(spec)]);
        return replies.flat();
      }),
    );
    t.ok(
      acks.every((r) => r.length === 1 && r[0]?.type === 'ACK'),
      'every client gets one ACK, from the server it chose',
    );
    t.equal(new Set(acks.map((r) => r[0]?.packet.yiaddr)).size, 30, 'thirty distinct addresses');
    const bound = (await A.store.leases.list()).filter((l) => l.state === 'bound');
    t.equal(bound.length, 30, 'thirty bindings');
    t.equal(new Set(bound.map((l) => l.mac)).size, 30, 'one per client');
    t.equal(bound.filter((l) => l.serverId === SERVER_B).length, 10, 'the ten that chose B are bound by B');
  });
});
