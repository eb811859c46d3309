/**
 * `--dhcp-answer-delay`: a standby instance waits before answering a DISCOVER and stays silent when
 * another instance has offered to that client meanwhile (seen in the shared lease table); it
 * answers when the primary is silent. Handler-level over the in-memory fake and PostgreSQL, plus
 * the setting's validation (handler options, the CLI flag, metalboot.yaml).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Opt } from '../../src/dhcp/options.js';
import { handlerContext } from '../../src/dhcp/server.js';
import { ip } from '../helpers/dhcp-packets.js';
import { eachSharedStore, instance, POOL_RANGE, SERVER_A, SERVER_B } from '../helpers/dhcp-pair.js';
import { silentLogger, stubCore } from '../helpers/dhcp-rig.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { runCli } from '../helpers/cli-run.js';

const DISCOVER = 1;
const REQUEST = 3;
const M = '52:54:00:de:1a:01';
const DELAY = 500;

eachSharedStore(t, (t, stores) => {
  const pair = async (t: Parameters<typeof stores>[0]) => {
    const { a, b } = await stores(t);
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const A = instance(a, SERVER_A, clock);
    const B = instance(b, SERVER_B, clock, { answerDelayMs: DELAY });
    // The standby's wait, under the test's control: `during` runs while B waits (the clock moves by the delay).
    const waits: number[] = [];
    let during: () => Promise<void> = async () => undefined;
    B.ctx.wait = async (ms) => {
      waits.push(ms);
      await during();
      clock.now += ms;
      return true;
    };
    return { A, B, clock, waits, whileBWaits: (fn: () => Promise<void>) => (during = fn) };
  };

  t.test('B stays silent when A offered to the client while B waited', async (t) => {
    const { A, B, waits, whileBWaits } = await pair(t);
    let fromA: Awaited<ReturnType<typeof A.send>> = [];
    whileBWaits(async () => {
      fromA = await A.send({ type: DISCOVER, mac: M, xid: 1 });
    });
    const fromB = await B.send({ type: DISCOVER, mac: M, xid: 1 });
    t.same(waits, [DELAY], 'B waited the delay');
    t.equal(fromA[0]?.type, 'OFFER', 'A (no delay) offered');
    t.same(fromB, [], 'B stayed silent');
    t.match(B.core.observations.at(-1), { messageType: 'DISCOVER', note: `standby: server ${SERVER_A} answered` });
    t.same(
      (await B.store.leases.listByMac(M)).map((l) => [l.state, l.serverId]),
      [['offered', SERVER_A]],
      'only A’s offer in the table',
    );
  });

  t.test('B answers when A is silent, and the client can take its offer', async (t) => {
    const { B, waits } = await pair(t);
    const [offer] = await B.send({ type: DISCOVER, mac: M, xid: 2 });
    t.same(waits, [DELAY]);
    t.equal(offer?.type, 'OFFER', 'no other server answered: B offers');
    t.equal(offer?.ipOpt(Opt.SERVER_ID), SERVER_B);
    const yiaddr = offer!.packet.yiaddr;
    const [ack] = await B.send({
      type: REQUEST,
      mac: M,
      xid: 2,
      options: [
        [Opt.SERVER_ID, ip(SERVER_B)],
        [Opt.REQUESTED_IP, ip(yiaddr)],
      ],
    });
    t.equal(ack?.type, 'ACK');
    t.equal((await B.store.leases.get(yiaddr))?.serverId, SERVER_B);
  });

  t.test('an offer A made before the window (A died since) does not silence B', async (t) => {
    const { A, B, clock } = await pair(t);
    const [old] = await A.send({ type: DISCOVER, mac: M, xid: 3 });
    clock.now += 4_000; // the client retries its DISCOVER; A is gone and answers no more
    const [offer] = await B.send({ type: DISCOVER, mac: M, xid: 4 });
    t.equal(offer?.type, 'OFFER', 'B answers the retry');
    t.equal(offer?.packet.yiaddr, old?.packet.yiaddr, 'with the address A’s offer still holds for the client');
  });

  t.test('a REQUEST is answered at once: the delay is for DISCOVERs', async (t) => {
    const { A, B, waits } = await pair(t);
    const [offer] = await A.send({ type: DISCOVER, mac: M, xid: 5 });
    const yiaddr = offer!.packet.yiaddr;
    await A.send({
      type: REQUEST,
      mac: M,
      xid: 5,
      options: [
        [Opt.SERVER_ID, ip(SERVER_A)],
        [Opt.REQUESTED_IP, ip(yiaddr)],
      ],
    });
    const [reboot] = await B.send({ type: REQUEST, mac: M, xid: 6, options: [[Opt.REQUESTED_IP, ip(yiaddr)]] });
    t.equal(reboot?.type, 'ACK', 'INIT-REBOOT on the standby');
    t.same(waits, [], 'without waiting');
  });
});

t.test('with real timers: the standby answers after the delay when nobody else did', async (t) => {
  const store = new MemoryStore();
  const B = instance(store, SERVER_B, { now: 0 }, { answerDelayMs: 50, now: Date.now });
  const started = Date.now();
  const [offer] = await B.send({ type: DISCOVER, mac: M, xid: 7 });
  t.equal(offer?.type, 'OFFER');
  t.ok(Date.now() - started >= 45, 'not before the delay (a lower bound, not a timing measurement)');
});

t.test('the delay is bounded and validated with a clear error', async (t) => {
  const base = {
    mode: 'authoritative' as const,
    interface: 'unused',
    serverIp: SERVER_B,
    advertiseUrl: 'http://10.254.0.2:8080',
    pool: { range: POOL_RANGE, subnetMask: '255.255.255.0', leaseTimeSec: 600 },
    core: stubCore(),
    leases: new MemoryStore().leases,
    logger: silentLogger,
  };
  for (const bad of [-1, 10_001, 1.5, Number.NaN])
    t.throws(() => handlerContext({ ...base, answerDelayMs: bad }), {
      message: /answer delay must be a whole number of milliseconds from 0 to 10000/,
    });
  t.equal(handlerContext({ ...base, answerDelayMs: 10_000 }).answerDelayMs, 10_000, 'the bound itself is allowed');
  t.equal(handlerContext(base).answerDelayMs, 0, 'default: answer at once');

  const dir = t.testdir({});
  const flag = await runCli(
    ['serve', '--listen', '127.0.0.1:1', '--tftp-listen', 'off', '--dhcp-answer-delay', '20000'],
    {
      METALBOOT_DATA_DIR: join(dir, 'a'),
    },
  );
  t.not(flag.code, 0, 'serve refuses a delay over the bound');
  t.match(
    flag.stdout + flag.stderr,
    /--dhcp-answer-delay must be a whole number of milliseconds from 0 to 10000 \(got \\?"20000\\?"\)/,
  );
  const env = await runCli(['serve', '--listen', '127.0.0.1:1', '--tftp-listen', 'off'], {
    METALBOOT_DATA_DIR: join(dir, 'b'),
    METALBOOT_DHCP_ANSWER_DELAY: 'soon',
  });
  t.match(
    env.stdout + env.stderr,
    /--dhcp-answer-delay must be a whole number .*\(got \\?"soon\\?"\)/,
    'from the environment',
  );
  writeFileSync(join(dir, 'metalboot.yaml'), 'dhcp-answer-delay: -5\n');
  const file = await runCli(
    ['serve', '--listen', '127.0.0.1:1', '--tftp-listen', 'off'],
    { METALBOOT_DATA_DIR: join(dir, 'c') },
    { cwd: dir },
  );
  t.not(file.code, 0);
  t.match(
    file.stdout + file.stderr,
    /--dhcp-answer-delay must be a whole number .*\(got \\?"-5\\?"\)/,
    'from metalboot.yaml',
  );
});
