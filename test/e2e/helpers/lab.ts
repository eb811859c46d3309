/**
 * A provisioning LAN in network namespaces, with the real `metalboot serve` on it.
 *
 *   ns h0 (server)                ns sw (switch)                              ns h1 (proxy labs only)
 *   eth0 <subnet>.1  ── veth ──  br0 ── tapN ⇐ qemu-system-x86_64 (one per VM)  eth0 <subnet>.2
 *   metalboot serve               tcpdump on br0                 ── veth ──    dnsmasq: addresses only
 *   ra-sender.py (IPv6 RA, lifetime 0)
 *
 * Only addresses inside these namespaces; no default route anywhere, IPv4/IPv6 forwarding off, so
 * nothing can leave <subnet>.0/24. QEMU runs inside the switch namespace because a tap belongs to
 * the namespace that created it. Every process is started by Netns.spawn (own process group, killed
 * by pid at teardown) and the namespaces are deleted at teardown, also when the test fails.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createNetns, waitForLine, type Netns, type TestLike } from '../../helpers/netns.js';
import { CLI, IPXE_DIR, PROJECT_ROOT, RA_SENDER, TALOS_V14_VERSION, TALOS_VERSION, type Standin } from './env.js';

export type DhcpMode = 'authoritative' | 'proxy';

export interface LabOptions {
  /** Short name, used in paths and VM names. */
  name: string;
  mode: DhcpMode;
  /** First three octets of the lab's /24, e.g. "10.251.1". */
  subnet: string;
  /** Where logs, pcaps, serial logs, disks and the data dir go (wiped first). */
  artifacts: string;
  standin: Standin;
  /**
   * MACs whose BIOS ROM iPXE must leave for undionly.kpxe over TFTP (the legacy PXE path). QEMU's
   * NIC ROM is already iPXE, so no DHCP server would ever send it to undionly.kpxe; a real BIOS NIC
   * with a vendor PXE ROM would. The lab therefore runs metalboot with a copy of the project's
   * templates (--templates-dir) whose boot.ipxe chains undionly.kpxe for these MACs only.
   */
  chainUndionlyMacs?: string[];
}

export interface ApiResult<T = any> {
  status: number;
  json: T;
  text: string;
}

export interface MachineEvent {
  id: number;
  at: string;
  kind: string;
  detail: Record<string, unknown>;
  sourceIp: string | null;
  state: string | null;
}

const API_TOKEN = 'e2e-admin-token-0123456789abcdef';
const HTTP_PORT = 8080;
/** Everything DHCP (67/68, PXE 4011) and TFTP requests (69); enough to explain a failed boot. */
const CAPTURE_FILTER = 'udp port 67 or udp port 68 or udp port 4011 or udp port 69';

export class Lab {
  readonly serverIp: string;
  readonly dhcpServerIp: string;
  readonly baseUrl: string;
  readonly files: {
    metalbootLog: string;
    dnsmasqLog: string;
    pcap: string;
    templates: string;
    assets: string;
    data: string;
  };
  private tapCount = 0;
  private metalboot?: ChildProcess;
  private readonly closers: Array<() => void> = [];

  private constructor(
    readonly opts: LabOptions,
    readonly net: Netns,
    readonly serverNs: string,
    readonly switchNs: string,
    readonly dhcpNs: string | undefined,
  ) {
    this.serverIp = `${opts.subnet}.1`;
    this.dhcpServerIp = `${opts.subnet}.2`;
    this.baseUrl = `http://${this.serverIp}:${HTTP_PORT}`;
    const a = opts.artifacts;
    this.files = {
      metalbootLog: join(a, 'metalboot.log'),
      dnsmasqLog: join(a, 'dnsmasq.log'),
      pcap: join(a, 'dhcp-tftp.pcap'),
      templates: join(a, 'templates'),
      assets: join(a, 'assets'),
      data: join(a, 'data'),
    };
  }

  get mode(): DhcpMode {
    return this.opts.mode;
  }

  /** Builds the namespaces, starts capture, RA sender, (dnsmasq) and metalboot; ready to boot VMs. */
  static async create(t: TestLike, opts: LabOptions): Promise<Lab> {
    rmSync(opts.artifacts, { recursive: true, force: true });
    mkdirSync(opts.artifacts, { recursive: true });
    const net = await createNetns(t, { hosts: opts.mode === 'proxy' ? 2 : 1, subnet: opts.subnet, bridge: true });
    const serverNs = net.hosts[0]!.ns;
    const dhcpNs = opts.mode === 'proxy' ? net.hosts[1]!.ns : undefined;
    const switchNs = net.namespaces.find((n) => n.endsWith('sw'))!;
    const lab = new Lab(opts, net, serverNs, switchNs, dhcpNs);
    t.teardown(() => lab.closers.forEach((close) => close()));
    for (const ns of net.namespaces) {
      ip(['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0']);
    }
    await lab.startCapture();
    lab.startRaSender();
    if (dhcpNs) await lab.startDnsmasq();
    lab.prepareFiles();
    await lab.startMetalboot();
    return lab;
  }

