/**
 * Whether a cluster's machines could boot from what is pulled: its Talos version's kernel and
 * initramfs for its arch. `cluster create`/`edit` answer with a warning naming the exact pull
 * command, so a new user learns it then and not from a machine stuck at its first boot.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../core/types.js';

/** The warning when the files are missing, else undefined. The version must be validated already. */
export function missingTalosAssets(
  assetsDir: string,
  c: Pick<Cluster, 'talosVersion' | 'arch' | 'schematic'>,
): string | undefined {
  const dir = join(assetsDir, 'talos', c.talosVersion);
  const missing = [`vmlinuz-${c.arch}`, `initramfs-${c.arch}.xz`].filter((f) => !existsSync(join(dir, f)));
  if (!missing.length) return undefined;
  const pull = `metalboot assets pull talos --version ${c.talosVersion}${c.arch === 'amd64' ? '' : ` --arch ${c.arch}`}${c.schematic ? ` --schematic ${c.schematic}` : ''}`;
  return `no Talos ${c.talosVersion} ${c.arch} boot files on the server yet (${missing.join(', ')} missing): machines cannot boot until you run \`${pull}\` where the server's assets directory is`;
}
