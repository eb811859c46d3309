/**
 * What the assets directory holds, as `assets list` and `doctor` see it: per Talos version and
 * arch the kernel, initramfs and factory cmdline, the schema, iPXE binaries, and leftover
 * `.part` files of interrupted pulls. With `verify`, every file with a manifest entry is hashed
 * again and compared.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from '../core/types.js';
import { sha512File } from './checksums.js';
import { IPXE_FILES } from './ipxe.js';
import { readManifest, type Manifest } from './manifest.js';
import { ARCHES } from './talos.js';

export interface AssetFile {
  file: string;
  size: number;
  /** `release`, `factory`, `schema`, `ipxe-dir`, `ipxe-mirror`; absent when put there by hand. */
  source?: string;
  schematic?: string;
  /** With verify: `ok`, `mismatch` (changed since pulled), or `unknown` (no record to compare with). */
  verified?: 'ok' | 'mismatch' | 'unknown';
}

export interface TalosArchAssets {
  arch: Arch;
  kernel?: AssetFile;
  initramfs?: AssetFile;
  cmdline?: AssetFile;
}

export interface TalosVersionAssets {
  version: string;
  dir: string;
  arches: TalosArchAssets[];
  schema?: AssetFile;
  /** Interrupted downloads (`*.part`): the next pull resumes them. */
  partial: string[];
}

export interface AssetInventory {
  assetsDir: string;
  talos: TalosVersionAssets[];
  ipxe: AssetFile[];
}

export async function assetInventory(assetsDir: string, opts: { verify?: boolean } = {}): Promise<AssetInventory> {
  const talosRoot = join(assetsDir, 'talos');
  const versions = existsSync(talosRoot)
    ? readdirSync(talosRoot, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort(compareVersions)
    : [];
  const talos: TalosVersionAssets[] = [];
  for (const version of versions) {
    const dir = join(talosRoot, version);
    const manifest = readManifest(dir);
    const file = (name: string) => describe(dir, name, manifest, opts.verify);
    const arches: TalosArchAssets[] = [];
    for (const arch of ARCHES) {
      const entry = {
        arch,
        kernel: await file(`vmlinuz-${arch}`),
        initramfs: await file(`initramfs-${arch}.xz`),
        cmdline: await file(`cmdline-metal-${arch}`),
      };
      if (entry.kernel || entry.initramfs || entry.cmdline) arches.push(entry);
    }
    const partial = readdirSync(dir).filter((f) => f.endsWith('.part'));
    talos.push({ version, dir, arches, schema: await file('config.schema.json'), partial });
  }
  const ipxeDir = join(assetsDir, 'ipxe');
  const ipxeManifest = readManifest(ipxeDir);
  const ipxeNames = existsSync(ipxeDir)
    ? readdirSync(ipxeDir).filter((f) => !f.startsWith('.') && !f.endsWith('.part'))
    : [];
  const known = IPXE_FILES.map((f) => f.file);
  const ipxe: AssetFile[] = [];
  for (const name of [
    ...known.filter((f) => ipxeNames.includes(f)),
    ...ipxeNames.filter((f) => !known.includes(f)).sort(),
  ]) {
    const f = await describe(ipxeDir, name, ipxeManifest, opts.verify);
    if (f) ipxe.push(f);
  }
  return { assetsDir, talos, ipxe };
}

async function describe(
  dir: string,
  name: string,
  manifest: Manifest,
  verify?: boolean,
): Promise<AssetFile | undefined> {
  const path = join(dir, name);
  let size: number;
  try {
    const s = statSync(path);
    if (!s.isFile()) return undefined;
    size = s.size;
  } catch {
    return undefined;
  }
  const rec = manifest[name];
  const out: AssetFile = {
    file: name,
    size,
    ...(rec ? { source: rec.source } : {}),
    ...(rec?.schematic ? { schematic: rec.schematic } : {}),
  };
  if (verify)
    out.verified = !rec ? 'unknown' : rec.size === size && (await sha512File(path)) === rec.sha512 ? 'ok' : 'mismatch';
  return out;
}

/** v1.9.0 before v1.13.9 before v1.13.10; anything else after, by name. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => /^v(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1).map(Number);
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return a.localeCompare(b);
}
