/**
 * A hostile host on a segment two instances share (issue 15): it knows a victim's MAC and sends
 * REQUESTs in the victim's name — naming the other instance, a server that does not exist, or an
 * address nobody offered — and floods them. What it gets: silence or a NAK; the victim's binding
 * (made by A) keeps its one binding at its address, and neither instance cancels what the other made.
 * Over the in-memory fake and over PostgreSQL.
 */
import t from 'tap';
import { Opt } from '../../src/dhcp/options.js';
import { ip } from '../helpers/dhcp-packets.js';
import { eachSharedStore, instance, SERVER_A, SERVER_B } from '../helpers/dhcp-pair.js';

const DISCOVER = 1;
const REQUEST = 3;
const VICTIM = '52:54:00:66:00:01';
const sid = (s: string) => [Opt.SERVER_ID, ip(s)] as const;
const req50 = (s: string) => [Opt.REQUESTED_IP, ip(s)] as const;

eachSharedStore(t, (t, stores) => {
  t.test("spoofed REQUESTs in a bound victim's name change nothing of its binding", async (t) => {
    const { a, b } = await stores(t);
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const A = instance(a, SERVER_A, clock);
    const B = instance(b, SERVER_B, clock);
    // The victim boots: both offer, it takes A's offer, A binds it.
    const [offer] = await A.send({ type: DISCOVER, mac: VICTIM, xid: 1 });
    await B.send({ type: DISCOVER, mac: VICTIM, xid: 1 });
    const addr = String(offer!.packet.yiaddr);
    const select = { type: REQUEST, mac: VICTIM, xid: 1, options: [sid(SERVER_A), req50(addr)] };
    t.equal((await A.send(select))[0]?.type, 'ACK', 'the victim is bound by A');
    await B.send(select);
    const bound = async () => (await a.leases.listByMac(VICTIM)).map((l) => [l.ip, l.state, l.serverId]);
    t.same(await bound(), [[addr, 'bound', SERVER_A]]);

    // The attacker, in the victim's name: select B, select a server that does not exist, ask A
    // for an address A never offered, all heard by both; then the same 200 times (a flood).
    const spoofs = [
      { type: REQUEST, mac: VICTIM, xid: 9, options: [sid(SERVER_B), req50(addr)] },
      { type: REQUEST, mac: VICTIM, xid: 9, options: [sid('10.254.0.77'), req50('10.254.0.150')] },
      { type: REQUEST, mac: VICTIM, xid: 9, options: [sid(SERVER_A), req50('10.254.0.151')] },
    ];
    const answers: string[] = [];
    const acked = new Set<string>();
    for (let i = 0; i < 200; i++)
      for (const spoof of spoofs)
        for (const server of [A, B])
          for (const r of await server.send(spoof)) {
            answers.push(String(r.type));
            if (r.type === 'ACK') acked.add(String(r.packet.yiaddr));
          }
    // B may ACK "select B for the victim's own address" (the shared binding, as after A's death):
    // that hands the attacker nothing the victim did not already hold.
    t.same([...acked], [addr], "every ACK is of the victim's own address");
    t.ok(
      answers.every((x) => x === 'NAK' || x === 'ACK'),
      `only NAKs or B's ACK of the address the victim holds (got ${[...new Set(answers)].join(', ')})`,
    );
    t.notOk(
      (await a.leases.list()).some((l) => l.ip === '10.254.0.150' || l.ip === '10.254.0.151'),
      'no address the attacker named was bound or held',
    );
    const rows = await a.leases.listByMac(VICTIM);
    t.equal(rows.filter((l) => l.state === 'bound').length, 1, 'still one binding for the victim');
    t.equal(rows.find((l) => l.state === 'bound')?.ip, addr, 'at the address it had');
  });
});
