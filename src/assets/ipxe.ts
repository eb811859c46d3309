/**
 * `assets pull ipxe`: the first-stage binaries firmware fetches over TFTP or HTTP, into
 * `<assets>/ipxe/`. From Debian's `ipxe` package (`/usr/lib/ipxe`) by default, or from a mirror
 * base URL (`<base>/<file>`, checked against `<base>/sha512sum.txt` when the mirror has one).
 */
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IPXE_BIOS, IPXE_EFI_ARM64, IPXE_EFI_X64 } from '../core/boot/boot-file.js';
import { parseChecksums, sha512File } from './checksums.js';
import { downloadVerified, fetchText, type ProgressSink } from './download.js';
import { AssetError } from './errors.js';
import { type AssetFormat, fileFormatProblem } from './formats.js';
import { type Manifest, recordAssets } from './manifest.js';
import type { PulledFile } from './talos.js';

export const DEBIAN_IPXE_DIR = '/usr/lib/ipxe';

/** What boot-file.ts offers clients. snponly.efi is the usual per-machine override for UEFI NICs. */
export const IPXE_FILES: ReadonlyArray<{ file: string; required: boolean; format: AssetFormat }> = [
  { file: IPXE_BIOS, required: true, format: 'any' },
  { file: IPXE_EFI_X64, required: true, format: 'efi' },
  { file: 'snponly.efi', required: true, format: 'efi' },
  // Debian ships no arm64 iPXE; taken when the source has one.
  { file: IPXE_EFI_ARM64, required: false, format: 'efi' },
];

export interface IpxePullRequest {
  assetsDir: string;
  /** A directory to copy from (default /usr/lib/ipxe); ignored when `mirror` is set. */
  fromDir?: string;
  mirror?: string;
  progress: ProgressSink;
}

export async function pullIpxe(req: IpxePullRequest): Promise<{ dir: string; files: PulledFile[] }> {
  const dir = join(req.assetsDir, 'ipxe');
  await mkdir(dir, { recursive: true });
  const files = req.mirror
    ? await fromMirror(req.mirror.replace(/\/+$/, ''), dir, req.progress)
    : await fromDirectory(req.fromDir ?? DEBIAN_IPXE_DIR, dir, req.progress);
  const now = new Date().toISOString();
  const records: Manifest = {};
  for (const f of files) {
    records[f.file] = {
      source: req.mirror ? 'ipxe-mirror' : 'ipxe-dir',
      from: f.from,
      size: f.size,
      sha512: await sha512File(join(dir, f.file)),
      checkedBy: f.checkedBy,
      pulledAt: now,
    };
  }
  await recordAssets(dir, records);
  return { dir, files };
}

async function fromDirectory(src: string, dir: string, progress: ProgressSink): Promise<PulledFile[]> {
  const out: PulledFile[] = [];
  for (const { file, required, format } of IPXE_FILES) {
    const from = join(src, file);
    const s = await stat(from).catch(() => undefined);
    if (!s?.isFile()) {
      if (!required) continue;
      throw new AssetError(
        'input',
        `${from} does not exist`,
        src === DEBIAN_IPXE_DIR
          ? 'install it (apt-get install ipxe) or use --from <dir> / --mirror <base-url>'
          : 'check --from',
      );
    }
    const problem = await fileFormatProblem(from, format);
    if (problem) throw new AssetError('integrity', `${from}: ${problem}`);
    const dest = join(dir, file);
    const same = await stat(dest).then(
      (d) => d.size === s.size,
      () => false,
    );
    if (same && (await sha512File(dest)) === (await sha512File(from))) {
      progress.done(file, 'already present, identical');
      out.push({ file, status: 'present', size: s.size, checkedBy: 'identical', from });
      continue;
    }
    // Copy beside, then rename: TFTP clients never see a half-copied binary.
    const part = `${dest}.part`;
    try {
      await copyFile(from, part);
      await rename(part, dest);
    } catch (err) {
      await rm(part, { force: true });
      throw new AssetError('input', `cannot copy ${from} to ${dest}: ${(err as Error).message}`);
    }
    progress.done(file, `copied from ${src}`);
    out.push({ file, status: 'downloaded', size: s.size, checkedBy: 'copied', from });
  }
  return out;
}

async function fromMirror(base: string, dir: string, progress: ProgressSink): Promise<PulledFile[]> {
  // A checksum file is optional on an iPXE mirror (upstream iPXE publishes none); use it when there.
  let sums: Map<string, string> | undefined;
  try {
    sums = parseChecksums(await fetchText(`${base}/sha512sum.txt`), `${base}/sha512sum.txt`);
  } catch (err) {
    if (!(err instanceof AssetError && err.kind === 'download')) throw err;
    progress.note(`${base}/sha512sum.txt not available: checking file formats only`);
  }
  const out: PulledFile[] = [];
  for (const { file, required, format } of IPXE_FILES) {
    const url = `${base}/${file}`;
    const published = sums?.get(file);
    try {
      const r = await downloadVerified({
        url,
        dest: join(dir, file),
        name: file,
        sha512: published,
        format: published ? undefined : format,
        progress,
      });
      progress.done(file, published ? 'sha512 matches sha512sum.txt' : 'format checked');
      out.push({
        file,
        status: 'downloaded',
        size: r.size,
        checkedBy: published ? 'sha512sum.txt' : 'format',
        from: url,
      });
    } catch (err) {
      if (!required && err instanceof AssetError && err.kind === 'download' && / 404\b/.test(err.message)) continue;
      throw err;
    }
  }
  return out;
}
