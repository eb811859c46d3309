/**
 * A QEMU VM behind a BMC: OpenIPMI's `ipmi_sim` in the switch namespace, on a lab address of its
 * own on the bridge (metalboot in h0 reaches it over the lab LAN, UDP 623), whose chassis_control
 * program (test/e2e/bmc/chassis-vm) starts QEMU on power-on — disk first, or NIC first when the
 * boot flag says PXE — and kills it on power-off. QEMU also carries QEMU's documented BMC link,
 * `ipmi-bmc-extern` + `isa-ipmi-kcs`, to the simulator's VM serial port. Nothing here powers the
 * VM: only the BMC does, on IPMI commands from metalboot (or the operator's ipmitool).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR, OVMF_CODE, OVMF_VARS, PROJECT_ROOT } from './env.js';
import { drain, type Lab, readOr, sleep } from './lab.js';
import { type Firmware, qemuBase } from './vm.js';

export const BMC_USER = 'admin';
export const BMC_PASSWORD = 'metalboot';
const BMC_DIR = join(E2E_DIR, 'bmc');
const SIM_EMU = join(PROJECT_ROOT, 'test/fixtures/ipmi/sim.emu');

export interface BmcVmSpec {
  name: string;
  firmware: Firmware;
  mac: string;
  /** The BMC's address on the lab LAN (added to the switch namespace's bridge). */
  bmcIp: string;
  dir: string;
}

/**
 * The stand-in's installed boot code, made to hang: the instruction that powers the VM off after
 * "MBE2E: booted from local disk" becomes NOPs, so the CPU halts in a loop with the VM on — a node
 * that boots its disk and never comes up. BIOS: `mov dx,0x604; mov ax,0x2000; out dx,ax` in the
 * boot sector; UEFI: `call rax` (ResetSystem) in \EFI\BOOT\BOOTX64.EFI (build-standin.sh).
 */
const HANG_PATCH: Record<Firmware, { find: string; replace: string }> = {
  bios: { find: 'ba0406b80020eff4ebfd', replace: '90909090909090f4ebfd' },
  uefi: { find: '4883ec28ffd0f4ebfd', replace: '4883ec289090f4ebfd' },
};

export class BmcVm {
  readonly serialFile: string;
  readonly disk: string;
  readonly uuid = randomUUID();
  readonly serialNumber: string;
  private readonly vars: string;
  private simPid?: number;

  constructor(
    readonly lab: Lab,
    readonly spec: BmcVmSpec,
  ) {
    mkdirSync(spec.dir, { recursive: true });
    this.serialFile = join(spec.dir, 'serial.log');
    this.disk = join(spec.dir, 'disk.img');
    this.vars = join(spec.dir, 'ovmf-vars.fd');
    this.serialNumber = `MBE2E-${spec.name}`;
  }

  get address(): string {
    return `${this.spec.bmcIp}:623`;
  }

  /** Writes the VM's hardware (QEMU argv, empty disk, OVMF vars) and starts its BMC, powered off. */
  async start(): Promise<void> {
    const { lab, spec } = this;
    writeFileSync(this.disk, '');
    truncateSync(this.disk, 16 << 20);
    if (spec.firmware === 'uefi') copyFileSync(OVMF_VARS, this.vars);
    writeFileSync(this.serialFile, '');
    writeFileSync(join(spec.dir, 'qemu.args'), `${this.qemuArgs(lab.newTap()).join('\n')}\n`);
    ipIn(lab.switchNs, ['addr', 'add', `${spec.bmcIp}/24`, 'dev', 'br0']);
    // QEMU reaches the simulator's VM port on the namespace's own address: that goes through lo,
    // which the switch namespace is created without (a connect would stay in SYN-SENT).
    ipIn(lab.switchNs, ['link', 'set', 'lo', 'up']);
    const conf = readFileSync(join(BMC_DIR, 'lan.conf'), 'utf8')
      .replaceAll('@BMC_IP@', spec.bmcIp)
      .replaceAll('@CHASSIS_VM@', join(BMC_DIR, 'chassis-vm'))
      .replaceAll('@VM_DIR@', spec.dir);
    writeFileSync(join(spec.dir, 'lan.conf'), conf);
    mkdirSync(join(spec.dir, 'ipmi-state'), { recursive: true });
    const sim = lab.spawnOnSwitch([
      'ipmi_sim',
      '-n',
      '-c',
      join(spec.dir, 'lan.conf'),
      '-f',
      SIM_EMU,
      '-s',
      join(spec.dir, 'ipmi-state'),
    ]);
    this.simPid = sim.pid;
    drain(sim, join(spec.dir, 'ipmi_sim.log'));
    const deadline = Date.now() + 15_000;
    while ((await this.ipmitool(['-N', '1', '-R', '1', 'chassis', 'power', 'status'])).code !== 0) {
      if (sim.exitCode !== null)
        throw new Error(`ipmi_sim exited ${sim.exitCode}: ${readOr(join(spec.dir, 'ipmi_sim.log'))}`);
      if (Date.now() > deadline) throw new Error(`ipmi_sim on ${this.address} did not answer within 15 s`);
      await sleep(200);
    }
  }

