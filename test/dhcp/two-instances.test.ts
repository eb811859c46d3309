/**
 * Issue 15's bar for DHCP: two `metalboot serve --dhcp authoritative` processes on one segment
 * (each in its own namespace, its own address on one bridge, the same --dhcp-range), one
 * PostgreSQL, 50 busybox udhcpc clients (each in its own namespace with its own MAC). Both servers
 * answer every broadcast; RFC 2131's server identifier decides. Wave 1: 25 clients, both servers up.
 * Wave 2: 25 more, and server A is killed (-9) while they are being served: every client still
 * gets a lease, 50 distinct addresses, one binding per MAC in the shared table. Then clients
 * that A had bound ask again and get their address from B, who now holds the binding.
 *
 * PostgreSQL listens on 127.0.0.1 of the host, which a namespace cannot reach: the servers use
 * its unix socket (`?host=<socket dir>`), which the namespaces share with the host's filesystem.
 */
import t, { type Test } from 'tap';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { killGroup } from '../../scripts/netns-cleanup.js';
import { makeClientHost } from '../helpers/dhcp-lab.js';
import { createNetns, type Netns, skipUnlessRoot, waitForLine } from '../helpers/netns.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { CLI } from '../helpers/spawn-server.js';

const SUBNET = '10.253.50';
const RANGE = `${SUBNET}.100-${SUBNET}.199`;
const CLIENTS = 50;
const WAVE = 25;
/** Wave 2's clients start this far apart, so the kill falls in the middle of the wave. */
const STAGGER_MS = 150;
const clientMac = (i: number) => `52:54:00:50:00:${i.toString(16).padStart(2, '0')}`;

/** Root, busybox, PostgreSQL and the built CLI; outside CI a missing one skips visibly, under CI it fails. */
function available(t: Test): boolean {
  if (!skipUnlessRoot(t, 'the two-instance DHCP lab')) return false;
  const missing = [
    ...(existsSync('/usr/bin/busybox') || existsSync('/bin/busybox') ? [] : ['busybox (apt-get install busybox)']),
    ...(missingPostgres() ? [missingPostgres()!] : []),
    ...(existsSync(CLI) ? [] : [`the built CLI ${CLI} (npm run build)`]),
  ];
  if (missing.length === 0) return true;
  const reason = `the two-instance DHCP lab needs ${missing.join(', ')}`;
  if (process.env.CI) t.fail(reason);
  else t.pass('two-instance DHCP lab', { skip: reason });
  return false;
}

/** `metalboot serve` as an operator runs it, inside `ns`, on the shared database. */
async function serveIn(
  net: Netns,
  ns: string,
  address: string,
  dataDir: string,
  database: string,
  opts: { range?: string; extra?: string[] } = {},
) {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('METALBOOT_') && k !== 'NODE_OPTIONS'),
  );
  // tap's process-info hook would join the child through NODE_OPTIONS (dropped above) and record coverage.
  env._TAPJS_PROCESSINFO_COVERAGE_ = '0';
  Object.assign(env, {
    METALBOOT_DATA_DIR: dataDir,
    METALBOOT_API_TOKEN: 'two-instances-token-0123456789',
    METALBOOT_HTTP_WORKERS: '1',
    METALBOOT_LOG_FORMAT: 'json',
  });
  const child = net.spawn(
    ns,
    [
      process.execPath,
      CLI,
      'serve',
      '--database',
      database,
      '--dhcp',
      'authoritative',
      '--interface',
      'eth0',
      '--dhcp-range',
      opts.range ?? RANGE,
      '--dhcp-lease-time',
      '600',
      '--listen',
      `${address}:8080`,
      '--tftp-listen',
      'off',
      '--events-listen',
      'off',
      '--kmsg-listen',
      'off',
      ...(opts.extra ?? []),
    ],
    env,
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitForLine(child, /metalboot ready/, 30_000);
  /** Its JSON log lines about DHCP exchanges (logged at debug level). */
  const exchanges = () =>
    out
      .split('\n')
      .filter((l) => l.includes('"DHCP exchange"'))
      .map((l) => JSON.parse(l) as { mac: string; type: string; reply?: string; note?: string });
  return Object.assign(child, { exchanges });
}

let runs = 0;

/**
 * busybox udhcpc until bound, then quits (-q). Without -n: a client whose chosen server died goes
 * back to DISCOVER (after three unanswered REQUESTs) instead of giving up. Bounded by the kill at
 * `timeoutMs`. The script records every event (one `bound` expected) and the bound environment.
 */
