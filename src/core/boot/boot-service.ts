/**
 * BootService, the HTTP half of a network boot: which script a machine gets (the Talos scripts
 * in talos-script.ts), its config (config-delivery.ts), the preview, asset downloads on the
 * timeline. The shared types are in boot-types.ts and re-exported here for the adapters.
 */
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Store } from '../ports/types.js';
import { tryParseMac } from '../registry/mac.js';
import { bindingRefusedScript } from './binding-script.js';
import type { ConfigGuard } from '../binding/config-guard.js';
import type { MachineService } from '../registry/machines.js';
import { buildBootPreview, type BootPreview, type BootPreviewRequest } from './preview.js';
import type { ConfigRenderer } from '../config/render.js';
import { decideScript, needsCluster } from './script-decision.js';
import type { TemplateSet } from './templates.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Arch, SeenFacts } from '../types.js';
import { normaliseUuid } from '../registry/uuid.js';
import type {
  AssetPhase,
  BootDeps,
  BootNetwork,
  BootSettings,
  ConfigResult,
  KernelArgProvider,
  MachineScriptRequest,
  ScriptKind,
} from './boot-types.js';
import { deliverConfig } from './config-delivery.js';
import { talosScript } from './talos-script.js';

export type {
  AssetPhase,
  BootNetwork,
  BootSettings,
  ConfigRefused,
  ConfigResult,
  KernelArgProvider,
  MachineScriptRequest,
  ScriptKind,
} from './boot-types.js';
export { hashToken, newToken } from './config-token.js';

export function ipxeArch(buildarch: string | undefined): Arch | undefined {
  if (buildarch === 'x86_64' || buildarch === 'i386') return 'amd64';
  if (buildarch === 'arm64') return 'arm64';
  return undefined;
}

/**
 * The HTTP half of a network boot, transport-agnostic: which script a machine gets, which
 * kernel line, and whether it may have its config. Adapters pass in what they saw (source IP,
 * query) and write out what comes back.
 */
export class BootService {
  /** The constructor's arguments as one object, for talos-script.ts and config-delivery.ts. */
  private readonly deps: BootDeps;

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
  ) {
    this.deps = { store, timeline, machines, renderer, templates, settings, guard, kernelArgProviders };
  }

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
    return talosScript(this.deps, decision.kind, req, seen, base, machine, decision.cluster);
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
   * the timeline once per audit entry: configs carry the cluster's keys (config-delivery.ts).
   */
  fetchConfig(macInput: string, token: string | undefined, sourceIp: string): Promise<ConfigResult> {
    return deliverConfig(this.deps, macInput, token, sourceIp);
  }
}