  /** Kills the VM's QEMU and the simulator by pid (the lab's teardown sweeps the namespace too). */
  stop(): void {
    for (const pid of [this.qemuPid(), this.simPid]) {
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** The operator's own ipmitool, from metalboot's namespace, as an independent check of the BMC. */
  ipmitool(args: string[], timeoutMs = 20_000) {
    return this.lab.net.run(
      this.lab.serverNs,
      [
        'env',
        `IPMI_PASSWORD=${BMC_PASSWORD}`,
        'ipmitool',
        '-I',
        'lanplus',
        '-C',
        '3',
        '-H',
        this.spec.bmcIp,
        '-p',
        '623',
        '-U',
        BMC_USER,
        '-E',
        ...args,
      ],
      timeoutMs,
    );
  }

  async powerStatus(): Promise<string> {
    const r = await this.ipmitool(['chassis', 'power', 'status']);
    return /Chassis Power is (on|off)/.exec(r.stdout)?.[1] ?? `unknown (${r.stdout.trim()} ${r.stderr.trim()})`;
  }

  /** The VM's ipmi-bmc-extern link: an established TCP connection to the simulator's VM port. */
  async externConnected(): Promise<string> {
    const r = await this.lab.net.run(this.lab.switchNs, [
      'ss',
      '-Htn',
      'state',
      'established',
      `( sport = :9002 and src ${this.spec.bmcIp} )`,
    ]);
    return r.stdout.trim();
  }

  /** The pid of the VM's running QEMU, from the chassis program's pid file, if it lives. */
  qemuPid(): number | undefined {
    const pid = Number(readOr(join(this.spec.dir, 'qemu.pid')).trim());
    if (!pid) return undefined;
    try {
      process.kill(pid, 0);
      return /^qemu-system/.test(readOr(`/proc/${pid}/comm`)) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** What the BMC did to the VM, in order (chassis-vm's log, timestamps cut off). */
  chassisLog(): string[] {
    return readOr(join(this.spec.dir, 'chassis.log'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ /, ''));
  }

  serial(from = 0): string {
    try {
      return readFileSync(this.serialFile, 'latin1').slice(from);
    } catch {
      return '';
    }
  }

  serialLength(): number {
    return this.serial().length;
  }

  /** Waits (bounded) until the console, from `from` on, matches `pattern`; false on time-out. */
  async waitSerial(pattern: RegExp, from: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.serial(from))) {
      if (Date.now() > deadline) return false;
      await sleep(250);
    }
    return true;
  }

  /** Waits (bounded) until QEMU is gone (the VM powered itself off, or the BMC killed it). */
  /**
   * Off and staying off: the BMC restarts QEMU for a reset (stop, then start), and that gap must not
   * count as the machine powering itself off, so "off" must hold for 3 s in a row.
   */
  async waitPoweredOff(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    let offSince: number | null = null;
    for (;;) {
      const now = Date.now();
      if (this.qemuPid()) offSince = null;
      else if (offSince === null) offSince = now;
      else if (now - offSince >= 3_000) return true;
      if (now > deadline) return false;
      await sleep(250);
    }
  }

  /** The failure: the installed system hangs after its boot loader (see HANG_PATCH). Returns the hits. */
  breakInstalledSystem(): number {
    const { find, replace } = HANG_PATCH[this.spec.firmware];
    const disk = readFileSync(this.disk);
    const needle = Buffer.from(find, 'hex');
    let hits = 0;
    for (let at = disk.indexOf(needle); at !== -1; at = disk.indexOf(needle, at + 1)) {
      Buffer.from(replace, 'hex').copy(disk, at);
      hits++;
    }
    writeFileSync(this.disk, disk);
    return hits;
  }

  private qemuArgs(tap: string): string[] {
    const { spec } = this;
    const args = [
      ...qemuBase(spec.name),
      // For the BMC's "PXE once": chassis-vm moves the NIC behind the disk, and watches for resets.
      '-qmp',
      `unix:${join(spec.dir, 'qmp.sock')},server=on,wait=off`,
      // No -no-reboot: the wipe boot reboots, as a machine does; power is the BMC's business.
      '-chardev',
      `file,id=ser0,path=${this.serialFile},append=on`,
      '-serial',
      'chardev:ser0',
      '-smbios',
      `type=1,serial=${this.serialNumber},uuid=${this.uuid}`,
      '-netdev',
      `tap,id=n0,ifname=${tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${spec.mac},id=nic0,bootindex=@NIC_BOOTINDEX@`,
      '-drive',
      `file=${this.disk},format=raw,if=none,id=d0`,
      '-device',
      'virtio-blk-pci,drive=d0,id=disk0,bootindex=@DISK_BOOTINDEX@',
      // QEMU's way to put a VM behind ipmi_sim: the BMC's VM serial port, reconnecting.
      '-chardev',
      `socket,id=ipmi0,host=${spec.bmcIp},port=9002,reconnect=10`,
      '-device',
      'ipmi-bmc-extern,chardev=ipmi0,id=bmc0',
      '-device',
      'isa-ipmi-kcs,bmc=bmc0',
    ];
    if (spec.firmware === 'bios') {
      const sercon = join(spec.dir, 'sercon-port');
      writeFileSync(sercon, Buffer.from([0xf8, 0x03])); // COM1 at 0x3f8: SeaBIOS + iPXE on the serial port
      args.push('-machine', 'pc', '-fw_cfg', `name=etc/sercon-port,file=${sercon}`);
    } else {
      args.push(
        '-machine',
        'q35',
        '-drive',
        `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive',
        `if=pflash,format=raw,unit=1,file=${this.vars}`,
        '-fw_cfg',
        'name=opt/org.tianocore/IPv6Support,string=no',
      );
    }
    return args;
  }
}

function ipIn(ns: string, args: string[]): void {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
}
