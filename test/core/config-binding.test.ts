import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bindingWarnings,
  DhcpSightings,
  formatConfigBinding,
  parseConfigBinding,
} from '../../src/core/binding/config-binding.js';
import { parseArpTable, ProcNeighbourTable } from '../../src/net/neighbours.js';

t.test('--config-binding: first-request or a list of signals; anything else is a clear error', async (t) => {
  t.equal(parseConfigBinding('first-request'), 'first-request');
  t.same(parseConfigBinding('neighbour,dhcp'), ['neighbour', 'dhcp']);
  t.same(parseConfigBinding(' Reservation , dhcp,dhcp '), ['reservation', 'dhcp']);
  t.equal(formatConfigBinding(['neighbour', 'dhcp']), 'neighbour,dhcp');
  for (const bad of ['', 'arp', 'neighbour,first-request', ','])
    t.throws(
      () => parseConfigBinding(bad),
      /--config-binding .* must be first-request or a comma list of neighbour, dhcp, reservation/,
      bad,
    );
  t.match(bindingWarnings('first-request')[0], /any host that knows a registered MAC/);
  t.same(bindingWarnings(['neighbour']), []);
});

const ARP = `IP address       HW type     Flags       HW address            Mask     Device
10.9.0.21        0x1         0x2         52:54:00:AA:00:01     *        br0
10.9.0.22        0x1         0x0         00:00:00:00:00:00     *        br0
10.9.0.23        0x1         0x2         52:54:00:aa:00:03     *        eth1
10.9.0.23        0x1         0x2         52:54:00:aa:00:04     *        eth2
10.9.0.24        0x1         0x6         52:54:00:aa:00:05     *        br0
`;

t.test('/proc/net/arp: complete entries only, every device, lower case', async (t) => {
  const table = parseArpTable(ARP);
  t.same(table.get('10.9.0.21'), ['52:54:00:aa:00:01']);
  t.equal(table.get('10.9.0.22'), undefined, 'an incomplete entry names no MAC');
  t.same(table.get('10.9.0.23'), ['52:54:00:aa:00:03', '52:54:00:aa:00:04']);
  t.same(table.get('10.9.0.24'), ['52:54:00:aa:00:05'], 'permanent entries count');
  t.same([...table.keys()], ['10.9.0.21', '10.9.0.23', '10.9.0.24']);
  t.equal(parseArpTable('').size, 0);
  t.same(
    parseArpTable(`${ARP}10.9.0.21        0x1         0x2         52:54:00:aa:00:01     *        br1\n`).get(
      '10.9.0.21',
    ),
    ['52:54:00:aa:00:01'],
    'one MAC on two devices: once',
  );
  const file = join(t.testdir({}), 'arp');
  writeFileSync(file, ARP);
  t.same(await new ProcNeighbourTable(file).macsFor('10.9.0.21'), ['52:54:00:aa:00:01']);
  t.same(await new ProcNeighbourTable(join(file, 'missing')).macsFor('10.9.0.21'), [], 'no table: ties nothing');
});

t.test('a table read a moment ago answers for what it holds; anything else is read afresh', async (t) => {
  const file = join(t.testdir({}), 'arp');
  let now = 0;
  const table = new ProcNeighbourTable(file, 1000, () => now);
  writeFileSync(file, ARP);
  t.same(await table.macsFor('10.9.0.21'), ['52:54:00:aa:00:01']);
  writeFileSync(
    file,
    `${ARP.replace('52:54:00:AA:00:01', '52:54:00:aa:00:99')}10.9.0.30        0x1         0x2         52:54:00:aa:00:30     *        br0\n`,
  );
  now = 500;
  t.same(await table.macsFor('10.9.0.21'), ['52:54:00:aa:00:01'], 'within the second: the table as read');
  t.same(await table.macsFor('10.9.0.30'), ['52:54:00:aa:00:30'], 'a host the cached table lacks is looked up afresh');
  t.same(await table.macsFor('10.9.0.21'), ['52:54:00:aa:00:99'], 'and that read is the table from now on');
  writeFileSync(file, ARP);
  now = 1600;
  t.same(await table.macsFor('10.9.0.21'), ['52:54:00:aa:00:01'], 'older than a second: read again');
});

t.test('DHCP sightings: newest per address, aged out, bounded', async (t) => {
  const s = new DhcpSightings(1000, 3);
  s.note('52:54:00:00:00:01', '10.0.0.1', 0);
  t.equal(s.macAt('10.0.0.1', 1000), '52:54:00:00:00:01');
  t.equal(s.macAt('10.0.0.1', 1001), undefined, 'too old');
  s.note('52:54:00:00:00:02', '10.0.0.1', 10);
  t.equal(s.macAt('10.0.0.1', 10), '52:54:00:00:00:02', 'the address changed hands');
  for (let i = 2; i < 10; i++) s.note('52:54:00:00:00:09', `10.0.0.${i}`, 20);
  t.equal(s.size, 3, 'never more than the cap');
  t.equal(s.macAt('10.0.0.1', 20), undefined, 'the oldest went first');
  t.equal(s.macAt('10.0.0.9', 20), '52:54:00:00:00:09');
});