  /** A new tap on the bridge, for one VM. */
  newTap(): string {
    const tap = `tap${this.tapCount++}`;
    ip(['-n', this.switchNs, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    ip(['-n', this.switchNs, 'link', 'set', tap, 'master', 'br0', 'up']);
    return tap;
  }

  /** Admin API call from inside the server namespace (curl), bounded to 15 s. */
  async api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const args = [
      'curl',
      '-sS',
      '--max-time',
      '15',
      '-X',
      method,
      '-H',
      `Authorization: Bearer ${API_TOKEN}`,
      '-w',
      '\n%{http_code}',
    ];
    if (body !== undefined) {
      const file = join(this.opts.artifacts, `request-${process.hrtime.bigint()}.json`);
      writeFileSync(file, JSON.stringify(body));
      this.closers.push(() => rmSync(file, { force: true }));
      args.push('-H', 'Content-Type: application/json', '--data-binary', `@${file}`);
    }
    args.push(`${this.baseUrl}/api/v1${path}`);
    const r = await this.net.run(this.serverNs, args, 20_000);
    if (r.code !== 0) throw new Error(`curl ${method} ${path} failed (exit ${r.code}): ${r.stderr}`);
    const cut = r.stdout.lastIndexOf('\n');
    const text = r.stdout.slice(0, cut);
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: Number(r.stdout.slice(cut + 1)), json, text };
  }

