/**
 * What a boot preview is made of (the request, the server-specific environment, the hops it
 * answers with) and the DHCP architecture names: the contract between preview.ts, BootService
 * and `metalboot doctor`, apart from the code that computes it. preview.ts re-exports it.
 */
import type { RenderResult } from '../config/render.js';
import type { Cluster, Machine } from '../types.js';
import type { TemplateSet } from './templates.js';

export interface BootPreviewRequest {
  /** Normalised aa:bb:cc:dd:ee:ff. */
  mac: string;
  /** DHCP option 93 client architecture (0 BIOS, 7 x86-64 UEFI, 11 arm64 UEFI, 16 x86-64 UEFI HTTP…). */
  archCode: number;
  /** The client is iPXE already (NIC ROM or chained): start at its DHCP request. */
  ipxe: boolean;
  /** Include the rendered config YAML (it holds the cluster's secrets). */
  includeConfig: boolean;
}

export interface BootPreviewEnv {
  advertiseUrl: string;
  tftp: boolean;
  dhcpMode: 'off' | 'proxy' | 'authoritative';
  discoveryRetrySeconds: number;
  templates: TemplateSet;
  /** Arguments other parts of metalboot add (event sink, kernel log, wipe): the kernel-argument providers createCore was given (BootService). */
  extraKernelArgs(m: Machine, c: Cluster): string[];
  render(c: Cluster, m: Machine): Promise<RenderResult>;
  /** Size of a file under the assets directory (`talos/v1.13.9/vmlinuz-amd64`, `ipxe/ipxe.efi`), undefined if absent. */
  assetSize(path: string): Promise<number | undefined>;
  /** Who computed it: `server` when served by the API, `cli` when doctor computed it from records. */
  computedBy: 'server' | 'cli';
}

export type PreviewStep =
  | 'dhcp'
  | 'tftp'
  | 'http-boot'
  | 'dhcp-ipxe'
  | 'boot-script'
  | 'machine-script'
  | 'kernel'
  | 'initramfs'
  | 'config';

export interface PreviewHop {
  step: PreviewStep;
  /** What the machine sends, in words. */
  request: string;
  /** What metalboot answers, in words. */
  answer: string;
  /** false: the boot breaks here (`problem` says why). */
  ok: boolean;
  problem?: string;
  /** The exact payload: boot file, script text, command line, config summary. */
  data?: Record<string, unknown>;
}

export interface BootPreview {
  mac: string;
  archCode: number;
  archName: string;
  ipxe: boolean;
  computedBy: 'server' | 'cli';
  machine: Pick<Machine, 'state' | 'installed' | 'reimage' | 'cluster' | 'role' | 'hostname'> | null;
  /** Where the chain ends: Talos installs, wipes for a reimage, the disk boots, the machine waits, or nothing boots. */
  outcome: 'install' | 'wipe' | 'localboot' | 'discovery' | 'unavailable' | 'no-boot';
  hops: PreviewHop[];
}

export const ARCH_NAMES: Record<number, string> = {
  0: 'x86 BIOS',
  6: 'x86 UEFI',
  7: 'x86-64 UEFI',
  9: 'x86-64 UEFI',
  10: 'ARM32 UEFI',
  11: 'ARM64 UEFI',
  15: 'x86 UEFI HTTP',
  16: 'x86-64 UEFI HTTP',
  19: 'ARM64 UEFI HTTP',
};
