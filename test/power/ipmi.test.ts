/**
 * The IPMI driver against a real BMC simulator (OpenIPMI's ipmi_sim), checked by Debian's ipmitool
 * and by the chassis-control state file the simulator drives — never by our client agreeing with
 * itself. Without ipmi_sim/ipmitool the file skips visibly; under CI it fails.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { KeyedPacer } from '../../src/power/bmc-queue.js';
import { BmcError, IpmiClient, parseBmcAddress } from '../../src/power/ipmi.js';
import type { SpawnFn } from '../../src/power/ipmitool.js';
import { ADMIN, freeUdpPort, ipmitoolCli, missingIpmiTools, startIpmiSim, waitFor } from '../helpers/ipmi-sim.js';

const missing = missingIpmiTools();
if (missing && process.env.CI) t.fail(`${missing} — CI must provide these (.ci/run installs them), refusing to skip`);

/** A spawn that records what it started: argv, environment, and the child's /proc cmdline and environ. */
function recordingSpawn() {
  const runs: {
    args: string[];
    env: Record<string, string | undefined>;
    cmdline: string;
    environ: string;
    start: number;
    end?: number;
  }[] = [];
  const fn: SpawnFn = (command: string, args: readonly string[], options: SpawnOptions): ChildProcess => {
    const child = spawn(command, [...args], options);
    const read = (f: string) => {
      try {
        return readFileSync(`/proc/${child.pid}/${f}`, 'utf8');
      } catch {
        return '';
      }
    };
    const run = {
      args: [...args],
      env: { ...options.env },
      cmdline: read('cmdline'),
      environ: read('environ'),
      start: Date.now(),
    } as (typeof runs)[number];
    runs.push(run);
    child.once('close', () => (run.end = Date.now()));
    return child;
  };
  return { fn, runs };
}

t.test('BMC addresses', async (t) => {
  t.same(parseBmcAddress('10.0.0.21'), { host: '10.0.0.21', port: 623 });
  t.same(parseBmcAddress('bmc-r1.lan:6230'), { host: 'bmc-r1.lan', port: 6230 });
  t.same(parseBmcAddress('[fd00::21]:623'), { host: 'fd00::21', port: 623 });
  t.throws(() => parseBmcAddress('ipmi://x'), /host or host:port/);
  t.throws(() => parseBmcAddress('x:70000'), /host or host:port/);
});

t.test('against ipmi_sim', { skip: missing }, async (t) => {
  const sim = await startIpmiSim(t);
  const rec = recordingSpawn();
  const client = new IpmiClient({ address: sim.address, ...ADMIN }, { spawn: rec.fn, pacer: new KeyedPacer(50) });
  const cliStatus = () =>
    /Chassis Power is (on|off)/.exec(ipmitoolCli(sim.port, ['chassis', 'power', 'status']).stdout)?.[1];

  t.test('power on, status, off', async (t) => {
    t.equal(cliStatus(), 'off', 'ipmitool: off at the start');
    t.equal(await client.powerStatus(), 'off');
    await client.power('on');
    t.equal(cliStatus(), 'on', 'ipmitool sees it on');
    t.equal(sim.state().power, '1', 'chassis-control was told power 1');
    t.equal(await client.powerStatus(), 'on');
    await client.power('off');
    t.equal(cliStatus(), 'off', 'ipmitool sees it off');
    t.equal(sim.state().power, '0');
  });

  t.test('cycle: off, then on again; reset; soft', async (t) => {
    await client.power('on');
    const before = sim.log().length;
    await client.power('cycle');
    await waitFor(
      'power=0 then power=1 after the cycle',
      () => sim.log().slice(before).join(' ') === 'power=0 power=1',
    );
    t.equal(cliStatus(), 'on');
    await client.power('reset');
    t.equal(sim.log().at(-1), 'reset=1', 'chassis-control was told to reset');
    await client.power('soft');
    t.same(sim.log().slice(-2), ['shutdown=1', 'power=0'], 'a soft shutdown reached the chassis');
    t.equal(cliStatus(), 'off');
  });

  t.test('boot device pxe, with and without efi/persistent', async (t) => {
    for (const opts of [{}, { efi: true }, { persistent: true }, { efi: true, persistent: true }]) {
      ipmitoolCli(sim.port, ['chassis', 'bootdev', 'none']);
      await waitFor('boot reset to none', () => sim.state().boot === 'none', 5000);
      await client.setBootDevice('pxe', opts);
      t.equal(sim.state().boot, 'pxe', `chassis-control: boot pxe (${JSON.stringify(opts)})`);
      t.match(
        ipmitoolCli(sim.port, ['chassis', 'bootparam', 'get', '5']).stdout,
        /Boot Device Selector : Force PXE/,
        'ipmitool reads Force PXE',
      );
      const opt = rec.runs.at(-1)!.args.find((a) => a.startsWith('options='));
      const want = [...(opts.persistent ? ['persistent'] : []), ...(opts.efi ? ['efiboot'] : [])];
      t.equal(opt, want.length ? `options=${want.join(',')}` : undefined, 'the flags were asked for');
    }
    await client.setBootDevice('disk');
    t.equal(sim.state().boot, 'default', 'disk: the simulator boots its default device');
  });

  t.test('the password is in the environment only, never in argv', async (t) => {
    t.ok(rec.runs.length > 5, 'runs were recorded');
    for (const run of rec.runs) {
      t.notOk(
        run.args.some((a) => a.includes(ADMIN.password)),
        'not in argv',
      );
      t.notOk(run.cmdline.includes(ADMIN.password), 'not in /proc/<pid>/cmdline');
      t.ok(run.args.includes('-E'), '-E: ipmitool reads IPMI_PASSWORD');
      t.equal(run.env.IPMI_PASSWORD, ADMIN.password);
    }
    t.ok(
      rec.runs.some((r) => r.cmdline.includes('lanplus')),
      'the real child was read',
    );
  });

  t.test('a wrong password: a clear authentication error, quickly, not retried', async (t) => {
    const r = recordingSpawn();
    const bad = new IpmiClient(
      { address: sim.address, username: 'admin', password: 'not-it' },
      { spawn: r.fn, timeoutMs: 10_000 },
    );
    const err = await bad.powerStatus().catch((e: unknown) => e);
    t.type(err, BmcError);
    t.equal((err as BmcError).kind, 'auth');
    t.match((err as BmcError).message, /authentication failed.*RAKP 2 HMAC is invalid/);
    t.notOk((err as BmcError).message.includes('not-it'), 'the password is not in the error');
    t.equal(r.runs.length, 1, 'one run: a wrong password is not retried');
    const user = await new IpmiClient({ address: sim.address, username: 'nobody', password: 'x' })
      .powerStatus()
      .catch((e: unknown) => e);
    t.match((user as BmcError).message, /authentication failed.*unauthorized name/);
  });

  t.test('pacing: two concurrent commands to one BMC run one after the other', async (t) => {
    const r = recordingSpawn();
    const paced = new IpmiClient({ address: sim.address, ...ADMIN }, { spawn: r.fn, pacer: new KeyedPacer(200) });
    const [a, b] = await Promise.all([paced.powerStatus(), paced.setBootDevice('pxe')]);
    t.equal(a, 'off');
    t.equal(b, undefined);
    t.equal(r.runs.length, 2);
    t.ok(r.runs[1]!.start >= r.runs[0]!.end! + 200, 'the second started after the first ended, and the gap');
  });
});

