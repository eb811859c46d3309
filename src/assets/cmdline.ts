/**
 * How an Image Factory schematic's kernel arguments reach a cluster.
 *
 * The factory's `cmdline-metal-<arch>` is the whole command line its metal images carry: Talos's
 * metal defaults plus the schematic's `extraKernelArgs`. metalboot always puts the metal defaults
 * for the cluster's version first (src/core/config/cmdline.ts), so the cluster only needs the rest: those
 * become the cluster's `kernelArgs` when it is created with `--schematic` (before any
 * `--kernel-arg`, so an operator's own argument still wins).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { talosMetalArgs } from '../core/config/cmdline.js';
import type { Arch } from '../core/types.js';
import { readManifest } from './manifest.js';

export interface SchematicArgs {
  /** Arguments to add to the cluster. */
  extra: string[];
  /** Metal defaults the schematic dropped (`-arg` in the schematic); metalboot still sends them. */
  dropped: string[];
  file: string;
}

export function splitFactoryCmdline(cmdline: string, version: string, arch: Arch): Omit<SchematicArgs, 'file'> {
  const given = cmdline.trim().split(/\s+/).filter(Boolean);
  const defaults = talosMetalArgs(version, arch);
  return {
    extra: given.filter((a) => !defaults.includes(a) && !a.startsWith('initrd=')),
    dropped: defaults.filter((a) => !given.includes(a)),
  };
}

/**
 * The schematic's extra arguments from a pulled `cmdline-metal-<arch>`, or why there are none:
 * not pulled, or pulled for another schematic.
 */
export function schematicArgs(
  assetsDir: string,
  version: string,
  arch: Arch,
  schematic: string,
): SchematicArgs | { problem: string } {
  const dir = join(assetsDir, 'talos', version);
  const name = `cmdline-metal-${arch}`;
  const file = join(dir, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {
      problem: `${file} does not exist: pull it with \`metalboot assets pull talos --version ${version} --arch ${arch} --schematic ${schematic}\``,
    };
  }
  const pulledFor = readManifest(dir)[name]?.schematic;
  if (pulledFor && pulledFor !== schematic)
    return { problem: `${file} belongs to schematic ${pulledFor.slice(0, 12)}…, not ${schematic.slice(0, 12)}…` };
  return { ...splitFactoryCmdline(text, version, arch), file };
}
