/**
 * Assets per cluster: for every Talos version and arch some machine of a cluster will boot, are
 * the kernel and initramfs served, from the schematic the cluster names, with a config schema to
 * validate against? Asked of the server (HEAD, which records nothing) when it is up, so a server
 * started with another --assets-dir is caught; the local directory adds where files came from.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { schematicArgs } from '../assets/cmdline.js';
import { readManifest } from '../assets/manifest.js';
import { IPXE_BIOS, IPXE_EFI_X64 } from '../core/boot/boot-file.js';
import { bundledSchemaFile, bundledSchemas } from '../core/config/bundled-schemas.js';
import { parseTalosVersion } from '../core/config/cmdline.js';
import { ConfigRenderer } from '../core/config/render.js';
import { contractFor } from '../core/config/talos-contract.js';
import type { Arch, Cluster, Machine } from '../core/types.js';
import type { DoctorSettings } from './settings.js';
import type { Check, DoctorApi } from './types.js';

export async function assetChecks(
  s: DoctorSettings,
  clusters: Cluster[] | undefined,
  machines: Machine[],
  api: DoctorApi | undefined,
): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (status: Check['status'], message: string, hint?: string) =>
    checks.push({ area: 'assets', status, message, hint });
  if (!clusters)
    add(
      'info',
      'clusters unknown (server not reachable): nothing checked per cluster; `metalboot assets list` shows what is here',
    );
  else if (clusters.length === 0) add('info', 'no clusters yet: assets are checked per cluster');

  const renderer = new ConfigRenderer(s.assetsDir);
  for (const c of clusters ?? []) {
    const dir = join(s.assetsDir, 'talos', c.talosVersion);
    const arches = new Set<Arch>([
      c.arch,
      ...machines.filter((m) => m.cluster === c.name && m.lastSeen.arch).map((m) => m.lastSeen.arch!),
    ]);
    const manifest = readManifest(dir);
    for (const arch of arches) {
      const pull = `metalboot assets pull talos --version ${c.talosVersion} --arch ${arch}${c.schematic ? ` --schematic ${c.schematic}` : ''}`;
      const missing: string[] = [];
      for (const file of [`vmlinuz-${arch}`, `initramfs-${arch}.xz`]) {
        const served = api ? (await api.head(`/assets/talos/${c.talosVersion}/${file}`))?.status : undefined;
        const here = existsSync(join(dir, file));
        if (served === undefined ? !here : served !== 200) missing.push(file);
        else if (served === 200 && !here)
          add(
            'info',
            `${file} is served, but not in ${dir}: doctor and the server use different asset directories`,
            'pass doctor the --assets-dir of serve',
          );
      }
      const what = `${c.name} (Talos ${c.talosVersion}, ${arch})`;
      if (missing.length) {
        add('fail', `${what}: ${missing.join(' and ')} ${api ? 'not served' : `missing in ${dir}`}`, pull);
        continue;
      }
      add('ok', `${what}: kernel and initramfs ${api ? 'served' : 'present'}`);
      const from = manifest[`vmlinuz-${arch}`];
      if (from && (from.schematic ?? null) !== (c.schematic ?? null)) {
        const has = from.schematic ? `schematic ${from.schematic.slice(0, 12)}…` : 'the plain release files';
        const wants = c.schematic ? `schematic ${c.schematic.slice(0, 12)}…` : 'no schematic';
        add('warn', `${what}: ${dir} holds ${has}, the cluster names ${wants}`, pull);
      }
      if (c.schematic) {
        const args = schematicArgs(s.assetsDir, c.talosVersion, arch, c.schematic);
        const absent = 'extra' in args ? args.extra.filter((a) => !c.kernelArgs.includes(a)) : [];
        if (absent.length)
          add(
            'warn',
            `${what}: the schematic's kernel arguments ${absent.join(' ')} are not among the cluster's`,
            'recreate the cluster with --schematic (it adopts them) or add them with --kernel-arg',
          );
      }
    }
    checks.push(contractCheck(c), schemaCheck(c, dir), ...baseWarningsCheck(c, renderer));
    const partial = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.part')) : [];
    if (partial.length)
      add(
        'warn',
        `${dir}: interrupted downloads ${partial.join(', ')}`,
        `run the pull again to finish them: metalboot assets pull talos --version ${c.talosVersion}`,
      );
  }

  checks.push(...ipxeChecks(s, machines));
  return checks;
}

/**
 * What the cluster's base configs warn about for every machine (talosctl's `persist: true`): said
 * here and at cluster create/edit, once per cluster, not in each machine's config-delivered event.
 */