t.test('an unreachable BMC: a timeout or "does not answer" error within the bound', { skip: missing }, async (t) => {
  const port = await freeUdpPort();
  const r = recordingSpawn();
  const client = new IpmiClient(
    { address: `127.0.0.1:${port}`, ...ADMIN },
    { spawn: r.fn, retries: 1, timeoutMs: 8000 },
  );
  const started = Date.now();
  const err = await client.power('on').catch((e: unknown) => e);
  t.type(err, BmcError);
  t.match((err as BmcError).kind, /^(unreachable|timeout)$/);
  t.match((err as BmcError).message, /does not answer|no answer/);
  t.equal(r.runs.length, 2, 'retried once, then gave up');
  t.ok(Date.now() - started < 2 * 8000 + 2000, 'within retries × timeout');
});

t.test('a hung ipmitool is killed by pid at the timeout', async (t) => {
  const r = recordingSpawn();
  // A stand-in that never answers: the runner must kill it, not wait.
  const client = new IpmiClient(
    { address: '127.0.0.1:9', ...ADMIN },
    { ipmitool: 'sleep', spawn: (c, _a, o) => r.fn(c, ['600'], o), retries: 0, timeoutMs: 300 },
  );
  const err = await client.powerStatus().catch((e: unknown) => e);
  t.equal((err as BmcError).kind, 'timeout');
  t.match((err as BmcError).message, /no answer within 300 ms/);
  await waitFor('the child to be reaped', () => r.runs[0]!.end !== undefined, 5000);
  t.ok(r.runs[0]!.end! - r.runs[0]!.start < 600_000, 'the hung child was killed, not waited for');
});

t.test('ipmitool missing: a clear error, no crash', async (t) => {
  const client = new IpmiClient({ address: '127.0.0.1', ...ADMIN }, { ipmitool: '/nonexistent/ipmitool', retries: 0 });
  const err = await client.powerStatus().catch((e: unknown) => e);
  t.equal((err as BmcError).kind, 'tool');
  t.match((err as BmcError).message, /cannot run ipmitool/);
});

t.test("ipmitool's own words on a refused command; strict parsing of its output", async (t) => {
  const fake =
    (script: string): SpawnFn =>
    (_c, _a, o) =>
      spawn('sh', ['-c', script], o);
  const creds = { address: '127.0.0.1', ...ADMIN };
  const refused = new IpmiClient(creds, {
    spawn: fake(
      'echo "Loading IANA PEN Registry..." >&2; echo "Set Chassis Power Control to Reset failed: Unspecified error" >&2; exit 1',
    ),
  });
  const err = (await refused.power('reset').catch((e: unknown) => e)) as BmcError;
  t.equal(err.kind, 'command');
  t.equal(err.detail, 'Set Chassis Power Control to Reset failed: Unspecified error', 'the chatter is dropped');
  const odd = new IpmiClient(creds, { spawn: fake('echo "Chassis Power is maybe"') });
  t.equal(((await odd.powerStatus().catch((e: unknown) => e)) as BmcError).kind, 'output');
  t.equal(((await odd.power('on').catch((e: unknown) => e)) as BmcError).kind, 'output');
  t.equal(((await odd.setBootDevice('pxe').catch((e: unknown) => e)) as BmcError).kind, 'output');
  // @ts-expect-error: a value a caller outside TypeScript could send
  t.equal(((await odd.power('explode').catch((e: unknown) => e)) as BmcError).kind, 'command');
  // @ts-expect-error: likewise
  t.equal(((await odd.setBootDevice('floppy').catch((e: unknown) => e)) as BmcError).kind, 'command');
  const throwing = new IpmiClient(creds, {
    retries: 0,
    spawn: () => {
      throw new Error('spawn EAGAIN');
    },
  });
  const thrown = (await throwing.powerStatus().catch((e: unknown) => e)) as BmcError;
  t.equal(thrown.kind, 'tool');
  t.match(thrown.message, /spawn EAGAIN/);
});