async function udhcpc(net: Netns, ns: string, tmp: string, extra: string[] = []) {
  const n = ++runs;
  const envFile = join(tmp, `udhcpc-${n}.env`);
  const events = join(tmp, `udhcpc-${n}.events`);
  const script = join(tmp, `udhcpc-${n}.sh`);
  writeFileSync(
    script,
    `#!/bin/sh\necho "$1 $ip $serverid" >> '${events}'\n[ "$1" = bound ] && env > '${envFile}'\nexit 0\n`,
  );
  chmodSync(script, 0o755);
  const r = await net.run(
    ns,
    ['busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-t', '3', '-T', '1', '-A', '1', '-s', script, ...extra],
    45_000,
  );
  const env: Record<string, string> = {};
  if (existsSync(envFile))
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1).replace(/^'(.*)'$/, '$1');
    }
  const log = existsSync(events) ? readFileSync(events, 'utf8').trim().split('\n') : [];
  return { ip: env.ip, serverId: env.serverid, bound: log.filter((l) => l.startsWith('bound ')).length, log, r };
}

t.test('two authoritative instances, one PostgreSQL, 50 udhcpc clients, one server killed mid-run', async (t) => {
  if (!available(t)) return;
  const tmp = t.testdir({});
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const viaSocket = new URL(url);
  viaSocket.searchParams.set('host', server.socketDir);
  const db = new pg.Pool({ connectionString: url, max: 2 });
  t.teardown(() => db.end());

  const net = await createNetns(t, { hosts: 2 + CLIENTS, subnet: SUBNET, bridge: true });
  const [hostA, hostB, ...clients] = net.hosts;
  clients.forEach((c, i) => makeClientHost(c.ns, clientMac(i)));
  const a = await serveIn(net, hostA!.ns, hostA!.address, join(tmp, 'a'), viaSocket.toString());
  await serveIn(net, hostB!.ns, hostB!.address, join(tmp, 'b'), viaSocket.toString());

  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  // Wave 1: both servers up.
  const wave1 = await Promise.all(clients.slice(0, WAVE).map((c) => udhcpc(net, c.ns, tmp)));
  t.ok(
    wave1.every((c) => c.ip),
    `wave 1: every client bound (${wave1.filter((c) => c.ip).length}/${WAVE})`,
  );
  const byServer = (list: typeof wave1, id: string) => list.filter((c) => c.serverId === id).length;
  t.comment(`wave 1 done at ${elapsed()}`);
  t.comment(`wave 1 bound by A: ${byServer(wave1, hostA!.address)}, by B: ${byServer(wave1, hostB!.address)}`);

  // Wave 2: clients start one after another; A dies (-9) once a third of them are bound.
  const wave2Macs = clients.slice(WAVE).map((_, i) => clientMac(WAVE + i));
  const wave2Running = Promise.all(
    clients
      .slice(WAVE)
      .map((c, i) => new Promise((r) => setTimeout(r, i * STAGGER_MS)).then(() => udhcpc(net, c.ns, tmp))),
  );
  const boundOfWave2 = async () =>
    Number(
      (await db.query("SELECT count(*) AS n FROM leases WHERE mac = ANY($1) AND state = 'bound'", [wave2Macs])).rows[0]
        .n as string,
    );
  const deadline = Date.now() + 20_000;
  let boundAtKill = await boundOfWave2();
  while (Date.now() < deadline && boundAtKill < WAVE / 3) {
    await new Promise((r) => setTimeout(r, 20));
    boundAtKill = await boundOfWave2();
  }
  killGroup(a.pid!, 'SIGKILL');
  t.ok(
    boundAtKill >= WAVE / 3 && boundAtKill < WAVE,
    `server A killed mid-wave: ${boundAtKill} of ${WAVE} wave-2 clients bound`,
  );
  const wave2 = await wave2Running;
  t.equal(a.signalCode ?? 'SIGKILL', 'SIGKILL', 'A is gone');
  t.ok(
    wave2.every((c) => c.ip),
    `wave 2: every client still bound (${wave2.filter((c) => c.ip).length}/${WAVE})`,
  );
  for (const [i, c] of wave2.entries()) if (!c.ip) t.comment(`client ${WAVE + i}: ${c.log.join(' | ')}`);

  t.comment(`wave 2 done at ${elapsed()}`);
  const all = [...wave1, ...wave2];
  const ips = all.map((c) => c.ip);
  t.equal(new Set(ips.filter(Boolean)).size, CLIENTS, `${CLIENTS} distinct addresses`);
  t.ok(
    ips.every((ip) => ip?.startsWith(`${SUBNET}.`) && Number(ip.split('.')[3]) >= 100),
    'all inside the range',
  );
  t.same(
    all.map((c) => c.bound),
    all.map(() => 1),
    'each client bound once',
  );

  const rows = (
    await db.query<{ mac: string; ip: string; server_id: string }>(
      "SELECT mac, ip, server_id FROM leases WHERE state = 'bound' AND expires_at > $1 ORDER BY mac",
      [Date.now()],
    )
  ).rows;
  t.equal(rows.length, CLIENTS, 'the table holds one active binding per client');
  t.equal(new Set(rows.map((r) => r.mac)).size, CLIENTS, 'never two for one MAC');
  t.same(
    rows.map((r) => [r.mac, r.ip]),
    all.map((c, i) => [clientMac(i), c.ip]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    'each binding is the address its client was given',
  );

  // Clients A had bound ask again (requesting their address): B, the one left, gives it back and holds the binding.
  const boundByA = all
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.serverId === hostA!.address)
    .slice(0, 5);
  t.comment(`clients bound by A before its death: ${all.filter((c) => c.serverId === hostA!.address).length}`);
  const again = await Promise.all(boundByA.map(({ c, i }) => udhcpc(net, clients[i]!.ns, tmp, ['-r', c.ip!])));
  t.same(
    again.map((c) => [c.ip, c.serverId]),
    boundByA.map(({ c }) => [c.ip, hostB!.address]),
    'same address, now from B',
  );
  const moved = (
    await db.query<{ server_id: string }>("SELECT server_id FROM leases WHERE state = 'bound' AND mac = ANY($1)", [
      boundByA.map(({ i }) => clientMac(i)),
    ])
  ).rows;
  t.ok(
    moved.length === boundByA.length && moved.every((r) => r.server_id === hostB!.address),
    'their bindings are B’s now',
  );
});

