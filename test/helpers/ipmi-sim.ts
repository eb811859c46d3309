/**
 * OpenIPMI's `ipmi_sim` on 127.0.0.1 as the BMC under test, configured from test/fixtures/ipmi/
 * (ports, state directory and the chassis-control program rewritten), and Debian's `ipmitool` as
 * the independent client that checks what our driver did. Killed by pid at teardown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';

const FIXTURES = new URL('../fixtures/ipmi/', import.meta.url).pathname;
export const ADMIN = { username: 'admin', password: 'metalboot' };
/** A second admin whose password is distinctive enough to search outputs and logs for. */
export const OPERATOR = { username: 'operator', password: 'Op3r-BMC-pw-7c1e' };

/** What is missing to run these tests, or undefined. */
export function missingIpmiTools(): string | undefined {
  const missing = ['ipmi_sim', 'ipmitool'].filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
  return missing.length ? `needs ${missing.join(' and ')} (Debian openipmi, ipmitool)` : undefined;
}

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The independent check: Debian's ipmitool, as an operator would type it. */
export function ipmitoolCli(port: number, args: string[], password = ADMIN.password) {
  const r = spawnSync(
    'ipmitool',
    ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(port), '-U', 'admin', '-E', ...args],
    {
      env: { PATH: process.env.PATH, IPMI_PASSWORD: password, LC_ALL: 'C' },
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startIpmiSim(t: Test) {
  const dir = t.testdir();
  mkdirSync(join(dir, 'state'), { recursive: true });
  const port = await freeUdpPort();
  const serialPort = await freeTcpPort();
  const stateFile = join(dir, 'chassis.state');
  const conf = readFileSync(join(FIXTURES, 'lan.conf'), 'utf8')
    .replace(/^(\s*addr) \S+ \d+$/m, `$1 127.0.0.1 ${port}`)
    .replace(/^(\s*serial 15) \S+ \d+/m, `$1 127.0.0.1 ${serialPort}`)
    .replace(/^(\s*chassis_control) .*$/m, `$1 "${join(FIXTURES, 'chassis-control')} ${stateFile}"`);
  writeFileSync(join(dir, 'lan.conf'), conf);
  const sim = spawn(
    'ipmi_sim',
    ['-n', '-c', join(dir, 'lan.conf'), '-f', join(FIXTURES, 'sim.emu'), '-s', join(dir, 'state')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  sim.stdout.on('data', (d) => (output += d));
  sim.stderr.on('data', (d) => (output += d));
  let exited = false;
  sim.once('exit', () => (exited = true));
  t.teardown(() => {
    if (!exited && sim.pid) process.kill(sim.pid, 'SIGKILL');
  });
  const readState = () => (existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '');
  const log = () => (existsSync(`${stateFile}.log`) ? readFileSync(`${stateFile}.log`, 'utf8').trim().split('\n') : []);
  await waitFor(`ipmi_sim on udp ${port} (${output})`, () => {
    if (exited) throw new Error(`ipmi_sim exited: ${output}`);
    return ipmitoolCli(port, ['-N', '1', '-R', '1', 'chassis', 'power', 'status']).status === 0;
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    pid: sim.pid!,
    /** The chassis-control state file as key → value. */
    state: () =>
      Object.fromEntries(
        readState()
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('=') as [string, string]),
      ),
    /** Every "set" the simulator passed to chassis-control, in order. */
    log,
  };
}
