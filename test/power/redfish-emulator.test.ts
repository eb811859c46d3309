/**
 * The Redfish emulator (test/helpers/redfish-emulator) proved by clients nobody here wrote: DMTF's
 * `redfishtool` CLI and OpenStack's `sushy` library (Debian redfishtool, python3-sushy). Each effect
 * is checked on the emulator's own state, not by the client agreeing with itself. Without the tools
 * the file skips visibly; under CI it fails.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { runProcess } from '../../src/power/ipmitool.js';
import {
  EMU_ADMIN,
  missingOpenssl,
  type RedfishEmulator,
  startRedfishEmulator,
} from '../helpers/redfish-emulator/index.js';

const SUSHY_SCRIPT = new URL('../fixtures/redfish/sushy-client.py', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

function missingClients(): string | undefined {
  const missing: string[] = [];
  if (spawnSync('sh', ['-c', 'command -v redfishtool']).status !== 0) missing.push('redfishtool');
  if (spawnSync(PYTHON, ['-c', 'import sushy'], { timeout: 20_000 }).status !== 0) missing.push('python3-sushy');
  const openssl = missingOpenssl();
  if (openssl) missing.push('openssl');
  return missing.length ? `needs ${missing.join(', ')} (Debian packages)` : undefined;
}

const missing = missingClients();
if (missing && process.env.CI) t.fail(`${missing} — CI must provide these (.ci/run installs them), refusing to skip`);

/** DMTF's redfishtool over HTTPS (-S Always; it never verifies TLS), bounded in time, killed by pid. */
async function redfishtool(emu: RedfishEmulator, args: string[], password = EMU_ADMIN.password) {
  const r = await runProcess(
    'redfishtool',
    ['-r', emu.address, '-u', EMU_ADMIN.username, '-p', password, '-S', 'Always', '-T', '10', ...args],
    { env: {}, timeoutMs: 30_000 },
  );
  if (r.timedOut) throw new Error(`redfishtool ${args.join(' ')} timed out`);
  return r;
}

