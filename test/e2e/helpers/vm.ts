/**
 * One QEMU virtual machine on the lab's bridge: unmodified firmware, TCG (this machine's /dev/kvm
 * cannot run firmware: nested, no vmx), 512 MB, one virtio-net NIC that boots first and an empty
 * virtio disk after it. Its serial console goes to a file the test watches.
 *
 * - bios: SeaBIOS (`-machine pc`) with QEMU's iPXE option ROM on the NIC. SeaBIOS mirrors the
 *   option ROM's text screen onto the serial port only with the `etc/sercon-port` fw_cfg file.
 * - uefi: OVMF (`-machine q35`, pflash code + a writable copy of the vars), with the NIC's iPXE EFI
 *   ROM, or with `romfile=` (no ROM) so OVMF's own virtio-net driver and PXE client boot.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited } from '../../helpers/netns.js';
import { OVMF_CODE, OVMF_VARS } from './env.js';
import { drain, type Lab, sleep } from './lab.js';

export type Firmware = 'bios' | 'uefi';

export interface VmSpec {
  name: string;
  firmware: Firmware;
  /** false: `romfile=` (OVMF's own PXE); true: QEMU's iPXE ROM for virtio-net. */
  nicRom: boolean;
  mac: string;
  /** SMBIOS system serial and UUID (what iPXE reports as ${serial} / ${uuid}). */
  serial: string;
  uuid: string;
  /** Directory for the serial log, QEMU's output, disk and OVMF vars; reused by a second boot. */
  dir: string;
}

export interface Watch {
  timeoutMs: number;
  /** Serial-log patterns that mean "this boot went wrong": stop the VM (after a grace period). */
  deadEnds: RegExp[];
  /** Serial-log pattern that means "seen enough" for VMs that never power off by themselves. */
  stopOn?: RegExp;
}

export interface VmRun {
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The serial line that matched a dead end, if one did. */
  deadEnd?: string;
  /** The serial line that matched `stopOn`, if one did. */
  stoppedOn?: string;
  serialFile: string;
}

/** What every e2e VM's QEMU starts with: TCG, 512 MB, one CPU, no display or monitor. */
export function qemuBase(name: string): string[] {
  return [
    'qemu-system-x86_64',
    '-name',
    `mbe2e-${name}`,
    '-accel',
    'tcg',
    '-m',
    '512',
    '-smp',
    '1',
    '-display',
    'none',
    '-monitor',
    'none',
  ];
}

export class Vm {
  readonly serialFile: string;
  readonly disk: string;
  private readonly vars: string;
  private tap?: string;

  constructor(
    readonly lab: Lab,
    readonly spec: VmSpec,
  ) {
    mkdirSync(spec.dir, { recursive: true });
    this.serialFile = join(spec.dir, 'serial.log');
    this.disk = join(spec.dir, 'disk.img');
    this.vars = join(spec.dir, 'ovmf-vars.fd');
  }

  /** Powers the VM on (an empty 16 MiB disk the first time) and watches it until it stops. */
  async boot(watch: Watch): Promise<VmRun> {
    if (!existsSync(this.disk)) {
      writeFileSync(this.disk, '');
      truncateSync(this.disk, 16 << 20);
    }
    if (this.spec.firmware === 'uefi' && !existsSync(this.vars)) copyFileSync(OVMF_VARS, this.vars);
    this.tap ??= this.lab.newTap();
    writeFileSync(this.serialFile, '');
    const args = this.args();
    writeFileSync(join(this.spec.dir, 'qemu.cmd'), `${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
    const startedAt = Date.now();
    const qemu = this.lab.spawnOnSwitch(args);
    drain(qemu, join(this.spec.dir, 'qemu.log'));
    let deadEnd: string | undefined;
    let stoppedOn: string | undefined;
    let timedOut = false;
    const deadline = startedAt + watch.timeoutMs;
    while (qemu.exitCode === null && qemu.signalCode === null) {
      const serial = this.serial();
      deadEnd = firstMatch(serial, watch.deadEnds);
      stoppedOn = watch.stopOn ? firstMatch(serial, [watch.stopOn]) : undefined;
      if (deadEnd || stoppedOn) {
        await exited(qemu, deadEnd ? 3_000 : 1_000); // let the firmware print its last words
        break;
      }
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await sleep(250);
    }
    if (qemu.exitCode === null && qemu.signalCode === null && qemu.pid) {
      try {
        process.kill(-qemu.pid, 'SIGKILL'); // spawned detached: its pid is the process group
      } catch {
        // gone meanwhile
      }
      await exited(qemu, 5_000);
    }
    return {
      startedAt,
      endedAt: Date.now(),
      exitCode: qemu.exitCode,
      signal: qemu.signalCode,
      timedOut,
      deadEnd,
      stoppedOn,
      serialFile: this.serialFile,
    };
  }

  serial(): string {
    try {
      return readFileSync(this.serialFile, 'latin1');
    } catch {
      return '';
    }
  }

  private args(): string[] {
    const { spec } = this;
    const args = [
      ...qemuBase(spec.name),
      '-no-reboot',
      '-serial',
      `file:${this.serialFile}`,
      '-smbios',
      `type=1,serial=${spec.serial.replace(/,/g, ',,')},uuid=${spec.uuid}`,
      '-netdev',
      `tap,id=n0,ifname=${this.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=n0,mac=${spec.mac},bootindex=1${spec.nicRom ? '' : ',romfile='}`,
      '-drive',
      `file=${this.disk},format=raw,if=none,id=d0`,
      '-device',
      'virtio-blk-pci,drive=d0,bootindex=2',
    ];
    if (spec.firmware === 'bios') {
      const sercon = join(spec.dir, 'sercon-port');
      writeFileSync(sercon, Buffer.from([0xf8, 0x03])); // COM1 at 0x3f8
      args.push('-machine', 'pc', '-fw_cfg', `name=etc/sercon-port,file=${sercon}`);
    } else {
      args.push(
        '-machine',
        'q35',
        '-drive',
        `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive',
        `if=pflash,format=raw,unit=1,file=${this.vars}`,
        // No IPv6 boot service in the lab: OVMF's PXEv6/HTTPv6 options would only add their
        // timeouts between iPXE's exit and the disk on a boot from disk (HTTPv4's remains, ~60 s).
        '-fw_cfg',
        'name=opt/org.tianocore/IPv6Support,string=no',
      );
    }
    return args;
  }
}

function firstMatch(text: string, patterns: RegExp[]): string | undefined {
  for (const p of patterns) {
    const m = p.exec(text);
    if (m) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      const end = text.indexOf('\n', m.index);
      return cleanSerial(text.slice(start, end === -1 ? undefined : end)).trim();
    }
  }
  return undefined;
}

/** Serial output without terminal escapes and carriage returns, for reading in a report. */
export function cleanSerial(text: string): string {
  return text
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\x1b[()][A-Za-z0-9]/g, '')
    .replace(/\x1b[A-Za-z=>]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

export function serialTail(text: string, lines = 40): string {
  return cleanSerial(text)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}
