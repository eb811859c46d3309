import { KeyedPacer } from './bmc-queue.js';
import { type RunResult, runProcess, type SpawnFn } from './ipmitool.js';

import {
  type BmcClient,
  type BmcCredentials,
  BmcError,
  type BmcPowerAction,
  type BootDevice,
  type PowerState,
} from './bmc-client.js';

export type IpmiPowerAction = BmcPowerAction;
export { BmcError };
export type { BmcCredentials, BootDevice, PowerState };

export interface IpmiClientOptions {
  /** The ipmitool program (default `ipmitool` on PATH). */
  ipmitool?: string;
  /** Hard limit per ipmitool run; the child is killed by pid after it (default 15 s). */
  timeoutMs?: number;
  /** Runs after the first for an unreachable BMC or a timeout (default 1). Never for a wrong password. */
  retries?: number;
  /** Shared pacing: one command at a time per BMC address, this gap between them (default 500 ms). */
  pacer?: KeyedPacer;
  spawn?: SpawnFn;
}

/** `host[:port]` → host and port (623 by default, or `defaultPort`). Throws on anything else. */
export function parseBmcAddress(address: string, defaultPort = 623): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(address.trim());
  const port = m?.[3] ? Number(m[3]) : defaultPort;
  if (!m || port < 1 || port > 65535) throw new Error(`BMC address "${address}" must be host or host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

const defaultPacer = new KeyedPacer(500);

/** Lines of ipmitool's -v chatter that say nothing about the failure. */
const NOISE =
  /^(Loading IANA PEN Registry|Running Get VSO|Invalid completion code received: Invalid command|Discovered IPMB)/;

function ipmitoolWords(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^>\s*/, '').trim())
    .filter((l) => l && !NOISE.test(l))
    .join('; ');
}

/**
 * One BMC through Debian's `ipmitool -I lanplus -C 3` (cipher suite 3; without `-C` ipmitool first
 * asks for the cipher suites, which some BMCs and ipmi_sim do not answer). The password goes to the
 * child as `IPMI_PASSWORD` with `-E`: never argv, never a log line, never an error message.
 */
export class IpmiClient implements BmcClient {
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly pacer: KeyedPacer;

  constructor(
    private readonly creds: BmcCredentials,
    private readonly opts: IpmiClientOptions = {},
  ) {
    ({ host: this.host, port: this.port } = parseBmcAddress(creds.address));
    this.address = `${this.host}:${this.port}`;
    this.pacer = opts.pacer ?? defaultPacer;
  }

  async powerStatus(): Promise<PowerState> {
    const out = await this.command(['chassis', 'power', 'status']);
    const m = /^Chassis Power is (on|off)$/m.exec(out);
    if (!m) throw this.unexpected('chassis power status', out);
    return m[1] as PowerState;
  }

  async power(action: IpmiPowerAction): Promise<void> {
    const expected = { on: 'Up/On', off: 'Down/Off', cycle: 'Cycle', reset: 'Reset', soft: 'Soft' }[action];
    if (!expected) throw new BmcError('command', this.address, `"${action}" is not a power action`);
    const out = await this.command(['chassis', 'power', action]);
    if (!out.split('\n').some((l) => l.trim() === `Chassis Power Control: ${expected}`))
      throw this.unexpected(`chassis power ${action}`, out);
  }

  /** Boot from `device` next time (or every time with `persistent`); `efi` asks for an EFI boot. */
  async setBootDevice(device: BootDevice, opts: { persistent?: boolean; efi?: boolean } = {}): Promise<void> {
    if (device !== 'pxe' && device !== 'disk')
      throw new BmcError('command', this.address, `"${device}" is not a boot device`);
    const options = [...(opts.persistent ? ['persistent'] : []), ...(opts.efi ? ['efiboot'] : [])];
    const out = await this.command([
      'chassis',
      'bootdev',
      device,
      ...(options.length ? [`options=${options.join(',')}`] : []),
    ]);
    if (!out.split('\n').some((l) => l.trim() === `Set Boot Device to ${device}`))
      throw this.unexpected(`chassis bootdev ${device}`, out);
  }

  /** The argv of one run (exported for tests): no password in it, `-E` takes it from the environment. */
  argv(command: readonly string[]): string[] {
    // -v: ipmitool then says *why* a session failed (RAKP 2 HMAC invalid, unauthorized name, no answer).
    // -N 1 -R 2: its own per-packet timeout and retries, well inside our hard limit.
    const base = ['-v', '-I', 'lanplus', '-C', '3', '-H', this.host, '-p', String(this.port)];
    return [...base, '-U', this.creds.username, '-E', '-N', '1', '-R', '2', ...command];
  }

  private command(command: readonly string[]): Promise<string> {
    return this.pacer.run(this.address, async () => {
      const retries = Math.max(0, this.opts.retries ?? 1);
      for (let attempt = 0; ; attempt++) {
        const r = await runProcess(this.opts.ipmitool ?? 'ipmitool', this.argv(command), {
          env: { IPMI_PASSWORD: this.creds.password },
          timeoutMs: this.opts.timeoutMs ?? 15_000,
          spawn: this.opts.spawn,
        });
        const err = this.failure(r, command);
        if (!err) return r.stdout;
        if (attempt >= retries || (err.kind !== 'unreachable' && err.kind !== 'timeout')) throw err;
      }
    });
  }

  private failure(r: RunResult, command: readonly string[]): BmcError | undefined {
    const what = `ipmitool ${command.join(' ')} on BMC ${this.address}`;
    if (r.spawnError)
      return new BmcError(
        'tool',
        this.address,
        `${what}: cannot run ipmitool (install Debian's ipmitool)`,
        r.spawnError.message,
      );
    if (r.timedOut)
      return new BmcError('timeout', this.address, `${what}: no answer within ${this.opts.timeoutMs ?? 15_000} ms`);
    if (r.code === 0) return undefined;
    const words = ipmitoolWords(r.stderr) || `exit code ${r.code}`;
    if (/RAKP 2 HMAC is invalid|unauthorized name|invalid (user ?name|password)/i.test(r.stderr))
      return new BmcError('auth', this.address, `${what}: authentication failed (wrong username or password)`, words);
    if (/Get Auth Capabilities error|No response from remote controller|Unable to establish/i.test(r.stderr))
      return new BmcError('unreachable', this.address, `${what}: the BMC does not answer`, words);
    return new BmcError('command', this.address, `${what} failed`, words);
  }

  private unexpected(what: string, out: string): BmcError {
    return new BmcError(
      'output',
      this.address,
      `ipmitool ${what} on BMC ${this.address}: unexpected output`,
      out.trim().slice(0, 200),
    );
  }
}
