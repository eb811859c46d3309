/**
 * The operator's commands in the failed-node scenario. Until metalboot drives BMCs itself, the
 * operator's own ipmitool does what `machine reimage --power-cycle` will do: the reimage through
 * metalboot's API, then PXE once and a power cycle on the BMC.
 */
import type { Test } from 'tap';
import type { BmcVm } from './bmc-vm.js';
import type { Lab, MachineEvent } from './lab.js';

export interface Operator {
  via: string;
  powerOn(): Promise<void>;
  reimagePowerCycle(): Promise<void>;
  /** What metalboot says about the power (when it can say). */
  checkPower(t: Test, expected: 'on' | 'off'): Promise<void>;
  /** The reimage's own steps on the timeline (when metalboot takes them). */
  checkTimeline(t: Test, events: MachineEvent[]): Promise<void>;
}

export function operatorFor(lab: Lab, vm: BmcVm): Operator {
  const ipmi = async (args: string[]) => {
    const r = await vm.ipmitool(args);
    if (r.code !== 0) throw new Error(`ipmitool ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  return {
    via: "the operator's ipmitool (metalboot's BMC power is not wired yet)",
    powerOn: async () => void (await ipmi(['chassis', 'power', 'on'])),
    reimagePowerCycle: async () => {
      const r = await lab.api('POST', `/machines/${vm.spec.mac}/reimage`, { wipe: 'system' });
      if (r.status !== 202) throw new Error(`POST reimage: ${r.status} ${r.text}`);
      await ipmi(['chassis', 'bootdev', 'pxe', ...(vm.spec.firmware === 'uefi' ? ['options=efiboot'] : [])]);
      await ipmi(['chassis', 'power', 'cycle']);
    },
    checkPower: async () => {},
    checkTimeline: async () => {},
  };
}
