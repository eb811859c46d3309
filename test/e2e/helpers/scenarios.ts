/**
 * The boots the e2e runs, as functions over a Lab: a fresh install per firmware path, a second
 * boot of an installed machine, and an unknown machine. Each one asserts what the operator would
 * check (the VM powered off by itself, the timeline shows every hop in order, firmware detected
 * right, Talos's kernel log reached metalboot), records a timing row, and prints a self-explaining
 * report when anything failed — an assertion or a throw (metalboot gone, curl failing…).
 */
import type { Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './env.js';
import { type Lab, type MachineEvent, sleep } from './lab.js';
import { failureReport, firstSeen, followSteps, type StepKey, tftpRequests, type TimingRow } from './report.js';
import { cleanSerial, type Firmware, Vm, type VmRun } from './vm.js';

type T = Test;

export interface BootCase {
  /** bios-ipxe-rom, bios-undionly, uefi-pxe, uefi-ipxe-rom */
  name: string;
  firmware: Firmware;
  nicRom: boolean;
  mac: string;
  /** The iPXE binary the firmware must fetch over TFTP, when this path has TFTP. */
  tftpFile?: string;
  /** SMBIOS system serial (default "MBE2E-<name>"). */
  serial?: string;
  /** The cluster it joins: `e2e` (Talos v1.13, the default) or V14_CLUSTER's (v1.14). */
  cluster?: string;
}

/**
 * The Talos v1.14 cluster: talosctl's v1.14 output, whose UnattendedInstallConfig says
 * `installer: {}`. Talos v1.14 reboots after an unattended install only with `reboot: true` or an
 * installer image (UnattendedInstallController.shouldReboot); metalboot renders `reboot: true`
 * when the config leaves it unset, so this release-asset cluster needs no patch (the stand-in
 * refuses to "reboot" otherwise, as Talos would).
 */
export const V14_CLUSTER = {
  name: 'e2e14',
  patches: [] as string[],
};

const INSTALL_TIMEOUT_MS = 180_000; // a TCG install boot takes 15–30 s here; CI may be slower
const SHORT_TIMEOUT_MS = 120_000;
const UEFI_DISK_BOOT_TIMEOUT_MS = 300_000;

/** Serial output that means the boot took a wrong turn; the VM is stopped instead of waiting it out. */
const INSTALL_DEAD_ENDS = [
  /Kernel panic/,
  /No bootable device/,
  /UEFI Interactive Shell/,
  /failed to load Boot[0-9A-F]+ "UEFI PXEv4/, // OVMF's PXE gave up (the next try, HTTPv4, takes ~100 s)
  /could not fetch the machine script/,
  /unknown machine [0-9a-f:]+, waiting/,
  /metalboot: (.* )?retrying in \d+ seconds/, // unavailable.ipxe / boot.ipxe retry loops
  /MBE2E: RESULT FAIL/,
];

/**
 * Steps the product cannot put on the timeline yet, per DHCP mode, with the reason: each is still
 * asserted, as a tap TODO naming the gap, until the product is fixed. None today.
 */
export const KNOWN_GAPS: Record<string, Partial<Record<StepKey, string>>> = { authoritative: {}, proxy: {} };

/**
 * What each firmware path prints on the console when it really took that path (so a fallback —
 * say the ROM iPXE carrying on when the undionly chain failed — cannot pass for it).
 */
const PATH_EVIDENCE: Record<string, RegExp[]> = {
  'bios-ipxe-rom': [/iPXE \(PCI [0-9a-f:.]+\) starting execution/, /net0: \S+ using virtio-net on/],
  'bios-undionly': [
    /iPXE \(PCI [0-9a-f:.]+\) starting execution/,
    /chainloads undionly\.kpxe/,
    /net0: \S+ using undionly on/,
  ],
  'uefi-pxe': [/Start PXE over IPv4/, /NBP filename is ipxe\.efi/, /net0: \S+ using SNP on/],
  'uefi-ipxe-rom': [/Features: .*\bEFI\b/, /net0: \S+ using virtio-net on/],
};

export const hostnameFor = (mac: string) => `e2e-${mac.replace(/:/g, '')}`;

export function talosExample(version: 'v1.13' | 'v1.14', file: string): string {
  return readFileSync(join(PROJECT_ROOT, 'test/fixtures/talos/examples', version, file), 'utf8');
}

interface Installed {
  vm: Vm;
  wroteDisk: boolean;
}

/** What a failure report needs; filled in as the scenario gets there. */
interface ReportContext {
  mac: string;
  vm?: Vm;
  run?: VmRun;
  t0: number;
}

/** Waits up to `ms` for `probe` to return something truthy; returns its last value. */
async function waitFor<R>(ms: number, probe: () => Promise<R>): Promise<R> {
  const deadline = Date.now() + ms;
  let last = await probe();
  while (!last && Date.now() < deadline) {
    await sleep(250);
    last = await probe();
  }
  return last;
}

export class Suite {
  readonly rows: TimingRow[] = [];
  private readonly installed = new Map<string, Installed>();

  constructor(readonly lab: Lab) {}

  private vmFor(c: BootCase): Vm {
    return new Vm(this.lab, {
      name: `${this.lab.opts.name}-${c.name}`,
      firmware: c.firmware,
      nicRom: c.nicRom,
      mac: c.mac,
      serial: c.serial ?? `MBE2E-${c.name}`,
      uuid: randomUUID(),
      dir: join(this.lab.opts.artifacts, c.name),
    });
  }

  /**
   * Runs one scenario and prints the failure report whenever it failed: an assertion failed, or
   * the scenario threw (metalboot crashed and curl failed, a VM could not start…). A throw is
   * reported as a failed assertion carrying the error, so it fails the test too.
   */
  private async reported(t: T, ctx: ReportContext, body: () => Promise<void>): Promise<void> {
    let threw = false;
    try {
      await body();
    } catch (err) {
      threw = true;
      t.fail(`scenario threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      if (threw || !t.passing()) {
        const report = await failureReport(
          this.lab,
          ctx.mac,
          ctx.run,
          ctx.run?.startedAt ?? ctx.t0,
          ctx.vm?.serial() ?? '',
        ).catch(
          (err: unknown) =>
            `==== failure report for ${ctx.mac} could not be built: ${err instanceof Error ? err.message : String(err)}`,
        );
        t.comment(report);
      }
    }
  }

  /**
   * A registered machine with an empty disk boots the installer, fetches its config and streams
   * its kernel log to metalboot, whose "install successful" line makes the machine installed.
   */
  install(t: T, c: BootCase): Promise<void> {
    const ctx: ReportContext = { mac: c.mac, t0: Date.now() };
    return this.reported(t, ctx, () => this.installSteps(t, c, ctx));
  }

  private async installSteps(t: T, c: BootCase, ctx: ReportContext): Promise<void> {
    const { lab } = this;
    const mac = c.mac;
    const v14 = c.cluster === V14_CLUSTER.name;
    const reg = await lab.api('POST', '/machines', {
      mac,
      hostname: hostnameFor(mac),
      role: 'worker',
      cluster: c.cluster ?? 'e2e',
      installDisk: '/dev/vda',
    });
    t.equal(reg.status, 201, `registered ${mac} through the API (${reg.text.slice(0, 200)})`);

    const vm = this.vmFor(c);
    ctx.vm = vm;
    const run = await vm.boot({ timeoutMs: INSTALL_TIMEOUT_MS, deadEnds: INSTALL_DEAD_ENDS });
    ctx.run = run;
    const t0 = run.startedAt;
    const serial = cleanSerial(vm.serial());
    const wroteDisk = /MBE2E: installed boot sector (and EFI system partition )?on \/dev\/vda/.test(serial);
    this.installed.set(c.name, { vm, wroteDisk });

    t.ok(
      !run.timedOut,
      `VM stopped within ${INSTALL_TIMEOUT_MS / 1000} s (took ${((run.endedAt - t0) / 1000).toFixed(1)} s)`,
    );
    t.ok(!run.deadEnd, `no dead end on the console${run.deadEnd ? `: ${run.deadEnd}` : ''}`);
    t.equal(run.exitCode, 0, 'QEMU exited cleanly (the stand-in powered the VM off)');
    t.ok(
      /MBE2E: stand-in init started/.test(serial),
      'the kernel and initramfs from metalboot booted (stand-in /init ran)',
    );
    const pass = /MBE2E: PASS config http=200 bytes=(\d+) hostname=(\S+)/.exec(serial);
    t.ok(pass, 'the VM fetched its config: HTTP 200, non-empty, v1alpha1 YAML, its own hostname');
    t.equal(pass?.[2], hostnameFor(mac), 'config hostname is the registered one');
    t.ok(
      /MBE2E: RESULT PASS/.test(serial) && /reboot: Power down/.test(serial),
      'stand-in finished with PASS and powered off',
    );

    // Talos's kernel log: metalboot advertises its receiver (talos.logging.kernel= on the cmdline,
    // a KmsgLogConfig document in the config); the stand-in streams to it as Talos would.
    const cmdlineKlog = /MBE2E: cmdline talos\.config=\S+ talos\.logging\.kernel=(\S+)/.exec(serial)?.[1];
    t.match(
      cmdlineKlog,
      new RegExp(`^tcp://${lab.serverIp.replace(/\./g, '\\.')}:\\d+/$`),
      `the kernel cmdline points talos.logging.kernel= at metalboot's kernel-log receiver (${cmdlineKlog ?? 'none'})`,
    );
    const docKlog = /MBE2E: config KmsgLogConfig url=(\S+)/.exec(serial)?.[1];
    t.equal(docKlog, cmdlineKlog, 'the machine config carries a KmsgLogConfig document with the same receiver');
    const streamed = /MBE2E: kmsg streamed (\d+) lines to (\S+)/.exec(serial);
    t.ok(
      streamed,
      `the stand-in streamed its kernel log (${streamed?.[0] ?? /MBE2E: (kmsg [^\n]*|FAIL kmsg[^\n]*)/.exec(serial)?.[0] ?? 'no kmsg marker on the console'})`,
    );
    t.equal(streamed?.[2], cmdlineKlog, 'to the advertised receiver');
    // Lines are applied asynchronously after the TCP stream: give the receiver a moment.
    const ingested = await waitFor(10_000, async () =>
      (await lab.events(mac)).find((e) => e.kind === 'install-succeeded'),
    );
    const logs = (await lab.api<{ lines?: Array<{ msg: string }> }>('GET', `/machines/${mac}/logs`)).json?.lines ?? [];
    t.equal(
      logs.length,
      Number(streamed?.[1] ?? -1),
      `metalboot holds every kernel-log line the stand-in sent (GET /machines/${mac}/logs: ${logs.length})`,
    );
    // v1.14's install controller adds its zap fields to the line: `install successful {"component": …}`.
    t.ok(
      logs.some((l) =>
        v14 ? l.msg.startsWith('[talos] install successful {') : l.msg === '[talos] install successful',
      ),
      'the kernel log on metalboot has "[talos] install successful"',
    );
    t.equal(ingested?.detail.source, 'kernel-log', 'the timeline has install-succeeded, from the kernel log');
    t.equal(ingested?.state, 'installed', 'install-succeeded moved the machine to installed');
    const events = await lab.events(mac);
    if (v14) this.checkV14(t, serial, events);

    const wanted: StepKey[] = [
      'dhcp',
      ...(c.tftpFile ? (['tftp'] as const) : []),
      'boot-script',
      'machine-script',
      'kernel',
      'initramfs',
      'config',
      'kmsg',
    ];
    this.checkSteps(t, events, wanted, 'install', t0);
    for (const evidence of PATH_EVIDENCE[c.name] ?? [])
      t.ok(evidence.test(serial), `console shows the ${c.name} path: ${evidence}`);
    const rrq = tftpRequests(lab.files.pcap, mac, t0, run.endedAt);
    if (c.tftpFile)
      t.ok(
        rrq.some((r) => r.file === c.tftpFile && r.to === lab.serverIp),
        `the VM asked metalboot (${lab.serverIp}) for ${c.tftpFile} over TFTP (capture: ${JSON.stringify(rrq)})`,
      );
    else t.same(rrq, [], 'no TFTP on this path');
    if (c.tftpFile) {
      const tftp = events.find((e) => e.kind === 'tftp-completed');
      t.equal(tftp?.detail.file, c.tftpFile, `TFTP delivered ${c.tftpFile}`, { todo: KNOWN_GAPS[lab.mode]?.tftp });
    }
    const expectFirmware = c.firmware === 'bios' ? 'pcbios' : 'efi';
    const machine = (await lab.api('GET', `/machines/${mac}`)).json;
    t.equal(machine?.lastSeen?.firmware, expectFirmware, `firmware detected as ${expectFirmware} (lastSeen.firmware)`);
    t.equal(machine?.lastSeen?.arch, 'amd64', 'arch detected as amd64');
    const script = events.find((e) => e.kind === 'machine-script' && e.detail.script === 'install');
    t.equal(script?.detail.firmware, expectFirmware, `install script was chosen for ${expectFirmware}`);
    // Talos's "install successful" line (kernel log) is what makes the machine installed.
    t.equal(machine?.state, 'installed', 'machine state is installed');
    t.equal(machine?.installed, true, 'machine is marked installed (its next boot is from disk)');
    t.equal(
      machine?.lastSeen?.serial,
      vm.spec.serial,
      `SMBIOS serial "${vm.spec.serial}" arrived intact through iPXE's query string`,
    );
    t.equal(String(machine?.lastSeen?.uuid ?? '').toLowerCase(), vm.spec.uuid, 'SMBIOS UUID recorded');

    const cells: TimingRow['cells'] = firstSeen(events, wanted, 'install', t0);
    if (run.exitCode === 0) cells.off = (run.endedAt - t0) / 1000;
    this.rows.push({ scenario: c.name, mode: lab.mode, cells });
  }

  /**
   * Talos v1.14: the config carries the disk in an UnattendedInstallConfig (no .machine.install),
   * the install controller's lines put `installing` (with that disk) and `installed` on the
   * timeline, and no install sequence is involved.
   */
  private checkV14(t: T, serial: string, events: MachineEvent[]): void {
    const doc = /MBE2E: v1\.14 UnattendedInstallConfig match=(.*) disk=(\S+) image=(\S+) reboot=(\S+)/.exec(serial);
    t.equal(
      doc?.[1],
      'disk.dev_path == "/dev/vda"',
      'the config selects the registered install disk in its UnattendedInstallConfig',
    );
    t.equal(doc?.[4], 'yes', "Talos would reboot after the install (the cluster patch's reboot: true)");
    t.ok(
      /MBE2E: installed boot sector and EFI system partition on \/dev\/vda/.test(serial),
      'the stand-in installed to the disk the selector matched',
    );
    const started = events.find((e) => e.kind === 'install-started');
    t.equal(started?.state, 'installing', 'the kernel log\'s "installing Talos" moved the machine to installing');
    t.equal(started?.detail.disk, '/dev/vda', 'with the disk the install controller names');
    t.ok(!events.some((e) => e.kind.startsWith('talos-sequence')), 'no install sequence: v1.14 installs without one');
    t.ok(
      events.some((e) => e.kind === 'install-reboot-requested'),
      'the reboot request is on the timeline',
    );
  }

  /**
   * The timeline must show `wanted` in this order (a subsequence: repeats in between are fine).
   * Steps listed in KNOWN_GAPS for this mode are asserted separately, as TODOs.
   */
  private checkSteps(t: T, events: MachineEvent[], wanted: StepKey[], script: string, t0: number): void {
    const gaps = KNOWN_GAPS[this.lab.mode] ?? {};
    const strict = wanted.filter((k) => !gaps[k]);
    const { hits, missing } = followSteps(events, strict, script, t0);
    t.ok(
      !missing,
      `timeline shows ${strict.join(' → ')}${missing ? ` — missing "${missing}" after ${hits.map((h) => h.key).join(' → ') || 'power-on'}` : ''}`,
    );
    for (const key of wanted.filter((k) => gaps[k])) {
      t.ok(!followSteps(events, [key], script, t0).missing, `timeline shows ${key}`, { todo: gaps[key] });
    }
  }

  /**
   * The same VM and disk again, with nothing done to the machine in between: metalboot knows it is
   * installed only from what its first boot reported (the kernel log's "install successful"), so
   * it must serve the boot-from-disk script, not the installer.
   */
  secondBoot(t: T, c: BootCase): Promise<void> {
    const ctx: ReportContext = { mac: c.mac, t0: Date.now() };
    return this.reported(t, ctx, () => this.secondBootSteps(t, c, ctx));
  }

  private async secondBootSteps(t: T, c: BootCase, ctx: ReportContext): Promise<void> {
    const { lab } = this;
    const prior = this.installed.get(c.name);
    ctx.vm = prior?.vm;
    if (!prior?.wroteDisk) {
      t.fail(`second boot of ${c.name} needs its first boot to have installed the stand-in boot sector`);
      return;
    }
    const before = await lab.events(c.mac);
    const lastId = before.reduce((m, e) => Math.max(m, e.id), 0);
    const installedBy = before.find((e) => e.kind === 'install-succeeded');
    t.equal(
      installedBy?.detail.source,
      'kernel-log',
      'before the second boot: installed by the first boot\'s kernel log ("install successful"), no operator action',
    );
    const machine = (await lab.api('GET', `/machines/${c.mac}`)).json;
    t.equal(machine?.installed, true, 'before the second boot: the machine is installed');

    const run = await prior.vm.boot({
      // UEFI: after iPXE's `exit 1` OVMF tries the NIC's other boot options (HTTP boot over IPv4
      // waits for its DHCP offer) before the disk.
      timeoutMs: c.firmware === 'uefi' ? UEFI_DISK_BOOT_TIMEOUT_MS : SHORT_TIMEOUT_MS,
      deadEnds: [
        /MBE2E: stand-in init started/,
        /Kernel panic/,
        /No bootable device/,
        /could not fetch the machine script/,
      ],
    });
    ctx.run = run;
    const t0 = run.startedAt;
    const serial = cleanSerial(prior.vm.serial());
    t.ok(!run.timedOut && !run.deadEnd, `VM stopped by itself${run.deadEnd ? ` — dead end: ${run.deadEnd}` : ''}`);
    t.equal(run.exitCode, 0, 'QEMU exited cleanly (the boot sector on the disk powered it off)');
    t.ok(/MBE2E: booted from local disk/.test(serial), 'serial console shows the boot from the local disk');
    const events = (await lab.events(c.mac)).filter((e) => e.id > lastId);
    const wanted: StepKey[] = ['dhcp', 'boot-script', 'machine-script'];
    this.checkSteps(t, events, wanted, 'localboot', t0);
    t.ok(
      !events.some(
        (e) =>
          /^(kernel|initramfs)-download|^config-delivered$/.test(e.kind) ||
          (e.kind === 'machine-script' && e.detail.script === 'install'),
      ),
      'no installer, kernel or config on the second boot',
    );
    t.equal(
      (await lab.api('GET', `/machines/${c.mac}`)).json?.state,
      'booting-from-disk',
      'machine state is booting-from-disk',
    );
    const cells: TimingRow['cells'] = firstSeen(events, wanted, 'localboot', t0);
    if (run.exitCode === 0) cells.off = (run.endedAt - t0) / 1000;
    this.rows.push({ scenario: `${c.name} second boot`, mode: lab.mode, cells, note: 'installed: boot from disk' });
  }

  /** A MAC nobody registered: recorded as discovered, gets the discovery script, installs nothing. */
  discovery(t: T, c: BootCase): Promise<void> {
    const ctx: ReportContext = { mac: c.mac, t0: Date.now() };
    return this.reported(t, ctx, () => this.discoverySteps(t, c, ctx));
  }

  private async discoverySteps(t: T, c: BootCase, ctx: ReportContext): Promise<void> {
    const { lab } = this;
    const vm = this.vmFor(c);
    ctx.vm = vm;
    const run: VmRun = await vm.boot({
      timeoutMs: SHORT_TIMEOUT_MS,
      stopOn: /unknown machine [0-9a-f:]+, waiting/,
      deadEnds: [
        /MBE2E: stand-in init started/,
        /Kernel panic/,
        /No bootable device/,
        /could not fetch the machine script/,
      ],
    });
    ctx.run = run;
    const t0 = run.startedAt;
    t.ok(run.stoppedOn, `iPXE shows the discovery script ("${run.stoppedOn ?? 'not seen'}")`);
    t.ok(!run.deadEnd, `no dead end${run.deadEnd ? `: ${run.deadEnd}` : ''}`);
    const machine = await lab.api('GET', `/machines/${c.mac}`);
    t.equal(machine.status, 200, 'the unknown MAC appears in the API');
    t.equal(machine.json?.state, 'discovered', 'state is discovered');
    t.equal(machine.json?.lastSeen?.firmware, c.firmware === 'bios' ? 'pcbios' : 'efi', 'firmware recorded');
    const listed = await lab.api<{ items: Array<{ mac: string }> }>('GET', '/machines?state=discovered&limit=1000');
    t.ok(
      listed.json?.items.some((m) => m.mac === c.mac),
      'listed by GET /machines?state=discovered',
    );
    const events = await lab.events(c.mac);
    const cells = firstSeen(events, ['dhcp', 'boot-script', 'machine-script'], 'discovery', t0);
    t.ok(
      events.some((e) => e.kind === 'discovered'),
      'timeline has the discovery',
    );
    t.ok(
      !events.some(
        (e) =>
          /^(kernel|initramfs)-download|^config-/.test(e.kind) ||
          (e.kind === 'machine-script' && e.detail.script === 'install'),
      ),
      'nothing installed: no installer, kernel or config',
    );
    this.rows.push({ scenario: c.name, mode: lab.mode, cells, note: 'unknown MAC: discovery script' });
  }
}
