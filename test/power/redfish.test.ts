/**
 * The Redfish driver against the Redfish emulator (test/helpers/redfish-emulator), each effect
 * checked on the emulator's own state: the power state, the ordered log of resets, the boot
 * override, the requests it received. Without openssl (the test certificate) the file skips; under
 * CI it fails.
 */
import { createServer } from 'node:net';
import t from 'tap';
import { BmcError, KeyedPacer, RedfishClient } from '../../src/power/index.js';
import { scrub } from '../../src/power/redfish-http.js';
import {
  EMU_ADMIN,
  makeTestCert,
  missingOpenssl,
  type RedfishEmulator,
  startRedfishEmulator,
} from '../helpers/redfish-emulator/index.js';

const missing = missingOpenssl();
if (missing && process.env.CI) t.fail(`${missing} — CI must provide it (.ci/run installs it), refusing to skip`);

/** Every error any test saw: none may carry the password. */
const errors: BmcError[] = [];

async function failure(p: Promise<unknown>): Promise<BmcError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof BmcError)) throw new Error(`expected a BmcError, got ${String(e)}`);
  errors.push(e);
  return e;
}

function client(emu: RedfishEmulator, over: Record<string, unknown> = {}, opts: Record<string, unknown> = {}) {
  return new RedfishClient(
    { address: emu.address, ...EMU_ADMIN, ca: emu.cert.cert, ...over },
    { pacer: new KeyedPacer(0), timeoutMs: 5000, ...opts },
  );
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('addresses: 443 by default', async (t) => {
  t.equal(new RedfishClient({ address: 'bmc-r1.lan', username: 'a', password: 'b' }).address, 'bmc-r1.lan:443');
  t.equal(new RedfishClient({ address: '[fd00::21]:8443', username: 'a', password: 'b' }).address, '[fd00::21]:8443');
  t.throws(() => new RedfishClient({ address: 'https://x', username: 'a', password: 'b' }), /host or host:port/);
});

t.test('scrub takes out the password and the Basic credentials', async (t) => {
  const basic = Buffer.from('admin:pw-123').toString('base64');
  t.equal(scrub(`x pw-123 y Basic ${basic}`, { username: 'admin', password: 'pw-123' }), 'x *** y Basic ***');
});

t.test('against the emulator', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t);
  const sys = emu.system();
  const rf = client(emu);

  t.test('status follows the emulator', async (t) => {
    t.equal(await rf.powerStatus(), 'off');
    sys.power = 'On';
    t.equal(await rf.powerStatus(), 'on');
    sys.power = 'Off';
    t.same(
      emu.state.requests.slice(0, 3),
      ['GET /redfish/v1 basic', 'GET /redfish/v1/Systems basic', 'GET /redfish/v1/Systems/1 basic'],
      'service root, then Systems, then the member',
    );
    t.equal(emu.state.requests.filter((l) => l.startsWith('GET /redfish/v1 ')).length, 1, 'the path is remembered');
  });

  t.test('on, off, cycle, reset, soft: the ResetTypes and their effects', async (t) => {
    await rf.power('on');
    t.equal(sys.power, 'On');
    t.equal(await rf.powerStatus(), 'on');
    await rf.power('off');
    t.equal(sys.power, 'Off');
    await rf.power('on');
    await rf.power('cycle');
    await rf.power('reset');
    await rf.power('soft');
    t.same(sys.resets, ['On', 'ForceOff', 'On', 'PowerCycle', 'ForceRestart', 'GracefulShutdown']);
    t.equal(sys.power, 'Off');
    t.same(sys.boots, ['default', 'default', 'default', 'default'], 'on, on, cycle and reset powered it up');
  });

  t.test('cycle falls back to ForceRestart where PowerCycle is not allowed', async (t) => {
    sys.resetTypes = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart'];
    await rf.power('cycle');
    t.equal(sys.resets.at(-1), 'ForceRestart');
    sys.resetTypes = ['On', 'ForceOff'];
    const e = await failure(rf.power('soft'));
    t.equal(e.kind, 'command');
    t.match(e.message, /does not allow ResetType GracefulShutdown.*allowed: On, ForceOff/);
    t.equal(sys.resets.at(-1), 'ForceRestart', 'nothing was sent');
    sys.resetTypes = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'PowerCycle', 'Nmi'];
    t.equal((await failure(rf.power('hibernate' as never))).kind, 'command');
  });

  t.test('boot device: once, persistent, efi, legacy, disk', async (t) => {
    sys.boot = { target: 'None', enabled: 'Disabled', mode: 'Legacy' };
    await rf.setBootDevice('pxe');
    t.same(sys.boot, { target: 'Pxe', enabled: 'Once', mode: 'Legacy' }, 'no efi given: the mode is left alone');
    t.match(emu.state.requests.at(-1), /^PATCH \/redfish\/v1\/Systems\/1 basic if-match=W\/"\d+"$/, 'with If-Match');
    await rf.setBootDevice('pxe', { persistent: true, efi: true });
    t.same(sys.boot, { target: 'Pxe', enabled: 'Continuous', mode: 'UEFI' });
    await rf.setBootDevice('disk', { efi: false });
    t.same(sys.boot, { target: 'Hdd', enabled: 'Once', mode: 'Legacy' });
    await rf.power('on');
    t.equal(sys.boots.at(-1), 'Hdd', 'the next power-up used the override');
    t.equal((await failure(rf.setBootDevice('usb' as never))).kind, 'command');
  });

  t.test('a BMC error: 500 with its own words', async (t) => {
    emu.state.knobs.fail500 = true;
    const e = await failure(rf.powerStatus());
    emu.state.knobs.fail500 = false;
    t.equal(e.kind, 'command');
    t.match(e.message, /HTTP 500.*internal service error/);
  });

  t.test('an unexpected PowerState is an output error, not a guess', async (t) => {
    sys.power = 'Exploded' as never;
    const e = await failure(rf.powerStatus());
    sys.power = 'Off';
    t.equal(e.kind, 'output');
    t.match(e.message, /PowerState.*"Exploded"/);
  });

  t.test('pacing: two commands at once run one after the other', async (t) => {
    const fresh = client(emu, {}, { pacer: new KeyedPacer(20) });
    const from = emu.state.requests.length;
    await Promise.all([fresh.powerStatus(), fresh.setBootDevice('pxe')]);
    t.same(
      emu.state.requests.slice(from).map((l) => l.replace(/ if-match=.*/, '')),
      [
        'GET /redfish/v1 basic',
        'GET /redfish/v1/Systems basic',
        'GET /redfish/v1/Systems/1 basic',
        'GET /redfish/v1/Systems/1 basic',
        'PATCH /redfish/v1/Systems/1 basic',
      ],
      'the second command started after the first had found the system',
    );
  });
});