  async events(mac: string): Promise<MachineEvent[]> {
    // Page by page (at most 1,000 a page), following `next`.
    const events: MachineEvent[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; json?: { items: MachineEvent[]; next: string | null } } = await this.api(
        'GET',
        `/machines/${mac}/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      );
      if (r.status !== 200 || !r.json) return events;
      events.push(...r.json.items);
      cursor = r.json.next;
    } while (cursor);
    return events;
  }

  /** The operator's `metalboot` CLI (the built one), run in the server namespace against this lab's server. */
  cli(args: string[], timeoutMs = 60_000) {
    const env = ['env', '-u', 'NODE_OPTIONS', `METALBOOT_SERVER=${this.baseUrl}`, `METALBOOT_API_TOKEN=${API_TOKEN}`];
    return this.net.run(this.serverNs, [...env, process.execPath, CLI, ...args], timeoutMs);
  }

  /** Starts a process inside the switch namespace (QEMU), tracked and killed with the lab. */
  spawnOnSwitch(argv: string[]): ChildProcess {
    return this.net.spawn(this.switchNs, argv);
  }

  metalbootLogTail(lines = 30): string {
    return tail(this.files.metalbootLog, lines);
  }

  dnsmasqLogTail(lines = 20): string {
    return this.dhcpNs ? tail(this.files.dnsmasqLog, lines) : '';
  }

  // ------------------------------------------------------------------ setup steps

  private async startCapture(): Promise<void> {
    // -U + --immediate-mode: every packet reaches the file at once (else the last ones are lost);
    // -Z root: tcpdump would otherwise drop to the tcpdump user and fail to write the file.
    const dump = this.net.spawn(this.switchNs, [
      'tcpdump',
      '-i',
      'br0',
      '-U',
      '--immediate-mode',
      '-Z',
      'root',
      '-n',
      '-s',
      '0',
      '-w',
      this.files.pcap,
      CAPTURE_FILTER,
    ]);
    drain(dump, join(this.opts.artifacts, 'tcpdump.log'));
    await waitForStderr(dump, /listening on/, 10_000);
  }

  private startRaSender(): void {
    const ra = this.net.spawn(this.serverNs, ['python3', RA_SENDER, 'eth0', '1800']);
    drain(ra, join(this.opts.artifacts, 'ra-sender.log'));
  }

  /** dnsmasq as the site's DHCP server: addresses only, no boot options, no DNS (port=0). */
  private async startDnsmasq(): Promise<void> {
    const s = this.opts.subnet;
    const dir = this.opts.artifacts;
    const dnsmasq = this.net.spawn(this.dhcpNs!, [
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=', // ignore /etc/dnsmasq.conf
      '--port=0',
      '--interface=eth0',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--user=root',
      '--group=root',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      `--dhcp-range=${s}.100,${s}.150,255.255.255.0,1h`,
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      '--dhcp-authoritative',
      '--log-dhcp',
      `--log-facility=${this.files.dnsmasqLog}`,
    ]);
    drain(dnsmasq, join(dir, 'dnsmasq.stdio.log'));
    const deadline = Date.now() + 10_000;
    while (!/DHCP, IP range/.test(readOr(this.files.dnsmasqLog))) {
      if (dnsmasq.exitCode !== null)
        throw new Error(
          `dnsmasq exited ${dnsmasq.exitCode}: ${readOr(join(dir, 'dnsmasq.stdio.log'))}${readOr(this.files.dnsmasqLog)}`,
        );
      if (Date.now() > deadline) throw new Error(`dnsmasq not ready within 10 s: ${readOr(this.files.dnsmasqLog)}`);
      await sleep(100);
    }
  }

  private prepareFiles(): void {
    const { standin } = this.opts;
    // Talos's file names, so metalboot cannot tell the stand-in from Talos (either version).
    for (const version of [TALOS_VERSION, TALOS_V14_VERSION]) {
      const talos = join(this.files.assets, 'talos', version);
      mkdirSync(talos, { recursive: true });
      copyFileSync(standin.vmlinuz, join(talos, 'vmlinuz-amd64'));
      copyFileSync(standin.initramfs, join(talos, 'initramfs-amd64.xz'));
    }
    const ipxe = join(this.files.assets, 'ipxe');
    mkdirSync(ipxe, { recursive: true });
    for (const f of ['undionly.kpxe', 'ipxe.efi']) copyFileSync(join(IPXE_DIR, f), join(ipxe, f));
    mkdirSync(this.files.data, { recursive: true });

    // The project's templates, unchanged except for the test-only undionly chain (see LabOptions).
    const src = join(PROJECT_ROOT, 'templates', 'ipxe');
    const dst = join(this.files.templates, 'ipxe');
    mkdirSync(dst, { recursive: true });
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dst, f));
    const macs = this.opts.chainUndionlyMacs ?? [];
    if (macs.length > 0) {
      const boot = readFileSync(join(src, 'boot.ipxe.hbs'), 'utf8').replace(/^#!ipxe\n/, '');
      const chain = [
        '#!ipxe',
        "# e2e test only: BIOS machines listed here leave QEMU's ROM iPXE for undionly.kpxe over TFTP, as a",
        '# vendor PXE ROM would have done, so the legacy TFTP path is exercised with real firmware.',
        'iseq ${platform} pcbios || goto metalboot_main',
        'iseq ${netX/chip} undionly && goto metalboot_main ||',
        ...macs.map((mac) => `iseq \${netX/mac} ${mac} && goto e2e_undionly ||`),
        'goto metalboot_main',
        ':e2e_undionly',
        // Not ${next-server}: in proxy mode that is the site DHCP server's siaddr, not metalboot.
        `echo MBE2E: ROM iPXE (\${netX/chip}) chainloads undionly.kpxe from tftp://${this.serverIp}/`,
        `chain tftp://${this.serverIp}/undionly.kpxe || goto metalboot_main`,
        ':metalboot_main',
      ].join('\n');
      writeFileSync(join(dst, 'boot.ipxe.hbs'), `${chain}\n${boot}`);
    }
  }

  private async startMetalboot(): Promise<void> {
    const s = this.opts.subnet;
    const args = [
      process.execPath,
      CLI,
      'serve',
      '--listen',
      `${this.serverIp}:${HTTP_PORT}`,
      '--dhcp',
      this.opts.mode,
      '--interface',
      'eth0',
      ...(this.opts.mode === 'authoritative' ? ['--dhcp-range', `${s}.100-${s}.150`] : []),
      '--tftp-listen',
      `${this.serverIp}:69`,
      '--data-dir',
      this.files.data,
      '--assets-dir',
      this.files.assets,
      '--templates-dir',
      this.files.templates,
      '--log-level',
      'debug',
    ];
    writeFileSync(join(this.opts.artifacts, 'metalboot.cmd'), `${args.join(' ')}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, METALBOOT_API_TOKEN: API_TOKEN };
    delete env.NODE_OPTIONS; // tap's loader hooks are for the test process, not for the product
    const mb = this.net.spawn(this.serverNs, args, env);
    this.metalboot = mb;
    drain(mb, this.files.metalbootLog);
    await waitForLine(mb, /metalboot ready/, 30_000);
  }

  /** Registers an e2e cluster from talosctl's example configs, with the serial console for the stand-in. */
  async createCluster(c: {
    name: string;
    talosVersion: string;
    controlplane: string;
    worker: string;
    patches?: string[];
  }): Promise<void> {
    const r = await this.api('POST', '/clusters', {
      ...c,
      // The VMs' only console is the serial port; Talos images for VMs add the same argument.
      kernelArgs: ['console=ttyS0,115200'],
    });
    if (r.status !== 201) throw new Error(`POST /clusters ${c.name}: ${r.status} ${r.text}`);
  }

  metalbootAlive(): boolean {
    return this.metalboot?.exitCode === null;
  }
}

// ------------------------------------------------------------------ small utilities

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** Keeps a child's stdout+stderr flowing (a full pipe would stall it) into a log file. */
export function drain(child: ChildProcess, file: string): void {
  const out = createWriteStream(file, { flags: 'a' });
  child.stdout?.on('data', (d: Buffer) => out.write(d));
  child.stderr?.on('data', (d: Buffer) => out.write(d));
  child.once('close', () => out.end());
}

function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}: ${seen}`));
    });
  });
}

export function readOr(file: string, fallback = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return `(no ${file})`;
  return readOr(file)
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