function json(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON: ${text.slice(0, 300)}`);
  }
}

/** sushy, through the fixture script, with only PATH and a C locale in its environment. */
async function sushy(
  emu: RedfishEmulator,
  op: string[],
  env: { password?: string; system?: string } = {},
): Promise<Record<string, unknown>> {
  const r = await runProcess(PYTHON, [SUSHY_SCRIPT, emu.url, ...op], {
    env: { SUSHY_PASSWORD: env.password ?? EMU_ADMIN.password, SUSHY_SYSTEM: env.system ?? '' },
    timeoutMs: 60_000,
  });
  if (r.timedOut) throw new Error(`sushy ${op.join(' ')} timed out`);
  if (r.code !== 0 && r.code !== 3) throw new Error(`sushy ${op.join(' ')} exited ${r.code}: ${r.stderr.slice(-800)}`);
  return json(r.stdout.trim().split('\n').pop() ?? '');
}

t.test('redfishtool', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t);
  const sys = emu.system();

  t.test('reads the service root and the system', async (t) => {
    const root = await redfishtool(emu, ['root']);
    t.equal(root.code, 0, root.stderr);
    t.equal(json(root.stdout).RedfishVersion, '1.6.0');
    const get = await redfishtool(emu, ['Systems', 'get']);
    t.equal(get.code, 0, get.stderr);
    const doc = json(get.stdout);
    t.equal(doc.PowerState, 'Off', 'it reads the power state the emulator holds');
    t.equal(doc['@odata.id'], '/redfish/v1/Systems/1');
    sys.power = 'On';
    t.equal(json((await redfishtool(emu, ['Systems', 'get'])).stdout).PowerState, 'On', 'and follows it');
    sys.power = 'Off';
  });

  t.test('reset: On, PowerCycle, GracefulShutdown, ForceOff, in order', async (t) => {
    for (const type of ['On', 'PowerCycle', 'GracefulShutdown']) {
      const r = await redfishtool(emu, ['Systems', 'reset', type]);
      t.equal(r.code, 0, `reset ${type}: ${r.stderr}`);
    }
    t.same(sys.resets, ['On', 'PowerCycle', 'GracefulShutdown'], 'the emulator logged the resets in order');
    t.equal(sys.power, 'Off');
    t.same(sys.boots, ['default', 'default'], 'two power-ups: On, then the cycle');
    const bad = await redfishtool(emu, ['Systems', 'reset', 'PushPowerButton']);
    t.not(bad.code, 0, 'a ResetType outside the allowable values is refused (redfishtool reads them)');
    t.match(bad.stderr, /not supported by the remote service/);
    t.equal(sys.resets.length, 3, 'nothing reached the emulator');
  });

  t.test('setBootOverride Once Pxe, then a power-on boots from the network once', async (t) => {
    const r = await redfishtool(emu, ['Systems', 'setBootOverride', 'Once', 'Pxe']);
    t.equal(r.code, 0, r.stderr);
    t.same(sys.boot, { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
    t.match(
      emu.state.requests.filter((l) => l.startsWith('PATCH')),
      [/^PATCH \/redfish\/v1\/Systems\/1 basic if-match=W\/"\d+"$/],
      'redfishtool sent the ETag back as If-Match',
    );
    t.equal(json(r.stdout).Boot && (json(r.stdout).Boot as Record<string, string>).BootSourceOverrideTarget, 'Pxe');
    t.equal((await redfishtool(emu, ['Systems', 'reset', 'On'])).code, 0);
    t.equal(sys.boots.at(-1), 'Pxe', 'the power-on booted from Pxe');
    t.equal(sys.boot.enabled, 'Disabled', 'a Once override is spent');
    t.equal((await redfishtool(emu, ['Systems', 'setBootOverride', 'Continuous', 'Hdd'])).code, 0);
    t.same(sys.boot, { target: 'Hdd', enabled: 'Continuous', mode: 'UEFI' });
  });

  t.test('a PATCH outside the allowable values: 400 with a Redfish error, state unchanged', async (t) => {
    const before = { ...sys.boot };
    const r = await redfishtool(emu, [
      '-ssss',
      'raw',
      'PATCH',
      '/redfish/v1/Systems/1',
      '-d',
      '{"Boot": {"BootSourceOverrideTarget": "Floppy"}}',
    ]);
    t.not(r.code, 0);
    t.match(`${r.stdout}${r.stderr}`, /400/);
    t.same(sys.boot, before);
    const stale = await redfishtool(emu, [
      'raw',
      'PATCH',
      '/redfish/v1/Systems/1',
      '-H',
      '{"If-Match": "W/\\"0\\"", "Content-Type": "application/json"}',
      '-d',
      '{"Boot": {"BootSourceOverrideTarget": "Pxe"}}',
    ]);
    t.not(stale.code, 0, 'a stale If-Match is refused');
    t.match(`${stale.stdout}${stale.stderr}`, /412/);
    t.same(sys.boot, before);
  });

  t.test('a wrong password: 401, nothing changes', async (t) => {
    const resets = sys.resets.length;
    const r = await redfishtool(emu, ['Systems', 'reset', 'ForceOff'], 'wrong-pw');
    t.not(r.code, 0);
    t.match(r.stderr, /401/);
    t.equal(sys.resets.length, resets);
  });

  t.test('-A Session: logs in with a POST to Sessions, uses the token, logs out', async (t) => {
    const r = await redfishtool(emu, ['-A', 'Session', 'Systems', 'reset', 'ForceOff']);
    t.equal(r.code, 0, r.stderr);
    t.equal(sys.resets.at(-1), 'ForceOff');
    t.equal(emu.state.sessionLog.created.length, 1, 'one session created');
    t.same(emu.state.sessionLog.deleted, emu.state.sessionLog.created, 'and deleted');
    t.ok(
      emu.state.requests.some((l) =>
        /^POST \/redfish\/v1\/Systems\/1\/Actions\/ComputerSystem\.Reset session$/.test(l),
      ),
      'the reset went with X-Auth-Token',
    );
  });
});

t.test('redfishtool with several systems: -I picks one', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t, { systems: ['A', 'B'] });
  const one = await redfishtool(emu, ['-1', 'Systems', 'get']);
  t.not(one.code, 0, '-1 refuses a collection of two');
  t.match(one.stderr, /multiple Systems IDs found: \['A', 'B'\]/);
  const r = await redfishtool(emu, ['-I', 'B', 'Systems', 'reset', 'On']);
  t.equal(r.code, 0, r.stderr);
  t.same(emu.system('B').resets, ['On']);
  t.same(emu.system('A').resets, [], 'the other system is untouched');
});

t.test('sushy', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t);
  const sys = emu.system();

  t.test('reads the power state and the allowable values', async (t) => {
    t.same(await sushy(emu, ['status']), { power_state: 'Off', session: '/redfish/v1/SessionService/Sessions/1' });
    sys.power = 'On';
    t.equal((await sushy(emu, ['status'])).power_state, 'On');
    sys.power = 'Off';
    const allowed = await sushy(emu, ['allowed']);
    t.same(allowed.reset, [...sys.resetTypes].sort());
    t.same(allowed.boot, ['BiosSetup', 'Cd', 'Hdd', 'None', 'Pxe', 'Usb']);
  });

  t.test('sessions: each run logs in with a POST and deletes its session', async (t) => {
    t.equal(emu.state.sessionLog.created.length, 3, 'three runs, three sessions');
    t.ok(emu.state.requests.includes('POST /redfish/v1/SessionService/Sessions none'), 'the login');
    t.same(emu.state.sessionLog.deleted, emu.state.sessionLog.created, 'every session was deleted');
    t.equal(emu.state.sessions.size, 0);
    t.notOk(
      emu.state.requests.some(
        (l) =>
          / (basic|bad|none)$/.test(l) &&
          !/^(GET \/redfish\/v1|POST \/redfish\/v1\/SessionService\/Sessions) none$/.test(l),
      ),
      'after the login, sushy spoke with X-Auth-Token only',
    );
  });

  t.test('reset_system On, then ForceRestart, GracefulShutdown', async (t) => {
    t.equal((await sushy(emu, ['reset', 'On'])).power_state, 'On');
    t.equal(sys.power, 'On');
    await sushy(emu, ['reset', 'ForceRestart']);
    await sushy(emu, ['reset', 'GracefulShutdown']);
    t.same(sys.resets, ['On', 'ForceRestart', 'GracefulShutdown']);
    t.equal(sys.power, 'Off');
    t.same(sys.boots, ['default', 'default']);
  });

  t.test('set_system_boot_options: Pxe Once UEFI, Hdd Continuous Legacy', async (t) => {
    t.same((await sushy(emu, ['boot', 'Pxe', 'Once', 'UEFI'])).boot, ['Pxe', 'Once', 'UEFI']);
    t.same(sys.boot, { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
    t.match(
      emu.state.requests.filter((l) => l.startsWith('PATCH')).at(-1),
      /^PATCH \/redfish\/v1\/Systems\/1 session if-match=W\/"\d+"$/,
      'sushy sent the ETag as If-Match',
    );
    await sushy(emu, ['boot', 'Hdd', 'Continuous', 'Legacy']);
    t.same(sys.boot, { target: 'Hdd', enabled: 'Continuous', mode: 'Legacy' });
  });

  t.test('a wrong password: sushy reports the emulator’s own words', async (t) => {
    const r = await sushy(emu, ['status'], { password: 'wrong-pw' });
    t.equal(r.error, 'AccessError');
    t.match(r.message, /401/);
    t.match(r.message, /authentication credentials included with this request are missing or invalid/);
  });

  t.test('sushy refuses a reset the system does not advertise', async (t) => {
    sys.resetTypes = sys.resetTypes.filter((x) => x !== 'PowerCycle');
    const r = await sushy(emu, ['reset', 'PowerCycle']);
    t.equal(r.error, 'InvalidParameterValueError');
    t.notOk(sys.resets.includes('PowerCycle'));
  });
});

t.test('sushy with several systems picks one by path', { skip: missing }, async (t) => {
  const emu = await startRedfishEmulator(t, { systems: ['A', 'B'] });
  const none = await sushy(emu, ['status']);
  t.equal(none.error, 'UnknownDefaultError', 'no default among two');
  await sushy(emu, ['reset', 'On'], { system: 'A' });
  t.same(emu.system('A').resets, ['On']);
  t.same(emu.system('B').resets, []);
});
