/**
 * `metalboot machine power|boot-device|reimage --power-cycle` against a real server and OpenIPMI's
 * `ipmi_sim` as the machines' BMC; Debian's `ipmitool` reads back what happened.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStagger } from '../../src/cli/commands/machine-power.js';
import { VERSION } from '../helpers/asset-mirror.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';
import { ipmitoolCli, missingIpmiTools, OPERATOR, startIpmiSim } from '../helpers/ipmi-sim.js';

const A = '52:54:00:12:35:01';
const B = '52:54:00:12:35:02';

const missing = missingIpmiTools();
if (missing && process.env.CI) t.fail(`${missing} — CI must provide these (.ci/run installs them), refusing to skip`);

t.test('--stagger durations', async (t) => {
  t.equal(parseStagger('5s'), 5000);
  t.equal(parseStagger('500ms'), 500);
  t.equal(parseStagger('1m'), 60_000);
  t.equal(parseStagger('2'), 2000);
  t.throws(() => parseStagger('soon'), /a duration like 5s/);
  t.throws(() => parseStagger('11m'), /at most 10m/);
});

t.test('power, status, boot device, reimage --power-cycle, a staggered label', { skip: missing }, async (t) => {
  const sim = await startIpmiSim(t);
  const s = await serve(t);
  const cli = (...args: string[]) => runCli(args, s.env);
  const ipmitool = (...args: string[]) => ipmitoolCli(sim.port, args).stdout;
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal((await cli('cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION)).code, 0);
  const file = join(s.dir, 'bmc-password');
  writeFileSync(file, `${OPERATOR.password}\n`, { mode: 0o600 });
  for (const mac of [A, B]) {
    const add = await cli(
      'machine',
      'add',
      mac,
      '--hostname',
      `w-${mac.slice(-2)}`,
      '--role',
      'worker',
      '--cluster',
      'prod',
      '--label',
      'rack=r1',
    );
    t.equal(add.code, 0, add.stderr);
    const bmc = await cli('machine', 'bmc', mac, `ipmi://operator@${sim.address}`, '--password-file', file);
    t.equal(bmc.code, 0, bmc.stderr);
  }

  const on = await cli('machine', 'power', A, 'on');
  t.equal(on.code, 0, on.stderr);
  t.match(on.stdout, `power on sent to ${A} via ipmi ${sim.address}`);
  t.match(ipmitool('chassis', 'power', 'status'), /Chassis Power is on/, 'ipmitool: on');
  const status = await cli('machine', 'power', A, 'status');
  t.equal(status.stdout, `${A}: on (ipmi)\n`);
  t.equal((await cli('machine', 'power', A, 'off')).code, 0);
  t.match(ipmitool('chassis', 'power', 'status'), /Chassis Power is off/, 'ipmitool: off');
  t.match(JSON.parse((await cli('machine', 'power', A, 'status', '-o', 'json')).stdout), {
    state: 'off',
    driver: 'ipmi',
  });

  const boot = await cli('machine', 'boot-device', A, 'pxe');
  t.equal(boot.code, 0, boot.stderr);
  t.match(boot.stdout, `${A} boots from pxe next time via ipmi`);
  t.match(ipmitool('chassis', 'bootparam', 'get', '5'), /Force PXE/, 'ipmitool: PXE');
  t.equal((await cli('machine', 'boot-device', A, 'floppy')).code, 1, 'a device that is not one');
  t.equal((await cli('machine', 'power', A, 'dance')).code, 1, 'an action that is not one');

  const re = await cli('machine', 'reimage', A, '--power-cycle');
  t.equal(re.code, 0, re.stderr);
  t.match(re.stdout, /PXE once and power on via ipmi/, 'it was off: switched on');
  t.match(ipmitool('chassis', 'power', 'status'), /Chassis Power is on/);
  t.match(JSON.parse((await cli('machine', 'show', A, '-o', 'json')).stdout), { state: 'reimage-requested' });

  const batch = await cli('machine', 'power', 'off', '--label', 'rack=r1', '--stagger', '100ms');
  t.equal(batch.code, 0, batch.stderr);
  t.match(batch.stdout, /power off: 2 machine\(s\), one every 0\.1s/);
  t.match(batch.stdout, `${A}  off via ipmi`);
  t.match(batch.stdout, `${B}  off via ipmi`);
  t.match(ipmitool('chassis', 'power', 'status'), /Chassis Power is off/);
  t.equal((await cli('machine', 'power', 'on', '--label', 'rack=none')).code, 2, 'nothing matches');

  const all = [on, status, boot, re, batch].map((r) => r.stdout + r.stderr).join('') + s.srv.stdout() + s.srv.stderr();
  t.notOk(all.includes(OPERATOR.password), 'the password is in no output and no server log');
});