function baseWarningsCheck(c: Cluster, renderer: ConfigRenderer): Check[] {
  const roles = new Map<string, string[]>();
  for (const role of ['controlplane', 'worker'] as const) {
    let warnings: ReadonlySet<string>;
    try {
      warnings = renderer.clusterWarnings.of(c, role);
    } catch {
      continue; // no usable schema: schemaCheck says so
    }
    for (const w of warnings) roles.set(w, [...(roles.get(w) ?? []), role]);
  }
  return [...roles].map(([w, of]) => ({
    area: 'assets',
    status: 'warn',
    message: `${c.name}: every machine's config warns (from the ${of.join(' and ')} base config${of.length > 1 ? 's' : ''}): ${w}`,
    hint: `harmless while Talos accepts it; drop it from talosctl's output and \`metalboot cluster edit ${c.name} --from <dir>\` to silence it`,
  }));
}

/** Which Talos version contract renders the cluster's configs (talos-contract.ts). */
function contractCheck(c: Cluster): Check {
  const { contract, newerThanKnown } = contractFor(c.talosVersion);
  if (!newerThanKnown)
    return {
      area: 'assets',
      status: 'info',
      message: `${c.name}: Talos ${c.talosVersion} speaks the ${contract.since} contract: ${contract.summary}`,
    };
  const newest = bundledSchemas().at(-1);
  const against = newest ? `, corrected against the bundled v${newest.major}.${newest.minor} one` : '';
  return {
    area: 'assets',
    status: 'warn',
    message: `${c.name}: Talos ${c.talosVersion} is newer than every contract metalboot knows: configs are rendered with the newest, ${contract.since} (${contract.summary}), and validated with ${c.talosVersion}'s own schema${against}`,
    hint: 'check a machine’s config with `metalboot doctor --mac <mac> --show-config` before installing; a newer metalboot may know this version',
  };
}

function schemaCheck(c: Cluster, dir: string): Check {
  const file = join(dir, 'config.schema.json');
  if (existsSync(file)) return { area: 'assets', status: 'ok', message: `${c.name}: config schema ${file}` };
  const [major, minor] = parseTalosVersion(c.talosVersion);
  const pull = `metalboot assets pull talos --version ${c.talosVersion}`;
  if (bundledSchemaFile(major, minor))
    return {
      area: 'assets',
      status: 'warn',
      message: `${c.name}: no config schema for ${c.talosVersion}; configs are validated against the bundled v${major}.${minor} schema`,
      hint: `${pull} fetches the exact one`,
    };
  return {
    area: 'assets',
    status: 'fail',
    message: `${c.name}: no config schema for ${c.talosVersion}: its configs cannot be validated, so none are served`,
    hint: pull,
  };
}

/** iPXE binaries are what metalboot's DHCP offers and TFTP serves; per-machine overrides too. */
function ipxeChecks(s: DoctorSettings, machines: Machine[]): Check[] {
  const dir = join(s.assetsDir, 'ipxe');
  const needed = s.dhcpMode !== 'off' || s.tftp !== null;
  if (!needed) return [];
  const size = (f: string) => {
    try {
      return statSync(join(dir, f)).size;
    } catch {
      return 0;
    }
  };
  const checks: Check[] = [];
  const missing = [IPXE_BIOS, IPXE_EFI_X64].filter((f) => size(f) === 0);
  if (missing.length) {
    checks.push({
      area: 'assets',
      status: s.dhcpMode !== 'off' ? 'fail' : 'warn',
      message: `${dir}: ${missing.join(', ')} missing, so firmware PXE clients cannot load iPXE`,
      hint: 'metalboot assets pull ipxe (from /usr/lib/ipxe, Debian package ipxe)',
    });
  } else checks.push({ area: 'assets', status: 'ok', message: `${dir}: ${IPXE_BIOS} and ${IPXE_EFI_X64} present` });
  for (const m of machines.filter((x) => x.bootFile && size(x.bootFile) === 0)) {
    checks.push({
      area: 'assets',
      status: 'fail',
      message: `${m.hostname ?? m.mac} boots ${m.bootFile}, which is not in ${dir}`,
      hint: `copy it there, or \`metalboot machine edit ${m.mac} --no-boot-file\``,
    });
  }
  return checks;
}