t.test(
  'a standby (--dhcp-answer-delay) stays silent while the primary answers, and serves when it is gone',
  async (t) => {
    if (!available(t)) return;
    const tmp = t.testdir({});
    const server = await startPostgres(t);
    const url = await server.createDatabase();
    const viaSocket = new URL(url);
    viaSocket.searchParams.set('host', server.socketDir);
    const subnet = '10.253.51';
    const net = await createNetns(t, { hosts: 2 + 8, subnet, bridge: true });
    const [hostA, hostB, ...clients] = net.hosts;
    clients.forEach((c, i) => makeClientHost(c.ns, clientMac(0x80 + i)));
    const range = `${subnet}.100-${subnet}.150`;
    const a = await serveIn(net, hostA!.ns, hostA!.address, join(tmp, 'a'), viaSocket.toString(), { range });
    const b = await serveIn(net, hostB!.ns, hostB!.address, join(tmp, 'b'), viaSocket.toString(), {
      range,
      extra: ['--dhcp-answer-delay', '1000', '--log-level', 'debug'],
    });

    const first = await Promise.all(clients.slice(0, 5).map((c) => udhcpc(net, c.ns, tmp)));
    t.same(
      first.map((c) => c.serverId),
      first.map(() => hostA!.address),
      'with the primary up, every client is served by A',
    );
    t.ok(
      first.every((c) => c.ip && c.bound === 1),
      'each bound once',
    );
    // B logs an exchange when its wait is over: give the last ones the delay (bounded).
    const standbyDiscovers = () => b.exchanges().filter((e) => e.type === 'DISCOVER');
    for (let i = 0; i < 50 && standbyDiscovers().length < first.length; i++)
      await new Promise((r) => setTimeout(r, 100));
    const standby = standbyDiscovers();
    t.ok(standby.length >= 5, `the standby heard the DISCOVERs (${standby.length})`);
    t.notOk(
      standby.some((e) => e.reply),
      'and answered none of them',
    );
    t.ok(
      standby.every((e) => e.note === `standby: server ${hostA!.address} answered`),
      'because A had offered meanwhile',
    );

    killGroup(a.pid!, 'SIGKILL');
    const after = await Promise.all(clients.slice(5).map((c) => udhcpc(net, c.ns, tmp)));
    t.same(
      after.map((c) => c.serverId),
      after.map(() => hostB!.address),
      'with A gone, the standby serves every new client',
    );
    const ips = [...first, ...after].map((c) => c.ip);
    t.equal(new Set(ips.filter(Boolean)).size, clients.length, 'distinct addresses');
    t.ok(
      b.exchanges().some((e) => e.type === 'DISCOVER' && e.reply === 'OFFER'),
      'B offered after the delay',
    );
  },
);
