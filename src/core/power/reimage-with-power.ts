import type { Actor } from '../registry/clusters.js';
import { ConflictError, MetalbootError } from '../errors.js';
import type { MachineService } from '../registry/machines.js';
import type { Machine } from '../types.js';
import { PowerError, type PowerService } from './power-service.js';
import { WIPE_SERVED } from '../registry/machines.js';
import type { Timeline } from '../timeline/timeline.js';

export interface PoweredReimage {
  machine: Machine;
  /** What was done to the power, in order (`boot-device pxe`, then `cycle` or `on`). */
  power: { bootDevice: 'pxe'; action: 'cycle' | 'on'; driver: string };
}

/**
 * Reimage a machine with no hand on it: mark the reimage, tell its BMC to boot from the network
 * once, then power-cycle it (or switch it on when it is off). Every step lands on the timeline
 * (reimage-requested, boot-device-set, power-…-requested). A machine whose driver cannot do all of
 * that is refused before anything changes; a BMC that fails half-way leaves the reimage requested
 * (the next network boot still reinstalls) and says which step failed.
 */
export async function reimageWithPower(
  machines: MachineService,
  power: PowerService,
  macInput: string,
  wipe: 'system' | 'disk',
  actor: Actor,
): Promise<PoweredReimage> {
  const before = await machines.get(macInput);
  const can = await power.capabilities(before.mac);
  if (!can.driver || !can.bootDevice || !can.status || !can.actions.includes('cycle') || !can.actions.includes('on'))
    throw new ConflictError(
      `reimage with power needs a BMC that can set the boot device and cycle power; ${before.mac} has ` +
        (can.driver ? `only ${can.driver}` : 'no power control') +
        ` (metalboot machine bmc ${before.mac} ipmi://user@host, or reimage without power and reboot it by hand)`,
    );
  const machine = await machines.requestReimage(before.mac, wipe, actor, { power: true });
  const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof PowerError)) throw err;
      throw new PowerError(
        `reimage of ${machine.mac} is requested (its next network boot reinstalls), but ${what} failed: ${err.message}`,
        err.kind,
      );
    }
  };
  await step('setting the boot device to PXE', () =>
    power.setBootDevice(machine.mac, { device: 'pxe', persistent: false }, actor),
  );
  const { state } = await step('reading the power state', () => power.status(machine.mac, actor));
  const action = state === 'off' ? 'on' : 'cycle';
  const done = await step(`power ${action}`, () => power.act(machine.mac, action, actor));
  return { machine: await machines.get(machine.mac), power: { bootDevice: 'pxe', action, driver: done.driver } };
}

/**
 * Once the wipe boot of a powered reimage is served, the BMC boots the network once more: Talos's
 * `wipe=system` leaves the disk's boot loader, so a machine that boots its disk first would come
 * back up from its disk (Talos without a config) instead of installing. A BMC that fails here is on
 * the timeline (`boot-device-failed`); the operator can still `machine boot-device <mac> pxe`.
 */
export function followWipeWithPxe(timeline: Timeline, power: PowerService, onError: (err: unknown) => void): void {
  // The wipe script goes to whoever asks for the MAC: a host flooding /ipxe with it must not flood
  // the BMC. One call in flight per machine, and none within FOLLOW_UP_GAP_MS of the last one.
  const last = new Map<string, number>();
  timeline.bus.on(WIPE_SERVED, (mac: string) => {
    const now = timeline.clockMs();
    const previous = last.get(mac);
    if (previous !== undefined && (previous < 0 || now - previous < FOLLOW_UP_GAP_MS)) return;
    last.set(mac, -1); // in flight
    power
      .setBootDevice(mac, { device: 'pxe', persistent: false }, { actor: 'metalboot', sourceIp: null })
      .catch((err: unknown) => {
        // A BMC's failure is on the timeline already; a machine or BMC removed meanwhile is no error.
        if (!(err instanceof MetalbootError)) onError(err);
      })
      .finally(() => {
        last.set(mac, timeline.clockMs());
        // Bounded: only machines heard from within the gap are kept.
        for (const [m, at] of last) if (at >= 0 && timeline.clockMs() - at >= FOLLOW_UP_GAP_MS) last.delete(m);
      });
  });
}

/** The least time between two follow-up BMC calls for one machine. */
export const FOLLOW_UP_GAP_MS = 5_000;
