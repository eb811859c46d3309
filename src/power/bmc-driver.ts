import type {
  BmcDriverFactory,
  BmcTarget,
  BootDeviceRequest,
  PowerAction,
  PowerDriver,
  PowerResult,
} from '../core/power/power-driver.js';
import type { BmcClient } from './bmc-client.js';
import { IpmiClient, type IpmiClientOptions } from './ipmi.js';

/** A machine's BMC as the core's power port: every action, the state, the boot device. */
export class BmcPowerDriver implements PowerDriver {
  constructor(
    readonly name: 'ipmi' | 'redfish',
    private readonly client: BmcClient,
  ) {}

  supports(): boolean {
    return true;
  }

  async perform(action: PowerAction): Promise<PowerResult> {
    await this.client.power(action);
    return { driver: this.name, detail: { bmc: this.client.address } };
  }

  status(): Promise<'on' | 'off'> {
    return this.client.powerStatus();
  }

  async setBootDevice(request: BootDeviceRequest): Promise<PowerResult> {
    await this.client.setBootDevice(request.device, { persistent: request.persistent, efi: request.efi });
    return { driver: this.name, detail: { bmc: this.client.address } };
  }
}

export interface BmcDriverOptions {
  ipmi?: IpmiClientOptions;
  /** Builds a Redfish client for a BMC; without it, a Redfish BMC's every call fails with a clear error. */
  redfish?: (bmc: BmcTarget) => BmcClient;
}

/** The composition root's factory: a machine's BMC (opened for one call) → the driver for it. */
export function bmcDriverFactory(opts: BmcDriverOptions = {}): BmcDriverFactory {
  return (bmc) => {
    if (bmc.driver === 'ipmi') return new BmcPowerDriver('ipmi', new IpmiClient(bmc, opts.ipmi));
    if (opts.redfish) return new BmcPowerDriver('redfish', opts.redfish(bmc));
    return new BmcPowerDriver('redfish', unavailable(bmc.address, 'this metalboot has no Redfish driver'));
  };
}

function unavailable(address: string, why: string): BmcClient {
  const fail = () => Promise.reject(new Error(why));
  return { address, powerStatus: fail, power: fail, setBootDevice: fail };
}
