/** What every BMC driver (IPMI, Redfish) speaks; the core's power port is built on it. */

export type BmcPowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';
export type BootDevice = 'pxe' | 'disk';
export type PowerState = 'on' | 'off';

/** Why a BMC command failed: `auth` (wrong user or password), `unreachable`, `timeout`, `tool`, `command`, `output`, `tls`. */
export type BmcErrorKind = 'auth' | 'unreachable' | 'timeout' | 'tool' | 'command' | 'output' | 'tls';

/** A BMC command that failed, with the BMC's (or the tool's) own words in `detail`. Never carries the password. */
export class BmcError extends Error {
  override readonly name = 'BmcError';
  constructor(
    readonly kind: BmcErrorKind,
    readonly address: string,
    message: string,
    readonly detail = '',
  ) {
    super(detail ? `${message}: ${detail}` : message);
  }
}

export interface BmcCredentials {
  /** `host` or `host:port` (`[v6]:port`); the default port is the driver's (623 IPMI, 443 Redfish). */
  address: string;
  username: string;
  password: string;
}

/** One BMC. Every call is paced per BMC address (one at a time, a gap between) and bounded in time. */
export interface BmcClient {
  /** `host:port` as dialled, for messages and metrics. */
  readonly address: string;
  powerStatus(): Promise<PowerState>;
  power(action: BmcPowerAction): Promise<void>;
  /** Boot from `device` next time (every time with `persistent`); `efi` asks for a UEFI boot. */
  setBootDevice(device: BootDevice, opts?: { persistent?: boolean; efi?: boolean }): Promise<void>;
}
