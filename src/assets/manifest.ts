/**
 * `.metalboot-assets.json` in each asset directory: where every file came from and its sha512.
 * It lets `assets list` say "release" or "factory <schematic>", lets a repeated pull skip files
 * that are already right, and lets `assets list --verify` and `doctor` notice later corruption.
 * A dotfile, so the HTTP server (which refuses dotfiles) never hands it to a machine.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MANIFEST_FILE = '.metalboot-assets.json';

export type AssetSource = 'release' | 'factory' | 'schema' | 'ipxe-dir' | 'ipxe-mirror';

export interface AssetRecord {
  source: AssetSource;
  /** URL or local path it was copied from. */
  from: string;
  size: number;
  sha512: string;
  /** How it was checked when pulled: `sha512sum.txt`, `format`, `json`, `copied`. */
  checkedBy: string;
  schematic?: string;
  pulledAt: string;
}

export type Manifest = Record<string, AssetRecord>;

export function readManifest(dir: string): Manifest {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Manifest) : {};
  } catch {
    return {}; // none yet, or unreadable: files are then of unknown origin, which is not an error
  }
}

/** Read-modify-write with a rename, so a crash never leaves half a manifest. `forget`: files no longer there. */
export async function recordAssets(dir: string, records: Manifest, forget: readonly string[] = []): Promise<void> {
  const merged = { ...readManifest(dir), ...records };
  for (const file of forget) delete merged[file];
  const tmp = join(dir, `${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(merged, null, 2)}\n`);
  await rename(tmp, join(dir, MANIFEST_FILE));
}