t.test('authentication', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t);
  const bad = client(emu, { password: 'Wr0ng-pa55' }, { retries: 3 });
  const e = await failure(bad.powerStatus());
  t.equal(e.kind, 'auth');
  t.match(e.message, /authentication failed.*credentials included with this request are missing or invalid/);
  t.same(
    emu.state.requests,
    ['GET /redfish/v1 bad', 'GET /redfish/v1/Systems bad'],
    'the public service root, then one 401: a wrong password is not retried',
  );
  t.same(emu.system().resets, []);

  emu.state.knobs.echoCredentials = true;
  const echoed = await failure(bad.power('on'));
  t.equal(echoed.kind, 'auth');
  t.match(echoed.message, /got Basic \*\*\*/, 'the BMC echoed the credentials; they were scrubbed');
  t.notOk(echoed.message.includes(Buffer.from('admin:Wr0ng-pa55').toString('base64')));
  emu.state.knobs.fail500 = true;
  const e500 = await failure(client(emu).powerStatus());
  t.match(e500.message, /\(password \*\*\*\)/, 'a BMC that says the password: scrubbed');
  t.notOk(e500.message.includes(EMU_ADMIN.password));
});

t.test('TLS', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t);
  const unpinned = await failure(client(emu, { ca: undefined }).powerStatus());
  t.equal(unpinned.kind, 'tls', 'a self-signed BMC is refused by default');
  t.match(unpinned.message, /not trusted.*pin its CA.*insecureTls/);
  t.match(unpinned.message, /SELF_SIGNED|self-signed/);
  t.same(emu.state.requests, [], 'no request reached the BMC');

  const other = makeTestCert(t.testdir(), 'other');
  t.equal((await failure(client(emu, { ca: other.cert }).powerStatus())).kind, 'tls', 'another CA pinned: refused');

  t.equal(await client(emu).powerStatus(), 'off', 'its own certificate pinned: trusted');
  t.equal(await client(emu, { ca: undefined, insecureTls: true }).powerStatus(), 'off', 'insecureTls: accepted');
});

