/**
 * Where the dry run comes from: the server's own preview (`GET /api/v1/machines/:mac/preview`,
 * exact, including what server-side providers add), or — on a server without that route — computed
 * here from the machine and cluster records with the same core functions, against the local
 * settings and templates. Either way nothing is recorded: only GET and HEAD requests are made.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigRenderer } from '../core/config/render.js';
import { loadTemplates } from '../core/boot/templates.js';
import type { Cluster, Machine } from '../core/types.js';
import { buildBootPreview, type BootPreview, type BootPreviewRequest } from '../core/boot/preview.js';
import type { DoctorSettings } from './settings.js';
import type { DoctorApi } from './types.js';

export async function previewBoot(
  req: BootPreviewRequest,
  api: DoctorApi | undefined,
  s: DoctorSettings,
): Promise<BootPreview> {
  if (api) {
    const q = `arch=${req.archCode}&ipxe=${req.ipxe ? 1 : 0}&config=${req.includeConfig ? 1 : 0}`;
    const fromServer = await api.find<BootPreview>(`/machines/${req.mac}/preview?${q}`);
    if (fromServer) return fromServer;
  }
  const machine = api ? await api.find<Machine>(`/machines/${req.mac}`) : undefined;
  const cluster =
    api && machine?.cluster ? await api.find<Cluster>(`/clusters/${encodeURIComponent(machine.cluster)}`) : undefined;
  const renderer = new ConfigRenderer(s.assetsDir);
  return buildBootPreview(req, machine, cluster, {
    advertiseUrl: s.advertiseUrl,
    tftp: s.tftp !== null,
    dhcpMode: s.dhcpMode,
    discoveryRetrySeconds: s.discoveryRetrySeconds,
    templates: loadTemplates(s.templatesDir),
    extraKernelArgs: () => [],
    render: (c, m) => renderer.render(c, m),
    // Ask the server what it serves (HEAD records nothing); without a server, look locally.
    assetSize: async (path) => {
      if (api) {
        const r = await api.head(`/assets/${path}`);
        if (r) return r.status === 200 ? (r.size ?? 0) : undefined;
      }
      return stat(join(s.assetsDir, path)).then(
        (st) => (st.isFile() ? st.size : undefined),
        () => undefined,
      );
    },
    computedBy: 'cli',
  });
}

/** The dry run for people: numbered hops, what is asked, what is answered, and the payloads. */
export function formatPreview(p: BootPreview, opts: { scripts: boolean }): string {
  const out: string[] = [];
  const who = p.machine
    ? `${p.machine.hostname ? `${p.machine.hostname} (${p.mac}, ` : `${p.mac} (`}${p.machine.state}${p.machine.cluster ? `, ${p.machine.role ?? 'no role'} of ${p.machine.cluster}` : ''})`
    : `${p.mac} (unknown to metalboot)`;
  out.push(
    `dry run: ${who} booting as ${p.archName} (arch ${p.archCode})${p.ipxe ? ', already running iPXE' : ''} — nothing was recorded or changed`,
  );
  if (p.computedBy === 'cli') {
    out.push(
      "computed by this CLI from the server's records, the local settings and templates; arguments and config documents that server-side parts add (event sink, kernel log, wipe) are not shown",
    );
  }
  out.push('');
  p.hops.forEach((h, i) => {
    out.push(`${i + 1}. ${label(h.step)}${h.ok ? '' : '  ✗'}`);
    out.push(`   asks:    ${h.request}`);
    out.push(`   answer:  ${h.answer}`);
    if (h.problem) out.push(`   problem: ${h.problem}`);
    const d = h.data ?? {};
    if (Array.isArray(d.cmdline)) out.push(`   cmdline: ${(d.cmdline as string[]).join(' ')}`);
    if (h.step === 'config' && h.ok) {
      out.push(
        `   config:  ${String(d.base)} + ${String(d.clusterPatches)} cluster patch(es) + ${String(d.machinePatches)} machine patch(es); documents: ${(d.documents as string[]).join(', ')}; sha256 ${String(d.sha256).slice(0, 16)}…`,
      );
      for (const w of (d.warnings as string[] | undefined) ?? []) out.push(`   warning: ${w}`);
    }
    if (typeof d.script === 'string' && (opts.scripts || h.step === 'machine-script'))
      out.push(indent(d.script, '   │ '));
    if (typeof d.yaml === 'string') out.push(indent(d.yaml, '   │ '));
  });
  out.push('');
  const broken = p.hops.findIndex((h) => !h.ok);
  const hop = p.hops[broken];
  out.push(
    hop
      ? `outcome: the boot breaks at step ${broken + 1} (${label(hop.step)}): ${hop.problem ?? hop.answer}`
      : `outcome: ${OUTCOMES[p.outcome]}`,
  );
  return out.join('\n');
}

const OUTCOMES: Record<BootPreview['outcome'], string> = {
  install: 'Talos installs (the config is rendered and valid)',
  wipe: 'Talos wipes the old installation and reboots; the next network boot installs',
  localboot: 'the machine boots Talos from its disk',
  discovery: 'the machine waits to be registered',
  unavailable: 'the machine waits: it cannot be installed yet',
  'no-boot': 'the machine does not boot from the network',
};

function label(step: BootPreview['hops'][number]['step']): string {
  return {
    dhcp: 'DHCP (firmware)',
    tftp: 'TFTP (firmware loads iPXE)',
    'http-boot': 'UEFI HTTP boot (firmware loads iPXE)',
    'dhcp-ipxe': 'DHCP (iPXE)',
    'boot-script': 'boot script',
    'machine-script': 'machine script',
    kernel: 'kernel',
    initramfs: 'initramfs',
    config: 'machine config',
  }[step];
}

const indent = (text: string, prefix: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `${prefix}${l}`)
    .join('\n');
