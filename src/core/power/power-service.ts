import type { Actor } from '../registry/clusters.js';
import { ConflictError, MetalbootError, NotFoundError } from '../errors.js';
import { parseMac } from '../registry/mac.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Store } from '../ports/types.js';
import type { PowerAction, PowerDriver, PowerResult } from './power-driver.js';

/** The driver failed (network error, BMC refused): HTTP 500 with this message, not "internal". */
export class PowerError extends MetalbootError {
  constructor(message: string) {
    super('power_failed', message);
  }
}

/**
 * Power requests from the API: one driver for now (Wake-on-LAN to the configured broadcast
 * address). Without one, requests are refused: metalboot never broadcasts on a network nobody
 * told it about.
 */
export class PowerService {
  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private driver: PowerDriver | null = null,
  ) {}

  get driverName(): string | null {
    return this.driver?.name ?? null;
  }

  setDriver(driver: PowerDriver | null): void {
    this.driver = driver;
  }

  async act(
    macInput: string,
    action: PowerAction,
    actor: Actor,
  ): Promise<{ mac: string; action: PowerAction } & PowerResult> {
    const mac = parseMac(macInput);
    const m = await this.store.machines.get(mac);
    if (!m) throw new NotFoundError(`machine ${mac} is not registered`);
    const driver = this.driver;
    if (!driver)
      throw new ConflictError(
        'power control is not configured (start metalboot with --wol-broadcast or --wol-interface)',
      );
    if (!driver.supports(action)) throw new ConflictError(`the ${driver.name} power driver cannot "${action}"`);
    let result: PowerResult;
    try {
      result = await driver.perform(action, m);
    } catch (err) {
      const message = (err as Error).message;
      await this.timeline.record(
        m,
        `power-${action}-failed`,
        { driver: driver.name, error: message },
        { sourceIp: actor.sourceIp },
      );
      throw new PowerError(`power ${action} via ${driver.name} failed: ${message}`);
    }
    await this.timeline.record(
      m,
      `power-${action}-requested`,
      { driver: result.driver, ...result.detail },
      { sourceIp: actor.sourceIp },
    );
    await this.timeline.audit({
      ...actor,
      action: `machine.power-${action}`,
      target: mac,
      detail: { driver: result.driver, ...result.detail },
    });
    return { mac, action, ...result };
  }
}
