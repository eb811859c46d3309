// Acceptance: `metalboot serve --wol-interface eth0` in one network namespace wakes a machine whose
// "NIC" (a UDP listener on port 9) sits in another, across a veth pair the test creates. The
// namespaces have no default route, so the limited broadcast only arrives because the socket is
// tied to the interface. Needs root and iproute2 (CI).
import t from 'tap';
import { join } from 'node:path';
import { magicPacket } from '../../src/power/index.js';
import { createNetns, skipUnlessRoot, waitForLine } from '../helpers/netns.js';
import { CLI } from '../helpers/spawn-server.js';
import { clusterBody } from '../helpers/core-app.js';

const MAC = '52:54:00:77:00:01';
const TOKEN = 'wol-netns-token-0123456789';

const LISTENER = `
import { createSocket } from 'node:dgram';
const s = createSocket('udp4');
s.on('message', (m, r) => console.log('GOT ' + m.toString('hex') + ' ' + r.address + ' ' + (m.length)));
s.bind(9, '0.0.0.0', () => console.log('READY'));
setTimeout(() => process.exit(0), 120_000).unref();
`;

t.test('Wake-on-LAN from serve in one namespace to a listener in another', async (t) => {
  if (!skipUnlessRoot(t, 'Wake-on-LAN namespace test')) return;
  const net = await createNetns(t, { subnet: '10.253.7' });
  const [server, sleeper] = net.hosts as [(typeof net.hosts)[0], (typeof net.hosts)[0]];
  const nic = net.spawnNode(sleeper.ns, LISTENER);
  const got: string[] = [];
  nic.stdout?.on('data', (d: Buffer) =>
    got.push(
      ...d
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('GOT ')),
    ),
  );
  await waitForLine(nic, /^READY$/, 20_000);

  const dir = t.testdir({});
  const start = (extra: string[]) =>
    net.spawn(
      server.ns,
      [
        process.execPath,
        CLI,
        'serve',
        '--listen',
        '127.0.0.1:8080',
        '--tftp-listen',
        'off',
        '--events-listen',
        'off',
        '--kmsg-listen',
        'off',
        '--log-format',
        'json',
        ...extra,
      ],
      {
        ...process.env,
        METALBOOT_DATA_DIR: join(dir, 'data'),
        METALBOOT_ASSETS_DIR: join(dir, 'assets'),
        METALBOOT_API_TOKEN: TOKEN,
      },
    );
  const api = async (method: string, path: string, body?: unknown) => {
    const args = [
      'curl',
      '-s',
      '-X',
      method,
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '-H',
      'content-type: application/json',
      '-w',
      '\n%{http_code}',
      `http://127.0.0.1:8080/api/v1${path}`,
    ];
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    const r = await net.run(server.ns, args, 20_000);
    const lines = r.stdout.trimEnd().split('\n');
    return { status: Number(lines.pop()), json: JSON.parse(lines.join('\n') || 'null') };
  };

  let srv = start(['--wol-interface', 'eth0', '--wol-broadcast', '255.255.255.255:9']);
  await waitForLine(srv, /metalboot ready/, 30_000);
  const restart = async (extra: string[]) => {
    srv.kill('SIGTERM');
    await new Promise((r) => srv.once('exit', r));
    srv = start(extra);
    await waitForLine(srv, /metalboot ready/, 30_000);
  };
  t.equal((await api('POST', '/clusters', clusterBody())).status, 201);
  t.equal(
    (await api('POST', '/machines', { mac: MAC, hostname: 'sleepy', role: 'worker', cluster: 'prod' })).status,
    201,
  );

  const on = await api('POST', `/machines/${MAC}/power`, { action: 'on' });
  t.equal(on.status, 202, JSON.stringify(on.json));
  t.match(on.json, { driver: 'wol', detail: { to: '255.255.255.255:9', interface: 'eth0', bytes: 102 } });
  for (let i = 0; i < 100 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(got.length, 1, 'one magic packet arrived in the other namespace');
  t.equal(
    got[0],
    `GOT ${magicPacket(MAC).toString('hex')} ${server.address} 102`,
    'the magic packet, from the interface address',
  );
  const events = await api('GET', `/machines/${MAC}/events`);
  t.match(events.json.items.at(-1), { kind: 'power-on-requested', detail: { driver: 'wol', interface: 'eth0' } });

  // Without the interface setting the same limited broadcast has no way out of this namespace
  // (no default route): the request fails loudly and says so on the timeline.
  await restart(['--wol-broadcast', '255.255.255.255:9']);
  const failed = await api('POST', `/machines/${MAC}/power`, { action: 'on' });
  t.equal(failed.status, 502, "a driver that fails: 502, as a BMC's failure");
  t.match(failed.json.message, /power on via wol failed: .*(ENETUNREACH|EHOSTUNREACH)/);
  t.equal(got.length, 1, 'nothing more arrived');
  t.equal((await api('GET', `/machines/${MAC}/events`)).json.items.at(-1).kind, 'power-on-failed', 'on the timeline');

  // --wol-interface alone: the subnet's directed broadcast.
  await restart(['--wol-interface', 'eth0']);
  const directed = await api('POST', `/machines/${MAC}/power`, { action: 'on' });
  t.equal(directed.status, 202);
  t.match(directed.json.detail, { to: '10.253.7.255:9', interface: 'eth0' });
  for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(got.length, 2, 'the directed broadcast arrived too');
  srv.kill('SIGTERM');
  await new Promise((r) => srv.once('exit', r));
});
