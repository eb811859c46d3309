/**
 * The dry run: every hop of a network boot and what metalboot would answer, computed from the
 * machine and cluster records with the core's own decision functions, recording nothing.
 *
 * Pure over its inputs: everything server-specific (advertise URL, TFTP on or off, templates,
 * kernel-argument providers, renderer, asset lookup) is passed in, so the server runs it behind
 * `GET /api/v1/machines/:mac/preview` (BootService.preview) and `metalboot doctor --mac` runs the
 * very same function client-side against an older server. Which script a machine gets is
 * decideScript's answer, as for BootService.machineScript.
 */
import { parseAllDocuments } from 'yaml';
import { createHash } from 'node:crypto';
import { BOOT_SCRIPT_PATH, decideBoot, type BootDecision } from './boot-file.js';
import { buildCmdline } from '../config/cmdline.js';
import type { RenderResult } from '../config/render.js';
import { decideScript } from './script-decision.js';
import type { TemplateSet } from './templates.js';
import type { Cluster, Machine } from '../types.js';

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
const HTTP_BOOT = new Set([15, 16, 19]);

/** Stands in for the per-boot config token in previewed scripts and command lines. */
export const CONFIG_TOKEN_PLACEHOLDER = '<issued-per-boot>';

export async function buildBootPreview(
  req: BootPreviewRequest,
  m: Machine | undefined,
  c: Cluster | undefined,
  env: BootPreviewEnv,
): Promise<BootPreview> {
  const base = env.advertiseUrl.replace(/\/+$/, '');
  const known = m !== undefined && m.state !== 'discovered';
  const hops: PreviewHop[] = [];
  const preview: BootPreview = {
    mac: req.mac,
    archCode: req.archCode,
    archName: ARCH_NAMES[req.archCode] ?? `arch ${req.archCode}`,
    ipxe: req.ipxe,
    computedBy: env.computedBy,
    machine: m
      ? {
          state: m.state,
          installed: m.installed,
          reimage: m.reimage,
          cluster: m.cluster,
          role: m.role,
          hostname: m.hostname,
        }
      : null,
    outcome: 'no-boot',
    hops,
  };
  const vendorClass = `${HTTP_BOOT.has(req.archCode) ? 'HTTPClient' : 'PXEClient'}:Arch:${String(req.archCode).padStart(5, '0')}:UNDI:003016`;
  const client = { archs: [req.archCode], vendorClass, override: known ? (m.bootFile ?? undefined) : undefined };
  const server = { advertiseUrl: base, tftp: env.tftp };
  const answeredBy = (what: string) =>
    env.dhcpMode === 'off'
      ? `metalboot does not answer DHCP (--dhcp off): your DHCP server must offer ${what}`
      : env.dhcpMode === 'proxy'
        ? `proxyDHCP offer (your DHCP server gives the address): ${what}`
        : `offer of ${known && m.ip ? `the reserved address ${m.ip}` : 'an address from the pool'} with ${what}`;

  if (!req.ipxe) {
    const firmware = decideBoot({ ...client, isIpxe: false }, server);
    const request = `DHCPDISCOVER, option 93 = ${req.archCode} (${preview.archName}), vendor class ${vendorClass}`;
    if (firmware.kind === 'none') {
      hops.push({ step: 'dhcp', request, answer: 'no boot offer', ok: false, problem: firmware.reason });
      return preview;
    }
    hops.push({
      step: 'dhcp',
      request,
      answer: answeredBy(`boot file ${firmware.bootFile}${firmware.kind === 'tftp' ? ' (TFTP from this host)' : ''}`),
      ok: true,
      data: { ...firmware },
    });
    const binary =
      firmware.kind === 'http' ? firmware.bootFile.slice(firmware.bootFile.lastIndexOf('/') + 1) : firmware.bootFile;
    const size = await env.assetSize(`ipxe/${binary}`);
    hops.push({
      step: firmware.kind === 'http' ? 'http-boot' : 'tftp',
      request: firmware.kind === 'http' ? `HTTP GET ${firmware.bootFile}` : `TFTP read ${binary}`,
      answer:
        size !== undefined ? `assets/ipxe/${binary} (${size} bytes)` : `nothing: assets/ipxe/${binary} does not exist`,
      ok: size !== undefined,
      ...(size === undefined ? { problem: `assets/ipxe/${binary} is missing: ${missingIpxeHint(binary)}` } : {}),
      data: { file: binary },
    });
    if (size === undefined) return preview;
  }
  const ipxeAnswer = decideBoot({ ...client, isIpxe: true }, server) as Extract<BootDecision, { bootFile: string }>;
  hops.push({
    step: 'dhcp-ipxe',
    request: 'DHCP from iPXE (user class "iPXE")',
    answer: answeredBy(`boot file ${ipxeAnswer.bootFile}`),
    ok: true,
    data: { bootFile: ipxeAnswer.bootFile },
  });
  hops.push({
    step: 'boot-script',
    request: `GET ${base}${BOOT_SCRIPT_PATH}`,
    answer: 'the generic script: iPXE asks for its own script',
    ok: true,
    data: { script: env.templates.boot({ baseUrl: base }) },
  });

  // What iPXE reports as ${buildarch}/${platform}; the script's kernel arch follows it, as in BootService.
  const arch = ipxeAnswer.arch;
  const platform = ipxeAnswer.firmware;
  const buildarch = arch === 'arm64' ? 'arm64' : platform === 'pcbios' ? 'i386' : 'x86_64';
  const scriptRequest = `GET ${base}/ipxe?mac=${req.mac}&arch=${buildarch}&platform=${platform}`;
  const vars = { baseUrl: base, mac: req.mac, retrySeconds: env.discoveryRetrySeconds };
  const script = (kind: BootPreview['outcome'], answer: string, text: string, ok = true) => {
    preview.outcome = kind;
    hops.push({ step: 'machine-script', request: scriptRequest, answer, ok, data: { kind, script: text } });
  };
  const decision = decideScript(m, c);
  if (decision.kind === 'discovery' || !known) {
    script(
      'discovery',
      `discovery script: ${m ? 'still' : 'recorded as'} discovered, asks again in ${env.discoveryRetrySeconds} s; nothing is installed until you \`metalboot machine add ${req.mac} …\``,
      env.templates.discovery(vars),
    );
    return preview;
  }
  if (decision.kind === 'localboot') {
    const sanboot = m.localBoot === 'sanboot';
    script(
      'localboot',
      `boot from the local disk (${sanboot ? 'sanboot --drive 0x80' : 'iPXE exit'}): Talos is installed${m.reimage ? '' : '; `metalboot machine reimage` to install again'}`,
      env.templates.localboot({ ...vars, machine: m, sanboot }),
    );
    return preview;
  }
  if (decision.kind === 'unavailable') {
    const { reason } = decision;
    script(
      'unavailable',
      `"cannot boot yet" script (${reason}); retries every ${env.discoveryRetrySeconds} s`,
      env.templates.unavailable({ ...vars, reason }),
      false,
    );
    hops[hops.length - 1]!.problem = reason;
    return preview;
  }
  // Never a real token: the preview issues none, and its answer must not be one a machine could use.
  const configUrl = `${base}/config/${req.mac}?token=${CONFIG_TOKEN_PLACEHOLDER}`;
  // A reimage starts with one boot that only wipes (as BootService.machineScript): no config, no token.
  const wipe = decision.kind === 'wipe';
  const cluster = decision.cluster;
  const ownArgs = wipe ? ['talos.experimental.wipe=system'] : [`talos.config=${configUrl}`];
  const cmdline = buildCmdline(cluster.talosVersion, arch, cluster.kernelArgs, [
    ...env.extraKernelArgs(m, cluster),
    ...ownArgs,
  ]);
  const assets = `${base}/assets/talos/${cluster.talosVersion}`;
  const files = { kernel: `vmlinuz-${arch}`, initramfs: `initramfs-${arch}.xz` };
  const kernelVars = {
    kernelUrl: `${assets}/${files.kernel}`,
    initrdUrl: `${assets}/${files.initramfs}`,
    initrdName: files.initramfs,
    cmdline,
    wipe,
  };
  if (wipe) {
    script(
      'wipe',
      `wipe script (reimage, first boot): Talos ${cluster.talosVersion} ${arch} wipes its system partitions and reboots; the next network boot installs`,
      env.templates.install({ ...vars, machine: m, cluster, ...kernelVars }),
    );
  } else {
    script(
      'install',
      `install script: Talos ${cluster.talosVersion} ${arch}, ${m.role} of ${cluster.name}`,
      env.templates.install({ ...vars, machine: m, cluster, ...kernelVars }),
    );
  }
  for (const step of ['kernel', 'initramfs'] as const) {
    const size = await env.assetSize(`talos/${cluster.talosVersion}/${files[step]}`);
    hops.push({
      step,
      request: `GET ${assets}/${files[step]}`,
      answer: size !== undefined ? `${files[step]} (${size} bytes)` : '404',
      ok: size !== undefined,
      ...(size === undefined
        ? {
            problem: `assets/talos/${cluster.talosVersion}/${files[step]} is missing: metalboot assets pull talos --version ${cluster.talosVersion} --arch ${arch}`,
          }
        : {}),
      data:
        step === 'kernel'
          ? { url: `${assets}/${files[step]}`, cmdline: cmdline.split(' ') }
          : { url: `${assets}/${files[step]}` },
    });
  }
  if (!wipe) hops.push(await configHop(req, m, cluster, env, configUrl));
  return preview;
}

