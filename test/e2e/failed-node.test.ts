/**
 * Issue 14's "failed node", with a real VM behind a real BMC simulator (BIOS and UEFI): the
 * machine and its BMC are registered, powered on through the BMC, network-boot and install (the
 * disk is empty, so the firmware falls through to the NIC), then hang when booted from their disk;
 * the operator's reimage with a power cycle sets PXE once on the BMC and cycles it, and the VM
 * network-boots once, wipes, reinstalls and ends installed — nothing in the test touches the VM or
 * the simulator between the operator's commands. See test/e2e/README.md ("failed node").
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureStandin, requirePrerequisites, TALOS_VERSION } from './helpers/env.js';
import { BMC_PASSWORD, BMC_USER, BmcVm, type BmcVmSpec } from './helpers/bmc-vm.js';
import { Lab, type MachineEvent, sleep } from './helpers/lab.js';
import { formatTimeline } from './helpers/report.js';
import { hostnameFor, talosExample } from './helpers/scenarios.js';
import { cleanSerial, type Firmware, serialTail } from './helpers/vm.js';
import { Operator } from './helpers/operator.js';

const SUBNET = '10.251.3';
const BOOT_MS = 180_000; // one TCG install boot takes 15–35 s here

/** The firmware tried the disk, found it unbootable and went on to the NIC's iPXE. */
const DISK_THEN_NIC: Record<Firmware, RegExp> = {
  bios: /Booting from Hard Disk\.\.\.\s*Boot failed: not a bootable disk\s*Booting from ROM\.\.\.\s*iPXE \(PCI/,
  uefi: /BdsDxe: failed to load Boot\d+ "UEFI Misc Device"[^\n]*\n(?:[^\n]*\n)*?iPXE \d/,
};
/** Any sign of a network boot on the console. */
const NETWORK_BOOT = /iPXE \d|iPXE \(PCI [0-9a-f:.]+\) starting|Configuring \(net0|stand-in init started/;

const CASES: Array<Omit<BmcVmSpec, 'dir'>> = [
  { name: 'bios', firmware: 'bios', mac: '52:54:00:e2:03:01', bmcIp: `${SUBNET}.201` },
  { name: 'uefi', firmware: 'uefi', mac: '52:54:00:e2:03:02', bmcIp: `${SUBNET}.202` },
];

t.setTimeout(20 * 60_000);
const ipmiMissing = ['ipmi_sim', 'ipmitool'].filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
if (ipmiMissing.length && process.env.CI) t.fail(`needs ${ipmiMissing.join(', ')} (Debian openipmi, ipmitool)`);
else if (ipmiMissing.length) t.pass('failed node', { skip: `needs ${ipmiMissing.join(', ')}` });
else if (requirePrerequisites(t)) {
  const artifacts = join(process.env.METALBOOT_E2E_ARTIFACTS ?? join(tmpdir(), 'metalboot-e2e'), 'failed-node');
  mkdirSync(artifacts, { recursive: true });
  const standin = await ensureStandin();
  const lab = await Lab.create(t, { name: 'failed-node', mode: 'authoritative', subnet: SUBNET, artifacts, standin });
  await lab.createCluster({
    name: 'e2e',
    talosVersion: TALOS_VERSION,
    controlplane: talosExample('v1.13', 'controlplane.yaml'),
    worker: talosExample('v1.13', 'worker.yaml'),
  });
  t.comment(`artifacts in ${artifacts}`);
  // Both machines at once (each its own VM, BMC, tap and MAC; one metalboot): the two TCG VMs
  // share the 2 cores, which halves the wall time; every wait is bounded generously for that.
  t.jobs = 2;
  const runs = CASES.map((c) => {
    const vm = new BmcVm(lab, { ...c, dir: join(artifacts, c.name) });
    t.teardown(() => vm.stop());
    return t.test(`${c.name}: failed node reimaged through its BMC`, { buffered: true }, async (st) => {
      try {
        await failedNode(st, lab, vm);
      } catch (err) {
        st.fail(`scenario threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      if (!st.passing()) st.comment(await report(lab, vm));
    });
  });
  await Promise.all(runs);
  t.ok(lab.metalbootAlive(), 'metalboot still running after both');
}

async function failedNode(t: Test, lab: Lab, vm: BmcVm): Promise<void> {
  const { mac } = vm.spec;
  const op = new Operator(lab, vm);
  await vm.start();
  const reg = await lab.api('POST', '/machines', {
    mac,
    hostname: hostnameFor(mac),
    role: 'worker',
    cluster: 'e2e',
    installDisk: '/dev/vda',
  });
  t.equal(reg.status, 201, `registered ${mac}`);
  await op.setBmc(t);
  const shown = (await lab.api('GET', `/machines/${mac}`)).json?.bmc;
  t.same(
    { driver: shown?.driver, address: shown?.address, username: shown?.username },
    { driver: 'ipmi', address: vm.address, username: BMC_USER },
    'metalboot has the BMC',
  );
  t.notMatch(JSON.stringify(shown ?? {}), BMC_PASSWORD, 'and does not show its password');
  await op.checkPower(t, 'off');
  t.equal(await vm.powerStatus(), 'off', 'ipmitool: the chassis is off before anything');

  // 1. Power on through the BMC: the empty disk comes first, so the firmware falls through to the NIC.
  await op.powerOn(t);
  t.match(
    vm.chassisLog().join('\n'),
    /set power=1\nstart qemu pid=\d+ boot=default order=disk,nic/,
    'the BMC started the VM, disk first',
  );
  t.ok(await vm.waitPoweredOff(BOOT_MS), 'the VM installed and powered itself off');
  let serial = cleanSerial(vm.serial());
  t.ok(
    /MBE2E: RESULT PASS/.test(serial) && /reboot: Power down/.test(serial),
    'the stand-in installed (RESULT PASS) and powered off',
  );
  t.ok(/MBE2E: installed boot sector/.test(serial), 'it wrote its boot code to the disk');
  t.match(serial, DISK_THEN_NIC[vm.spec.firmware], 'console: the empty disk first, then the network');
  t.ok(await installedWithin(lab, mac, 10_000), 'metalboot: installed (the kernel log said install successful)');
  const kinds = (await lab.events(mac)).map((e) => e.kind);
  const powerOn = kinds.indexOf('power-on-requested');
  t.ok(
    powerOn >= 0 && powerOn < kinds.indexOf('dhcp-discover'),
    `timeline: power-on-requested, then the machine's DHCP (${kinds.slice(0, 6).join(', ')}, …)`,
  );
  t.equal(await vm.powerStatus(), 'off', 'ipmitool: the BMC reports the chassis off');
  await op.checkPower(t, 'off');

  // 2. The failure: the installed system hangs after its loader (the test patches the disk while the VM is off).
  t.equal(vm.breakInstalledSystem(), 1, 'the installed loader now halts instead of powering off');
  let lastId = await lastEventId(lab, mac);
  let from = vm.serialLength();
  await op.powerOn(t);
  t.ok(await vm.waitSerial(/MBE2E: booted from local disk/, from, BOOT_MS), 'powered on again, the VM booted its disk');
  await sleep(3_000); // the hang: it must still be on a while after its loader ran
  t.ok(vm.qemuPid(), 'and hangs there: the VM is still running');
  t.equal(await vm.powerStatus(), 'on', 'ipmitool: the chassis is on');
  const link = await vm.externConnected();
  t.match(link, /\S/, `the VM's ipmi-bmc-extern is connected to the simulator (${link || 'no connection'})`);
  await op.checkPower(t, 'on');
  serial = cleanSerial(vm.serial(from));
  t.notMatch(serial, NETWORK_BOOT, 'no network boot: the disk came first');
  const quiet = (await lab.events(mac)).filter((e) => e.id > lastId);
  t.same(
    quiet.map((e) => e.kind),
    ['power-on-requested'],
    'timeline: the power-on, then nothing from the machine (it never left its disk)',
  );
  t.equal((await lab.api('GET', `/machines/${mac}`)).json?.state, 'installed', 'so metalboot still has it installed');

  // 3. The operator: reimage with a power cycle. From here on the test only watches.
  lastId = await lastEventId(lab, mac);
  from = vm.serialLength();
  const chassisFrom = vm.chassisLog().length;
  await op.reimagePowerCycle(t);
  t.ok(
    await vm.waitSerial(/MBE2E: wiped \/dev\/vda/, from, BOOT_MS),
    'the VM network-booted the wipe and wiped its disk',
  );
  t.ok(await vm.waitPoweredOff(2 * BOOT_MS), 'it reinstalled and powered off');
  serial = cleanSerial(vm.serial(from));
  t.match(
    serial,
    /MBE2E: rebooting after the wipe[\s\S]*MBE2E: stand-in init started[\s\S]*MBE2E: PASS config http=200[\s\S]*MBE2E: RESULT PASS/,
    'console: wipe, reboot, install from the network, PASS',
  );
  const cycled = serial.slice(0, serial.indexOf('MBE2E: rebooting after the wipe'));
  t.notMatch(cycled, /booted from local disk|Booting from Hard Disk/, 'after the cycle the disk was not tried first');
  t.match(cycled, NETWORK_BOOT, 'the network was');
  // The wipe leaves the boot loader (as Talos's wipe=system does): the disk would still boot, so
  // only metalboot's second "PXE once" after the wipe boot sends the reboot to the network.
  const afterWipe = serial.slice(serial.indexOf('MBE2E: rebooting after the wipe'));
  t.notMatch(afterWipe, /booted from local disk/, "the wipe's reboot did not boot the disk");
  t.match(afterWipe, NETWORK_BOOT, 'it booted the network: metalboot told the BMC PXE once again');
  const chassis = vm.chassisLog().slice(chassisFrom).join('\n');
  t.match(
    chassis,
    /set boot=pxe[\s\S]*set power=0\nstop qemu pid=\d+[\s\S]*set power=1\nstart qemu pid=\d+ boot=pxe order=nic,disk\nboot flag pxe consumed\nnext reset boots disk,nic/,
    `the BMC got PXE once, then a power cycle: it killed the hung VM and started it NIC first (${chassis.replace(/\n/g, ' | ')})`,
  );
  t.match(
    chassis,
    /start qemu pid=\d+ boot=pxe[\s\S]*set boot=pxe\n[\s\S]*boot flag pxe armed: the next reset boots nic,disk[\s\S]*reset: the boot flag applies, restarting the VM\n[\s\S]*start qemu pid=\d+ boot=pxe order=nic,disk\nboot flag pxe consumed/,
    "then PXE once more while the wipe ran, used by the wipe's own reboot",
  );
  t.ok(await installedWithin(lab, mac, 10_000, lastId), 'metalboot: installed again');
  const events = (await lab.events(mac)).filter((e) => e.id > lastId);
  const order = subsequence(events, [
    (e) => e.kind === 'machine-script' && e.detail.script === 'wipe',
    (e) => e.kind === 'machine-script' && e.detail.script === 'install',
    (e) => e.kind === 'config-delivered',
    (e) => e.kind === 'install-succeeded' && e.detail.source === 'kernel-log',
  ]);
  t.equal(order, 4, `timeline: wipe boot → install → config → installed (${events.map((e) => e.kind).join(', ')})`);
  op.checkTimeline(t, events);
  const machine = (await lab.api('GET', `/machines/${mac}`)).json;
  t.equal(machine?.state, 'installed', 'machine state is installed');
  t.notOk(machine?.reimage, 'the reimage is done');
  t.equal(await vm.powerStatus(), 'off', 'ipmitool: the chassis is off at the end');
  const bootparam = await vm.ipmitool(['chassis', 'bootparam', 'get', '5']);
  t.notMatch(bootparam.stdout, /Force PXE/, 'ipmitool: the one-time PXE flag was used up');
}

async function lastEventId(lab: Lab, mac: string): Promise<number> {
  return (await lab.events(mac)).reduce((m, e) => Math.max(m, e.id), 0);
}

async function installedWithin(lab: Lab, mac: string, ms: number, after = 0): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const events = (await lab.events(mac)).filter((e) => e.id > after);
    if (events.some((e) => e.kind === 'install-succeeded' && e.state === 'installed')) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

/** How many of `steps` the events match in order (a subsequence; others in between are fine). */
export function subsequence(events: MachineEvent[], steps: Array<(e: MachineEvent) => boolean>): number {
  let i = 0;
  for (const e of events) if (i < steps.length && steps[i]!(e)) i++;
  return i;
}

async function report(lab: Lab, vm: BmcVm): Promise<string> {
  const events = await lab.events(vm.spec.mac).catch(() => []);
  return [
    `==== failed node ${vm.spec.name} (${vm.spec.mac}, BMC ${vm.address})`,
    `-- timeline\n${formatTimeline(events, Date.parse(events[0]?.at ?? new Date().toISOString()))}`,
    `-- BMC (chassis-vm)\n${vm.chassisLog().join('\n')}`,
    `-- serial (last 40 lines)\n${serialTail(vm.serial())}`,
    `-- metalboot log\n${lab.metalbootLogTail(30)}`,
  ].join('\n');
}
