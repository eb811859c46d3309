import type { Actor } from '../registry/clusters.js';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from '../errors.js';
import { parseMac } from '../registry/mac.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Store } from '../ports/types.js';
import type { Machine } from '../types.js';
import type { BmcService } from './bmc.js';
import {
  type BmcDriverFactory,
  type BootDevice,
  POWER_ACTIONS,
  type PowerAction,
  type PowerDriver,
  type PowerResult,
  type PowerState,
} from './power-driver.js';

/** The driver failed (BMC refused, unreachable, wrong password): HTTP 502 with its words. */
export class PowerError extends UpstreamError {
  constructor(
    message: string,
    readonly kind?: string,
  ) {
    super('power_failed', message);
  }
}

/** What an operator (and the dashboard) may ask of one machine's power. */
export interface PowerCapabilities {
  /** `ipmi`, `redfish`, `wol`, or null when nothing can switch this machine. */
  driver: string | null;
  actions: PowerAction[];
  status: boolean;
  bootDevice: boolean;
}

/** The last time a machine's BMC was asked something: for the reachability gauge. */
interface Contact {
  ok: boolean;
  kind?: string;
}

const MAX_CONTACTS = 20_000;
const driverKind = (err: unknown) => (err as { kind?: unknown }).kind;

/**
 * Power requests from the API. A machine with a BMC is driven through it (a driver built per call
 * from its opened credentials); one without uses the server's Wake-on-LAN, which can only switch on.
 * Without either, requests are refused: metalboot never broadcasts on a network nobody told it about.
 * Every request and failure goes on the machine's timeline; actions also on the audit log.
 */
