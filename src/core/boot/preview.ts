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
import { BOOT_SCRIPT_PATH, decideBoot, type BootDecision } from './boot-file.js';
import { buildCmdline } from '../config/cmdline.js';
import { decideScript } from './script-decision.js';
import type { Cluster, Machine } from '../types.js';
import { configHop } from './preview-config-hop.js';
import {
  ARCH_NAMES,
  type BootPreview,
  type BootPreviewEnv,
  type BootPreviewRequest,
  type PreviewHop,
} from './preview-types.js';

export {
  ARCH_NAMES,
  type BootPreview,
  type BootPreviewEnv,
  type BootPreviewRequest,
  type PreviewHop,
  type PreviewStep,
} from './preview-types.js';

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

/** Debian's ipxe package (the default source of `assets pull ipxe`) has no arm64 build. */
function missingIpxeHint(binary: string): string {
  return /arm64/.test(binary)
    ? `Debian's ipxe package has no arm64 build; build or download one and run \`metalboot assets pull ipxe --from <dir>\` (or --mirror <base-url>) with ${binary} in it`
    : 'metalboot assets pull ipxe';
}
