import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Store } from '../store/types.js';
import { buildCmdline } from '../config/cmdline.js';
import { inInstallWindow } from '../timeline/lifecycle.js';
import { tryParseMac } from '../registry/mac.js';
import { bindingRefusedScript } from './binding-script.js';
import type { ConfigGuard } from '../binding/config-guard.js';
import type { MachineService } from '../registry/machines.js';
import { buildBootPreview, type BootPreview, type BootPreviewRequest } from './preview.js';
import type { ConfigRenderer } from '../config/render.js';
import { decideScript, needsCluster, type ScriptKind } from './script-decision.js';
import type { TemplateSet } from './templates.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Arch, Cluster, Machine, SeenFacts } from '../types.js';
import { normaliseUuid } from '../registry/uuid.js';

export interface BootSettings {
  /** Base URL machines are told to use, no trailing slash (`http://10.0.0.1:8080`). */
  advertiseUrl: string;
  /** How long a per-boot config token stays valid (Talos retries a non-200 for ~3 h). */
  configTokenTtlMs: number;
  /** How long an unknown machine waits before asking again. */
  discoveryRetrySeconds: number;
}

/** What iPXE told us about itself (query of /ipxe), already URL-decoded. */
export interface MachineScriptRequest {
  mac: string;
  uuid?: string;
  serial?: string;
  arch?: string; // iPXE ${buildarch}: i386, x86_64, arm64
  platform?: string; // iPXE ${platform}: pcbios, efi
  sourceIp: string;
}

export type { ScriptKind } from './script-decision.js';

export type ConfigRefused = { status: 400 | 403 | 404 | 503; error: string; message: string };
export type ConfigResult = { status: 200; body: string; warnings: string[] } | ConfigRefused;

/** How a kernel or initramfs download went, as its timeline event says (`kernel-download-<phase>`). */
export type AssetPhase = 'started' | 'completed' | 'range-sent' | 'not-modified' | 'aborted' | 'refused';

/**
 * Extra kernel arguments contributed by other parts of metalboot (event sink, kernel log).
 * Must be pure: BootService.preview calls them too, and a preview records nothing.
 */
export type KernelArgProvider = (m: Machine, c: Cluster) => string[];

/** What the network side of a boot looks like: whether TFTP runs, how DHCP is answered. */
export interface BootNetwork {
  tftp: boolean;
  dhcpMode: 'off' | 'proxy' | 'authoritative';
}

export function ipxeArch(buildarch: string | undefined): Arch | undefined {
  if (buildarch === 'x86_64' || buildarch === 'i386') return 'amd64';
  if (buildarch === 'arm64') return 'arm64';
  return undefined;
}

export const hashToken = (token: string) => hash('sha256', token, 'hex');

/**
 * 256-bit config tokens from the system CSPRNG, drawn 4 KiB at a time: one `randomBytes(32)` per
 * install script was the largest crypto cost of the boot path (~2 µs against ~0.1). Each byte is
 * handed out once.
 */
const tokenPool = Buffer.alloc(4096);
let tokenPoolUsed = tokenPool.length;
export function newToken(): string {
  if (tokenPoolUsed + 32 > tokenPool.length) {
    randomFillSync(tokenPool);
    tokenPoolUsed = 0;
  }
  const token = tokenPool.toString('base64url', tokenPoolUsed, tokenPoolUsed + 32);
  tokenPoolUsed += 32;
  return token;
}

/** Compares two token hashes without an early exit (hex strings of the same length). */
function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * The HTTP half of a network boot, transport-agnostic: which script a machine gets, which
 * kernel line, and whether it may have its config. Adapters pass in what they saw (source IP,
 * query) and write out what comes back.
 */