async function configHop(
  req: BootPreviewRequest,
  m: Machine,
  c: Cluster,
  env: BootPreviewEnv,
  url: string,
): Promise<PreviewHop> {
  const request = `GET ${url} (Talos; only from the address that fetched the script, within the token's lifetime)`;
  const result = await env.render(c, m);
  const recipe = {
    base: `${m.role} config of ${c.name}`,
    clusterPatches: c.patches.length,
    machinePatches: m.patches.length,
  };
  if (!result.ok) {
    return {
      step: 'config',
      request,
      answer: '503 (Talos keeps retrying): the rendered config is invalid',
      ok: false,
      problem: result.errors.join('; '),
      data: { ...recipe, errors: result.errors },
    };
  }
  const documents = parseAllDocuments(result.yaml).map((d) => {
    const j = d.toJS() as Record<string, unknown> | null;
    return j?.kind
      ? String(j.kind)
      : j?.version
        ? `${String(j.version)} (machine.type ${String((j.machine as { type?: unknown } | undefined)?.type)})`
        : '?';
  });
  const bytes = Buffer.byteLength(result.yaml);
  return {
    step: 'config',
    request,
    answer: `${m.hostname ?? m.mac}'s machine config: ${bytes} bytes, ${documents.length} document(s), valid${result.warnings.length ? ` with ${result.warnings.length} warning(s)` : ''}`,
    ok: true,
    data: {
      ...recipe,
      documents,
      bytes,
      sha256: createHash('sha256').update(result.yaml).digest('hex'),
      warnings: result.warnings,
      ...(req.includeConfig ? { yaml: result.yaml } : {}),
    },
  };
}

/** Debian's ipxe package (the default source of `assets pull ipxe`) has no arm64 build. */
function missingIpxeHint(binary: string): string {
  return /arm64/.test(binary)
    ? `Debian's ipxe package has no arm64 build; build or download one and run \`metalboot assets pull ipxe --from <dir>\` (or --mirror <base-url>) with ${binary} in it`
    : 'metalboot assets pull ipxe';
}
