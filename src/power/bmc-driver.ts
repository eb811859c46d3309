import type {
  BmcDriverFactory,
  BootDeviceRequest,
  PowerAction,
  PowerDriver,
  PowerResult,
} from '../core/power/power-driver.js';
import type { BmcClient } from './bmc-client.js';
import { IpmiClient, type IpmiClientOptions } from './ipmi.js';
import { RedfishClient, type RedfishClientOptions } from './redfish.js';

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
  redfish?: RedfishClientOptions;
}

/** The composition root's factory: a machine's BMC (opened for one call) → the driver for it. */
export function bmcDriverFactory(opts: BmcDriverOptions = {}): BmcDriverFactory {
  return (bmc) => {
    if (bmc.driver === 'ipmi') return new BmcPowerDriver('ipmi', new IpmiClient(bmc, opts.ipmi));
    return new BmcPowerDriver('redfish', new RedfishClient({ ...bmc, ca: bmc.caCert ?? undefined }, opts.redfish));
  };
}
