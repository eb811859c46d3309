/**
 * `assets pull talos`: a Talos version's PXE files into `<assets>/talos/<version>/`, under the
 * GitHub release's names (`vmlinuz-<arch>`, `initramfs-<arch>.xz`), which is what the boot
 * scripts point at.
 *
 * Two upstream layouts, each with a replaceable base URL so an offline mirror works:
 * - release: `<base>/<v>/vmlinuz-<arch>`, `initramfs-<arch>.xz`, checked against `<base>/<v>/sha512sum.txt`;
 * - Image Factory: `<base>/image/<schematic>/<v>/kernel-<arch>`, `initramfs-<arch>.xz` and
 *   `cmdline-metal-<arch>` (the kernel arguments of that schematic, kept as a file of that name:
 *   see cmdline.ts). The factory publishes no checksums, so its files get a format check and
 *   their sha512 is recorded in the manifest for later verification.
 * Plus the config schema of that version from the Talos source tree at the tag.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTalosVersion } from '../core/config/cmdline.js';
import { loadSchema } from '../core/config/validate.js';
import type { Arch } from '../core/types.js';
import { parseChecksums, sha512, sha512File } from './checksums.js';
import { downloadVerified, fetchText, type ProgressSink } from './download.js';
import { AssetError } from './errors.js';
import type { AssetFormat } from './formats.js';
import { type AssetRecord, type Manifest, readManifest, recordAssets } from './manifest.js';

export const RELEASE_BASE = 'https://github.com/siderolabs/talos/releases/download';
export const FACTORY_BASE = 'https://factory.talos.dev';
export const SCHEMA_BASE = 'https://raw.githubusercontent.com/siderolabs/talos';
export const SCHEMA_PATH = 'pkg/machinery/config/schemas/config.schema.json';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];
const SCHEMATIC_RE = /^[0-9a-f]{64}$/;

export interface TalosPullRequest {
  assetsDir: string;
  version: string;
  arches: Arch[];
  schematic?: string;
  /** Replaces RELEASE_BASE, or FACTORY_BASE when a schematic is given. */
  mirror?: string;
  /** Replaces SCHEMA_BASE. */
  schemaMirror?: string;
  /** false: skip the config schema (metalboot then falls back to its bundled one for the minor version). */
  schema: boolean;
  /** Download even files that are already present and verified. */
  force: boolean;
  progress: ProgressSink;
}

export interface PulledFile {
  file: string;
  status: 'downloaded' | 'present';
  size: number;
  checkedBy: string;
  from: string;
}

interface PlannedFile {
  file: string;
  url: string;
  format: AssetFormat;
}

export interface TalosPlan {
  dir: string;
  source: 'release' | 'factory';
  checksumsUrl?: string;
  files: PlannedFile[];
  /** Factory only: `cmdline-metal-<arch>` → URL. */
  cmdlines: Array<{ file: string; url: string }>;
  schemaUrl?: string;
}

const base = (url: string) => url.replace(/\/+$/, '');

/** Where everything comes from and goes to; pure, so tests can check URLs without a network. */
export function planTalosPull(req: Omit<TalosPullRequest, 'progress' | 'force'>): TalosPlan {
  try {
    parseTalosVersion(req.version);
  } catch (err) {
    throw new AssetError('input', (err as Error).message);
  }
  if (req.schematic !== undefined && !SCHEMATIC_RE.test(req.schematic)) {
    throw new AssetError(
      'input',
      `--schematic must be a 64-character Image Factory schematic id, got "${req.schematic}"`,
    );
  }
  const bad = req.arches.find((a) => !ARCHES.includes(a));
  if (bad || req.arches.length === 0)
    throw new AssetError('input', `--arch must be a comma-separated list of ${ARCHES.join(', ')}`);
  const dir = join(req.assetsDir, 'talos', req.version);
  const v = req.version;
  const schemaUrl = req.schema ? `${base(req.schemaMirror ?? SCHEMA_BASE)}/${v}/${SCHEMA_PATH}` : undefined;
  if (req.schematic) {
    const root = `${base(req.mirror ?? FACTORY_BASE)}/image/${req.schematic}/${v}`;
    return {
      dir,
      source: 'factory',
      files: req.arches.flatMap((a) => [
        { file: `vmlinuz-${a}`, url: `${root}/kernel-${a}`, format: 'kernel' as const },
        { file: `initramfs-${a}.xz`, url: `${root}/initramfs-${a}.xz`, format: 'initramfs' as const },
      ]),
      cmdlines: req.arches.map((a) => ({ file: `cmdline-metal-${a}`, url: `${root}/cmdline-metal-${a}` })),
      schemaUrl,
    };
  }
  const root = `${base(req.mirror ?? RELEASE_BASE)}/${v}`;
  return {
    dir,
    source: 'release',
    checksumsUrl: `${root}/sha512sum.txt`,
    files: req.arches.flatMap((a) => [
      { file: `vmlinuz-${a}`, url: `${root}/vmlinuz-${a}`, format: 'kernel' as const },
      { file: `initramfs-${a}.xz`, url: `${root}/initramfs-${a}.xz`, format: 'initramfs' as const },
    ]),
    cmdlines: [],
    schemaUrl,
  };
}

