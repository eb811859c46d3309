/** Startup errors that must be clear (no sockets are opened on the host: validation fails first). */
import t from 'tap';
import { startDhcpServer } from '../../src/dhcp/server.js';
import { createSocket } from 'node:dgram';
import { bindSocketToInterface, interfaceIndex } from '../../src/dhcp/interface.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { ADVERTISE, SERVER_IP, silentLogger, stubCore } from '../helpers/dhcp-rig.js';

t.test('a missing or malformed interface name stops startup with a clear error', async (t) => {
  const store = new SqliteStore(':memory:');
  t.teardown(() => store.close());
  const opts = {
    mode: 'proxy' as const,
    serverIp: SERVER_IP,
    advertiseUrl: ADVERTISE,
    core: stubCore(),
    leases: store.leases,
    logger: silentLogger,
  };
  await t.rejects(startDhcpServer({ ...opts, interface: 'mbnosuch0' }), /DHCP interface "mbnosuch0" does not exist \(this host has: .*lo/);
  await t.rejects(startDhcpServer({ ...opts, interface: '../../etc' }), /not a valid network interface name/);
  await t.rejects(startDhcpServer({ ...opts, interface: 'lo', serverIp: 'x' }), /serverIp/, 'options are checked before any socket');
  t.equal(interfaceIndex('lo'), 1, 'lo is ifindex 1 in every namespace');
});

t.test('SO_BINDTOIFINDEX through sockopt works on a bound socket (no traffic: loopback, ephemeral port)', async (t) => {
  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  t.doesNotThrow(() => bindSocketToInterface(socket, interfaceIndex('lo'), 'lo'));
  const unbound = createSocket('udp4');
  t.teardown(() => unbound.close());
  t.throws(() => bindSocketToInterface(unbound, 1, 'lo'), /cannot bind the DHCP socket to interface "lo".*file descriptor/);
});