export class PowerService {
  private readonly contacts = new Map<string, Contact>();

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly bmc: BmcService,
    private wol: PowerDriver | null = null,
    private bmcDrivers: BmcDriverFactory | null = null,
  ) {}

  /** The server-wide driver (Wake-on-LAN), or null. */
  get driverName(): string | null {
    return this.wol?.name ?? null;
  }

  setDriver(driver: PowerDriver | null): void {
    this.wol = driver;
  }

  setBmcDrivers(factory: BmcDriverFactory | null): void {
    this.bmcDrivers = factory;
  }

  /** BMCs last seen answering vs failing to (auth, unreachable, …), for the metrics gauge. */
  bmcReachability(): { reachable: number; failing: number } {
    let reachable = 0;
    for (const c of this.contacts.values()) if (c.ok) reachable++;
    return { reachable, failing: this.contacts.size - reachable };
  }

  async capabilities(macInput: string): Promise<PowerCapabilities> {
    const driver = await this.driverFor(await this.machine(macInput));
    if (!driver) return { driver: null, actions: [], status: false, bootDevice: false };
    return {
      driver: driver.name,
      actions: POWER_ACTIONS.filter((a) => driver.supports(a)),
      status: driver.supports('status') && !!driver.status,
      bootDevice: driver.supports('boot-device') && !!driver.setBootDevice,
    };
  }

  async act(
    macInput: string,
    action: PowerAction,
    actor: Actor,
  ): Promise<{ mac: string; action: PowerAction } & PowerResult> {
    if (!POWER_ACTIONS.includes(action)) throw new ValidationError(`"${action}" is not a power action`, 'action');
    const m = await this.machine(macInput);
    const driver = await this.required(m);
    if (!driver.supports(action))
      throw new ConflictError(
        `the ${driver.name} power driver cannot "${action}"` +
          (driver.name === 'wol' ? ` (Wake-on-LAN only switches on; give ${m.mac} a BMC for more)` : ''),
      );
    const result = await this.call(m, driver, `power-${action}`, actor, () => driver.perform(action, m));
    await this.timeline.audit({
      ...actor,
      action: `machine.power-${action}`,
      target: m.mac,
      detail: { driver: result.driver, ...result.detail },
    });
    return { mac: m.mac, action, ...result };
  }

  /** The machine's power state from its BMC; `unknown` when its driver cannot tell (Wake-on-LAN). */
  async status(macInput: string, actor: Actor): Promise<{ mac: string; state: PowerState; driver: string | null }> {
    const m = await this.machine(macInput);
    const driver = await this.driverFor(m);
    if (!driver?.status || !driver.supports('status'))
      return { mac: m.mac, state: 'unknown', driver: driver?.name ?? null };
    const status = driver.status.bind(driver);
    const state = await this.call(m, driver, 'power-status', actor, () => status(m), { quiet: true });
    return { mac: m.mac, state, driver: driver.name };
  }

  /** Boot from `device` next time (or every time): the BMC's boot override, EFI when the machine boots UEFI. */
  async setBootDevice(
    macInput: string,
    request: { device: BootDevice; persistent?: boolean },
    actor: Actor,
  ): Promise<{ mac: string; device: BootDevice; persistent: boolean; efi: boolean } & PowerResult> {
    if (request.device !== 'pxe' && request.device !== 'disk')
      throw new ValidationError(`"${request.device}" is not a boot device (pxe or disk)`, 'device');
    const m = await this.machine(macInput);
    const driver = await this.required(m);
    if (!driver.setBootDevice || !driver.supports('boot-device'))
      throw new ConflictError(
        `the ${driver.name} power driver cannot set a boot device` +
          (driver.name === 'wol' ? ` (give ${m.mac} a BMC: metalboot machine bmc ${m.mac} ipmi://user@host)` : ''),
      );
    const wanted = { device: request.device, persistent: request.persistent ?? false, efi: bootsUefi(m) };
    const set = driver.setBootDevice.bind(driver);
    const result = await this.call(m, driver, 'boot-device', actor, () => set(wanted, m), {
      detail: wanted,
      okKind: 'boot-device-set',
    });
    await this.timeline.audit({
      ...actor,
      action: 'machine.boot-device',
      target: m.mac,
      detail: { driver: result.driver, ...wanted },
    });
    return { mac: m.mac, ...wanted, ...result };
  }

  private async machine(macInput: string): Promise<Machine> {
    const mac = parseMac(macInput);
    const m = await this.store.machines.get(mac);
    if (!m) throw new NotFoundError(`machine ${mac} is not registered`);
    return m;
  }

  private async driverFor(m: Machine): Promise<PowerDriver | null> {
    if (this.bmcDrivers) {
      const bmc = await this.bmc.credentials(m.mac);
      if (bmc) return this.bmcDrivers(bmc);
    }
    return this.wol;
  }

  private async required(m: Machine): Promise<PowerDriver> {
    const driver = await this.driverFor(m);
    if (driver) return driver;
    throw new ConflictError(
      `power control is not configured for ${m.mac}: give it a BMC (metalboot machine bmc ${m.mac} ipmi://user@host), ` +
        'or start metalboot with --wol-broadcast or --wol-interface for Wake-on-LAN',
    );
  }

  /**
   * One driver call: its success on the timeline (`<what>-requested`, or `okKind`; nothing when
   * `quiet`), its failure always (`<what>-failed`, with the driver's words), then a 502.
   */
  private async call<T>(
    m: Machine,
    driver: PowerDriver,
    what: string,
    actor: Actor,
    run: () => Promise<T>,
    opts: { quiet?: boolean; detail?: Record<string, unknown>; okKind?: string } = {},
  ): Promise<T> {
    const isBmc = driver !== this.wol;
    let out: T;
    try {
      out = await run();
    } catch (err) {
      const message = (err as Error).message;
      const kind = typeof driverKind(err) === 'string' ? (driverKind(err) as string) : undefined;
      if (isBmc) this.noteContact(m.mac, { ok: false, kind });
      await this.timeline.record(
        m,
        `${what}-failed`,
        { driver: driver.name, ...opts.detail, ...(kind ? { reason: kind } : {}), error: message },
        { sourceIp: actor.sourceIp },
      );
      throw new PowerError(`${what.replace('-', ' ')} via ${driver.name} failed: ${message}`, kind);
    }
    if (isBmc) this.noteContact(m.mac, { ok: true });
    if (!opts.quiet) {
      const result = out as unknown as PowerResult;
      await this.timeline.record(
        m,
        opts.okKind ?? `${what}-requested`,
        { driver: result.driver ?? driver.name, ...opts.detail, ...result.detail },
        { sourceIp: actor.sourceIp },
      );
    }
    return out;
  }

  /** A machine whose BMC was removed or replaced starts with no reachability record. */
  forget(macInput: string): void {
    this.contacts.delete(parseMac(macInput));
  }

  private noteContact(mac: string, contact: Contact): void {
    this.contacts.delete(mac); // re-inserted last: the map's order is least recently heard first
    this.contacts.set(mac, contact);
    // Machines deleted with their BMC leave entries behind; keep the map bounded all the same.
    if (this.contacts.size > MAX_CONTACTS) this.contacts.delete(this.contacts.keys().next().value as string);
  }
}

/** The machine boots UEFI, as far as DHCP told us (client architecture): the boot override must say so. */
export function bootsUefi(m: Machine): boolean {
  return m.lastSeen.firmware === 'efi';
}