export async function pullTalos(req: TalosPullRequest): Promise<{ dir: string; files: PulledFile[] }> {
  const plan = planTalosPull(req);
  await mkdir(plan.dir, { recursive: true });
  const sums = plan.checksumsUrl ? parseChecksums(await fetchText(plan.checksumsUrl), plan.checksumsUrl) : undefined;
  const manifest = readManifest(plan.dir);
  const pulled: PulledFile[] = [];
  const records: Manifest = {};
  const now = new Date().toISOString();

  for (const f of plan.files) {
    const dest = join(plan.dir, f.file);
    const published = sums?.get(f.file);
    if (sums && !published)
      throw new AssetError(
        'integrity',
        `${plan.checksumsUrl} has no entry for ${f.file}`,
        'check the version and --arch',
      );
    const checkedBy = published ? 'sha512sum.txt' : 'format';
    const existing = req.force ? undefined : await presentSha(dest);
    const current = published ?? (manifest[f.file]?.from === f.url ? manifest[f.file]?.sha512 : undefined);
    if (existing && existing.sha512 === current) {
      req.progress.done(
        f.file,
        `already present, ${checkedBy === 'sha512sum.txt' ? 'matches sha512sum.txt' : 'unchanged since pulled'}`,
      );
      pulled.push({ file: f.file, status: 'present', size: existing.size, checkedBy, from: f.url });
      continue;
    }
    const r = await downloadVerified({
      url: f.url,
      dest,
      name: f.file,
      sha512: published,
      format: published ? undefined : f.format,
      progress: req.progress,
    });
    req.progress.done(
      f.file,
      published ? 'sha512 matches sha512sum.txt' : 'format checked (Image Factory publishes no checksums)',
    );
    pulled.push({ file: f.file, status: 'downloaded', size: r.size, checkedBy, from: f.url });
    records[f.file] = record(plan.source, f.url, r.size, r.sha512, checkedBy, req.schematic, now);
    await recordAssets(plan.dir, records); // after each file, so an interrupted pull still knows what it has
  }
  for (const c of plan.cmdlines) {
    const text = (await fetchText(c.url)).trim();
    if (!text || text.includes('\n') || /^[<{]/.test(text)) {
      throw new AssetError(
        'integrity',
        `${c.url} is not a one-line kernel command line`,
        'the mirror probably answered with an error page: check --mirror',
      );
    }
    await writeAtomically(join(plan.dir, c.file), `${text}\n`);
    req.progress.done(c.file, 'saved: `cluster create --schematic` adopts its arguments');
    pulled.push({
      file: c.file,
      status: 'downloaded',
      size: Buffer.byteLength(text) + 1,
      checkedBy: 'one-line',
      from: c.url,
    });
    records[c.file] = record(
      'factory',
      c.url,
      Buffer.byteLength(text) + 1,
      sha512(`${text}\n`),
      'one-line',
      req.schematic,
      now,
    );
  }
  // A release's files replace a factory pull's: its kernel arguments must not outlive them.
  const stale: string[] = [];
  if (plan.source === 'release') {
    for (const a of req.arches) {
      const file = `cmdline-metal-${a}`;
      if (!existsSync(join(plan.dir, file)) && !manifest[file]) continue;
      await rm(join(plan.dir, file), { force: true });
      stale.push(file);
      req.progress.done(file, 'removed: it belonged to an Image Factory pull these release files replace');
    }
  }
  const schemaDest = join(plan.dir, 'config.schema.json');
  const schemaRecord = manifest['config.schema.json'];
  const schemaHave =
    plan.schemaUrl && !req.force && schemaRecord?.from === plan.schemaUrl ? await presentSha(schemaDest) : undefined;
  if (plan.schemaUrl && schemaHave && schemaHave.sha512 === schemaRecord?.sha512) {
    // A tag's schema never changes: the copy pulled from the same URL is still it (--force fetches again).
    req.progress.done('config.schema.json', 'already present, unchanged since pulled');
    pulled.push({
      file: 'config.schema.json',
      status: 'present',
      size: schemaHave.size,
      checkedBy: 'schema',
      from: plan.schemaUrl,
    });
  } else if (plan.schemaUrl) {
    const text = await fetchText(plan.schemaUrl).catch((err: AssetError) => {
      throw new AssetError(
        err.kind,
        err.message,
        'use --schema-mirror <base-url> for an offline copy, or --no-schema to keep the bundled schema',
      );
    });
    await writeAtomically(schemaDest, text, (part) => {
      try {
        loadSchema(part); // the same check the server applies when it loads it
      } catch (err) {
        throw new AssetError('integrity', `${plan.schemaUrl}: ${(err as Error).message}`);
      }
    });
    req.progress.done('config.schema.json', 'a Talos config schema (checked as the server loads it)');
    pulled.push({
      file: 'config.schema.json',
      status: 'downloaded',
      size: Buffer.byteLength(text),
      checkedBy: 'schema',
      from: plan.schemaUrl,
    });
    records['config.schema.json'] = record(
      'schema',
      plan.schemaUrl,
      Buffer.byteLength(text),
      sha512(text),
      'schema',
      undefined,
      now,
    );
  }
  await recordAssets(plan.dir, records, stale);
  return { dir: plan.dir, files: pulled };
}

function record(
  source: AssetRecord['source'],
  from: string,
  size: number,
  sum: string,
  checkedBy: string,
  schematic: string | undefined,
  pulledAt: string,
): AssetRecord {
  return { source, from, size, sha512: sum, checkedBy, ...(schematic ? { schematic } : {}), pulledAt };
}

async function presentSha(file: string): Promise<{ size: number; sha512: string } | undefined> {
  const s = await stat(file).catch(() => undefined);
  return s?.isFile() ? { size: s.size, sha512: await sha512File(file) } : undefined;
}

/** Small files: write beside, check, rename. */
export async function writeAtomically(dest: string, text: string, check?: (part: string) => void): Promise<void> {
  const part = `${dest}.part`;
  await writeFile(part, text);
  try {
    check?.(part);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  await rename(part, dest);
}