t.test('an unreachable BMC, a hanging one, a huge answer', { skip: missing }, async (t) => {
  const port = await closedPort();
  const gone = new RedfishClient(
    { address: `127.0.0.1:${port}`, ...EMU_ADMIN },
    { pacer: new KeyedPacer(0), timeoutMs: 2000 },
  );
  const e = await failure(gone.powerStatus());
  t.equal(e.kind, 'unreachable');
  t.match(e.message, /does not answer.*ECONNREFUSED/);

  const emu = await startRedfishEmulator(t);
  emu.state.knobs.hang = true;
  const slow = client(emu, {}, { timeoutMs: 300, retries: 1 });
  const hung = await failure(slow.powerStatus());
  t.equal(hung.kind, 'timeout');
  t.match(hung.message, /no answer within 300 ms/);
  t.same(emu.state.hung, ['GET /redfish/v1/', 'GET /redfish/v1/'], 'a GET that timed out is tried once more');

  emu.state.knobs.hang = 'POST';
  const reset = await failure(slow.power('on'));
  t.equal(reset.kind, 'timeout');
  t.equal(emu.state.hung.filter((l) => l.startsWith('POST')).length, 1, 'a reset that timed out is not repeated');
  emu.state.knobs.hang = false;

  emu.state.knobs.oversizeBytes = 2 * 1024 * 1024;
  const huge = await failure(client(emu).powerStatus());
  t.equal(huge.kind, 'output');
  t.match(huge.message, /over 1048576 bytes/);
  emu.state.knobs.oversizeBytes = 0;
  const small = await failure(client(emu, {}, { maxBodyBytes: 100 }).powerStatus());
  t.match(small.message, /response of \d+ bytes is over 100/, 'a declared Content-Length over the cap');
});

t.test('several systems', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t, { systems: ['A', 'B'] });
  const e = await failure(client(emu).powerStatus());
  t.equal(e.kind, 'command');
  t.match(e.message, /manages 2 systems; choose one with systemId: A, B/);
  await client(emu, { systemId: 'B' }).power('on');
  t.same(emu.system('B').resets, ['On']);
  t.same(emu.system('A').resets, [], 'the other system is untouched');
  const none = await failure(client(emu, { systemId: 'C' }).powerStatus());
  t.match(none.message, /no system with Id "C".*systems: A, B/);
});

t.test('no error carried a password', async (t) => {
  if (missing) return;
  t.ok(errors.length >= 10, `${errors.length} errors were seen`);
  for (const e of errors) {
    t.notOk(e.message.includes(EMU_ADMIN.password), e.kind);
    t.notOk(e.message.includes('Wr0ng-pa55'), e.kind);
    t.notOk(e.message.includes(Buffer.from(`admin:${EMU_ADMIN.password}`).toString('base64')), e.kind);
  }
});
