import type { PowerDriver } from '../core/power/power-driver.js';
import { WakeOnLanDriver, type WakeOnLanOptions } from './wol.js';

export type { PowerAction, PowerDriver, PowerResult } from '../core/power/power-driver.js';
export { PowerError, PowerService } from '../core/power/power-service.js';
export { KeyedPacer } from './bmc-queue.js';
export { BmcPowerDriver, type BmcDriverOptions, bmcDriverFactory } from './bmc-driver.js';
export {
  type BmcClient,
  type BmcCredentials,
  BmcError,
  type BmcErrorKind,
  type BmcPowerAction,
  type BootDevice,
  type PowerState,
} from './bmc-client.js';
export {
  IpmiClient,
  type IpmiClientOptions,
  type IpmiPowerAction,
  parseBmcAddress,
} from './ipmi.js';
export { RedfishClient, type RedfishClientOptions, type RedfishCredentials } from './redfish.js';
export { interfaceBroadcast, magicPacket, parseWolBroadcast, WakeOnLanDriver, type WakeOnLanOptions } from './wol.js';

/** How `serve` configures power control: `--wol-broadcast` / `--wol-interface` give Wake-on-LAN. */
export interface PowerSettings {
  wol?: WakeOnLanOptions | null;
}

/** The driver the settings ask for, or null (power requests are then refused). */
export function powerDriverFrom(settings: PowerSettings | undefined): PowerDriver | null {
  const wol = settings?.wol;
  if (!wol || (!wol.broadcast && !wol.interface)) return null;
  return new WakeOnLanDriver(wol);
}