export class BootService {
  /**
   * `kernelArgProviders`: fixed at construction, from createCore's options; the composition root
   * (server.ts) passes the Talos listeners' (event sink, kernel log).
   */
  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly machines: MachineService,
    private readonly renderer: ConfigRenderer,
    private readonly templates: TemplateSet,
    private readonly settings: BootSettings,
    readonly guard: ConfigGuard,
    private readonly kernelArgProviders: readonly KernelArgProvider[] = [],
  ) {}

  /** The URL machines reach metalboot at; the Talos listeners advertise its host. */
  get advertiseUrl(): string {
    return this.settings.advertiseUrl;
  }

  /** `/boot.ipxe`: identical for everyone; attributed to a machine only if we know its address. */
  async genericScript(sourceIp: string): Promise<string> {
    const m = await this.store.machines.findByIp(sourceIp);
    if (m) await this.timeline.record(m, 'boot-script', {}, { sourceIp, signal: 'boot-script' });
    return this.templates.boot({ baseUrl: this.settings.advertiseUrl });
  }

  async machineScript(req: MachineScriptRequest): Promise<{ kind: ScriptKind; script: string }> {
    const mac = tryParseMac(req.mac)!; // the adapter validated the query
    const seen: SeenFacts = {
      ip: req.sourceIp,
      arch: ipxeArch(req.arch),
      firmware: req.platform === 'efi' || req.platform === 'pcbios' ? req.platform : undefined,
      platform: req.platform || undefined,
      uuid: req.uuid ? normaliseUuid(req.uuid) : undefined,
      serial: req.serial || undefined,
    };
    const machine = await this.machines.forBoot(mac, seen.uuid);
    // The config URL and everything after it use the machine's own MAC, whichever NIC booted.
    const base = {
      baseUrl: this.settings.advertiseUrl,
      mac: machine?.mac ?? mac,
      retrySeconds: this.settings.discoveryRetrySeconds,
    };
    const cluster = needsCluster(machine) ? await this.store.clusters.get(machine.cluster) : undefined;
    const decision = decideScript(machine, cluster);
    if (decision.kind === 'discovery' || !machine) {
      if (!machine) await this.machines.discover(mac, seen);
      else {
        await this.machines.noteSeen(machine, seen);
        await this.timeline.record(machine, 'machine-script', { script: 'discovery' }, { sourceIp: req.sourceIp });
      }
      return { kind: 'discovery', script: this.templates.discovery(base) };
    }
    if (decision.kind === 'install' || decision.kind === 'wipe') {
      // Both touch the machine's token (issue, or revoke for the wipe): only for a request tied
      // to the machine on the wire. A refused one changes nothing about the machine.
      const verdict = await this.guard.checkScript(mac, machine, req.sourceIp);
      if (!verdict.tied)
        return {
          kind: 'refused',
          script: bindingRefusedScript({ baseUrl: this.settings.advertiseUrl, mac, reason: verdict.reason }),
        };
    }
    await this.machines.noteSeen(machine, seen);
    if (decision.kind === 'localboot') {
      await this.timeline.record(
        machine,
        'machine-script',
        { script: 'localboot', method: machine.localBoot },
        { sourceIp: req.sourceIp, signal: 'localboot-script' },
      );
      return {
        kind: 'localboot',
        script: this.templates.localboot({ ...base, machine, sanboot: machine.localBoot === 'sanboot' }),
      };
    }
    if (decision.kind === 'unavailable') {
      const { reason } = decision;
      await this.timeline.record(
        machine,
        'machine-script',
        { script: 'unavailable', reason },
        { sourceIp: req.sourceIp },
      );
      return { kind: 'unavailable', script: this.templates.unavailable({ ...base, reason }) };
    }
    return this.talosScript(decision.kind, req, seen, base, machine, decision.cluster);
  }

  /** The scripts that boot Talos: the wipe boot of a reimage (no config, no token) or the install. */
  private async talosScript(
    kind: 'wipe' | 'install',
    req: MachineScriptRequest,
    seen: SeenFacts,
    base: { baseUrl: string; mac: string; retrySeconds: number },
    machine: Machine,
    cluster: Cluster,
  ): Promise<{ kind: ScriptKind; script: string }> {
    const { mac } = base;
    const arch = seen.arch ?? cluster.arch;
    const assets = `${this.settings.advertiseUrl}/assets/talos/${cluster.talosVersion}`;
    const kernel = {
      kernelUrl: `${assets}/vmlinuz-${arch}`,
      initrdUrl: `${assets}/initramfs-${arch}.xz`,
      initrdName: `initramfs-${arch}.xz`,
    };
    const providedArgs = this.kernelArgProviders.flatMap((p) => p(machine, cluster));
    if (kind === 'wipe') {
      // Reimage, first boot: Talos wipes STATE/EPHEMERAL and reboots. Without this, a PXE-booted
      // Talos finds the old STATE and skips the install. No config (and no token) for this boot.
      await this.store.tokens.revokeForMachine(mac);
      await this.machines.noteWipe(mac, 'served');
      const script = this.templates.install({
        ...base,
        machine,
        cluster,
        ...kernel,
        wipe: true,
        cmdline: buildCmdline(cluster.talosVersion, arch, cluster.kernelArgs, [
          ...providedArgs,
          'talos.experimental.wipe=system',
        ]),
      });
      await this.timeline.record(
        machine,
        'machine-script',
        { script: 'wipe', wipe: machine.reimage?.wipe, talosVersion: cluster.talosVersion, arch },
        { sourceIp: req.sourceIp, state: 'wiping' },
      );
      return { kind: 'wipe', script };
    }
    const token = newToken();
    const now = this.timeline.now();
    await this.store.tokens.issue({
      tokenHash: hashToken(token),
      mac,
      sourceIp: req.sourceIp,
      createdAt: now,
      expiresAt: new Date(Date.parse(now) + this.settings.configTokenTtlMs).toISOString(),
    });
    const configUrl = `${this.settings.advertiseUrl}/config/${mac}?token=${token}`;
    const ownArgs = [...providedArgs, `talos.config=${configUrl}`];
    const script = this.templates.install({
      ...base,
      machine,
      cluster,
      ...kernel,
      wipe: false,
      cmdline: buildCmdline(cluster.talosVersion, arch, cluster.kernelArgs, ownArgs),
    });
    await this.timeline.record(
      machine,
      'machine-script',
      { script: 'install', talosVersion: cluster.talosVersion, arch, firmware: seen.firmware ?? null },
      { sourceIp: req.sourceIp, signal: 'install-script' },
    );
    return { kind: 'install', script };
  }

  /**
   * The dry run of a machine's boot as this server would answer it (`metalboot doctor --mac`):
   * the same decision as machineScript, the same kernel-argument providers and renderer.
   * Strictly read-only: it does not discover the machine, note what it saw, record anything on
   * the timeline or in the audit log, issue or revoke a config token, or mark a wipe as served.
   * The config URL carries a placeholder, never a usable token; the rendered config itself is
   * included only when `req.includeConfig` (the caller holds the admin token).
   */
  async preview(req: BootPreviewRequest, net: BootNetwork, assetsDir: string): Promise<BootPreview> {
    const machine = await this.store.machines.get(req.mac);
    const cluster = machine?.cluster ? await this.store.clusters.get(machine.cluster) : undefined;
    const root = resolve(assetsDir);
    return buildBootPreview(req, machine, cluster, {
      advertiseUrl: this.settings.advertiseUrl,
      tftp: net.tftp,
      dhcpMode: net.dhcpMode,
      discoveryRetrySeconds: this.settings.discoveryRetrySeconds,
      templates: this.templates,
      extraKernelArgs: (m, c) => this.kernelArgProviders.flatMap((p) => p(m, c)),
      render: (c, m) => this.renderer.render(c, m),
      assetSize: async (path) => {
        const file = resolve(root, path);
        if (!file.startsWith(root + sep)) return undefined; // only what /assets/ (and TFTP) could serve
        return stat(file).then(
          (st) => (st.isFile() ? st.size : undefined),
          () => undefined,
        );
      },
      computedBy: 'server',
    });
  }

  /**
   * A Talos asset was requested or fully sent. Firmware sends no identity with it, so the machine
   * is the one that last booted from that address.
   */
  async assetTransfer(
    sourceIp: string,
    file: string,
    phase: AssetPhase,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const kind = /^(vmlinuz|kernel)-/.test(file) ? 'kernel' : /^initramfs-/.test(file) ? 'initramfs' : undefined;
    if (!kind) return;
    const m = await this.store.machines.findByIp(sourceIp);
    if (!m) return;
    await this.timeline.record(
      m,
      `${kind}-download-${phase}`,
      { file, ...detail },
      {
        sourceIp,
        signal: phase === 'completed' ? kind : undefined,
      },
    );
    // The wipe kernel has everything it needs: the next network boot comes after the wipe.
    if (phase === 'completed' && kind === 'initramfs' && m.reimage?.wipeServedAt && !m.reimage.wipeBootedAt)
      await this.machines.noteWipe(m.mac, 'booted');
  }

  /**
   * The config URL. Every refusal is audited (coalesced per source and reason per minute) and on
   * the timeline once per audit entry: configs carry the cluster's keys.
   */
  async fetchConfig(macInput: string, token: string | undefined, sourceIp: string): Promise<ConfigResult> {
    const mac = tryParseMac(macInput);
    const refuse = async (status: 400 | 403 | 404, reason: string, onTimeline: boolean): Promise<ConfigRefused> => {
      await this.guard.refuseConfig(mac ?? null, sourceIp, reason, onTimeline);
      return {
        status,
        error: status === 404 ? 'not_found' : status === 400 ? 'validation' : 'forbidden',
        message: `config refused: ${reason}`,
      };
    };
    if (!mac) return refuse(400, 'malformed MAC address in the config URL', false);
    const machine = await this.store.machines.get(mac);
    if (!machine || machine.state === 'discovered') return refuse(404, 'unknown machine', true);
    await this.guard.checkConfigRequest(mac, sourceIp);
    const t = token ? await this.store.tokens.forMachine(mac) : undefined;
    if (!t || !sameHash(t.tokenHash, hashToken(token!)))
      return token ? refuse(403, 'wrong token', true) : refuse(403, 'no token', true);
    if (Date.parse(t.expiresAt) <= this.timeline.clockMs()) return refuse(403, 'token expired', true);
    // The address stays out of the reason (coalesced by it); the message names it for the client.
    if (t.sourceIp !== sourceIp) {
      const refused = await refuse(
        403,
        'request from another address than the one the boot script was fetched from',
        true,
      );
      return {
        ...refused,
        message: `config refused: request from ${sourceIp}, but the boot script was fetched from ${t.sourceIp}`,
      };
    }
    if (!inInstallWindow(machine)) return refuse(403, 'machine is installed and not being reimaged', true);
    const cluster = machine.cluster ? await this.store.clusters.get(machine.cluster) : undefined;
    if (!cluster) return refuse(404, 'machine has no cluster', true);
    const result = await this.renderer.render(cluster, machine);
    if (!result.ok) {
      await this.timeline.record(machine, 'config-invalid', { errors: result.errors }, { sourceIp });
      await this.timeline.audit({
        actor: 'machine',
        action: 'config.invalid',
        target: mac,
        detail: { errors: result.errors },
        sourceIp,
      });
      return {
        status: 503,
        error: 'config_invalid',
        message: `rendered config is invalid, not served: ${result.errors.join('; ')}`,
      };
    }
    const bytes = Buffer.byteLength(result.yaml);
    this.guard.delivered(mac, t.tokenHash, sourceIp);
    await this.timeline.record(
      machine,
      'config-delivered',
      { bytes, warnings: result.warnings },
      { sourceIp, signal: 'config' },
    );
    await this.timeline.audit({
      actor: 'machine',
      action: 'config.delivered',
      target: mac,
      detail: { bytes },
      sourceIp,
    });
    return { status: 200, body: result.yaml, warnings: result.warnings };
  }
}
