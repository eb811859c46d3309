/**
 * The operator's commands in the failed-node scenario, all through metalboot: the BMC is set with
 * `metalboot machine bmc`, powered on with `POST /api/v1/machines/:mac/power`, and the failed node
 * is reimaged with `metalboot machine reimage <mac> --power-cycle`. What metalboot says about the
 * power (`GET /power`) and what it put on the timeline for each step are checked here too.
 */
import type { Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BMC_PASSWORD, BMC_USER, type BmcVm } from './bmc-vm.js';
import type { Lab, MachineEvent } from './lab.js';

export class Operator {
  constructor(
    readonly lab: Lab,
    readonly vm: BmcVm,
  ) {}

  private async cli(t: Test, args: string[]): Promise<string> {
    const r = await this.lab.cli(args);
    t.equal(r.code, 0, `metalboot ${args.join(' ')} (${(r.stdout + r.stderr).trim().slice(0, 300)})`);
    return r.stdout;
  }

  /** `metalboot machine bmc <mac> ipmi://admin@host:623 --password-file f`, as an operator types it. */
  async setBmc(t: Test): Promise<void> {
    const file = join(this.vm.spec.dir, 'bmc-password');
    writeFileSync(file, `${BMC_PASSWORD}\n`, { mode: 0o600 });
    const url = `ipmi://${BMC_USER}@${this.vm.address}`;
    await this.cli(t, ['machine', 'bmc', this.vm.spec.mac, url, '--password-file', file]);
  }

  /** `POST /api/v1/machines/:mac/power {"action":"on"}`. */
  async powerOn(t: Test): Promise<void> {
    const r = await this.lab.api('POST', `/machines/${this.vm.spec.mac}/power`, { action: 'on' });
    t.equal(r.status, 202, `POST /power on: 202 (${r.text.slice(0, 200)})`);
  }

  /** `metalboot machine reimage <mac> --power-cycle`. */
  async reimagePowerCycle(t: Test): Promise<void> {
    const out = await this.cli(t, ['machine', 'reimage', this.vm.spec.mac, '--power-cycle']);
    t.match(out, /PXE once and power cycle via ipmi/, 'the CLI says: PXE once, then a power cycle through IPMI');
  }

  /** `GET /power` says what the BMC says. */
  async checkPower(t: Test, expected: 'on' | 'off'): Promise<void> {
    const r = await this.lab.api('GET', `/machines/${this.vm.spec.mac}/power`);
    t.same(
      { status: r.status, state: r.json?.state, driver: r.json?.driver },
      { status: 200, state: expected, driver: 'ipmi' },
      `metalboot: GET /power says ${expected} (ipmi)`,
    );
  }

  /** The reimage's own steps, in order, before the boots they caused. */
  checkTimeline(t: Test, events: MachineEvent[]): void {
    const efi = this.vm.spec.firmware === 'uefi';
    const kinds = events.map((e) => e.kind);
    const at = (pred: (e: MachineEvent) => boolean) => events.findIndex(pred);
    const requested = at((e) => e.kind === 'reimage-requested');
    const bootDevice = at((e) => e.kind === 'boot-device-set');
    const cycle = at((e) => e.kind === 'power-cycle-requested');
    const wipe = at((e) => e.kind === 'machine-script' && e.detail.script === 'wipe');
    t.ok(
      requested >= 0 && requested < bootDevice && bootDevice < cycle && cycle < wipe,
      `timeline: reimage-requested → boot-device-set → power-cycle-requested → wipe boot (${kinds.join(', ')})`,
    );
    t.same(
      pick(events[bootDevice]?.detail, ['device', 'persistent', 'efi', 'driver']),
      { device: 'pxe', persistent: false, efi, driver: 'ipmi' },
      `the boot device set: PXE once${efi ? ', EFI (the machine booted UEFI)' : ', legacy (the machine booted BIOS)'}`,
    );
    t.equal(events[cycle]?.detail.driver, 'ipmi', 'the power cycle went through IPMI');
    const again = events.findIndex((e, i) => i > cycle && e.kind === 'boot-device-set');
    const install = at((e) => e.kind === 'machine-script' && e.detail.script === 'install');
    t.ok(
      cycle < again && again < install && wipe >= 0,
      `timeline: with the wipe boot, boot-device-set again (by metalboot), then the install (${kinds.join(', ')})`,
    );
    t.same(pick(events[again]?.detail, ['device', 'persistent', 'efi']), { device: 'pxe', persistent: false, efi });
  }
}

function pick(o: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o?.[k]]));
}
