/**
 * The types BootService and its parts (talos-script.ts, config-delivery.ts) share: settings,
 * requests and results, and the services a boot works with. Its own file so the parts need not
 * import the class that imports them; boot-service.ts re-exports what adapters use.
 */
import type { ConfigGuard } from '../binding/config-guard.js';
import type { ConfigRenderer } from '../config/render.js';
import type { MachineService } from '../registry/machines.js';
import type { Store } from '../ports/types.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Cluster, Machine } from '../types.js';
import type { TemplateSet } from './templates.js';

export type { ScriptKind } from './script-decision.js';

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

export type ConfigRefused = { status: 400 | 403 | 404 | 503; error: string; message: string };
export type ConfigResult = { status: 200; body: string; warnings: string[] } | ConfigRefused;

/**
 * How a kernel or initramfs download went, as its timeline event says (`kernel-download-<phase>`).
 * `interrupted`: the HTTP worker process serving it died mid-transfer (the client retries with Range).
 */
export type AssetPhase =
  | 'started'
  | 'completed'
  | 'range-sent'
  | 'not-modified'
  | 'aborted'
  | 'refused'
  | 'interrupted';

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

/** What BootService's parts work with: its constructor's arguments, as one object. */
export interface BootDeps {
  readonly store: Store;
  readonly timeline: Timeline;
  readonly machines: MachineService;
  readonly renderer: ConfigRenderer;
  readonly templates: TemplateSet;
  readonly settings: BootSettings;
  readonly guard: ConfigGuard;
  readonly kernelArgProviders: readonly KernelArgProvider[];
}
