import t from 'tap';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseChecksums } from '../../src/assets/checksums.js';
import { splitFactoryCmdline } from '../../src/assets/cmdline.js';
import { downloadVerified, silentProgress } from '../../src/assets/download.js';
import { AssetError } from '../../src/assets/errors.js';
import { formatProblem } from '../../src/assets/formats.js';
import { compareVersions } from '../../src/assets/inventory.js';
import { FACTORY_BASE, planTalosPull, RELEASE_BASE, SCHEMA_BASE } from '../../src/assets/talos.js';
import { endProgressLine, progressFor } from '../../src/cli/progress.js';
import {
  FACTORY_CMDLINE,
  SCHEMATIC,
  VERSION,
  fakeInitramfs,
  fakeKernel,
  sha512,
  startMirror,
} from '../helpers/asset-mirror.js';

t.test('upstream URLs: release, factory, and mirrors replacing their bases', async (t) => {
  const release = planTalosPull({ assetsDir: 'a', version: VERSION, arches: ['amd64'], schema: true });
  t.equal(release.checksumsUrl, `${RELEASE_BASE}/${VERSION}/sha512sum.txt`);
  t.same(
    release.files.map((f) => f.url),
    [`${RELEASE_BASE}/${VERSION}/vmlinuz-amd64`, `${RELEASE_BASE}/${VERSION}/initramfs-amd64.xz`],
  );
  t.equal(release.schemaUrl, `${SCHEMA_BASE}/${VERSION}/pkg/machinery/config/schemas/config.schema.json`);
  t.equal(release.dir, join('a', 'talos', VERSION));
  const factory = planTalosPull({
    assetsDir: 'a',
    version: VERSION,
    arches: ['arm64'],
    schematic: SCHEMATIC,
    schema: false,
  });
  t.same(
    factory.files.map((f) => [f.file, f.url]),
    [
      ['vmlinuz-arm64', `${FACTORY_BASE}/image/${SCHEMATIC}/${VERSION}/kernel-arm64`],
      ['initramfs-arm64.xz', `${FACTORY_BASE}/image/${SCHEMATIC}/${VERSION}/initramfs-arm64.xz`],
    ],
  );
  t.same(factory.cmdlines, [
    { file: 'cmdline-metal-arm64', url: `${FACTORY_BASE}/image/${SCHEMATIC}/${VERSION}/cmdline-metal-arm64` },
  ]);
  t.equal(factory.schemaUrl, undefined);
  const mirrored = planTalosPull({
    assetsDir: 'a',
    version: VERSION,
    arches: ['amd64'],
    schema: true,
    mirror: 'http://m/talos/',
    schemaMirror: 'http://m/src',
  });
  t.equal(mirrored.checksumsUrl, `http://m/talos/${VERSION}/sha512sum.txt`);
  t.equal(mirrored.schemaUrl, `http://m/src/${VERSION}/pkg/machinery/config/schemas/config.schema.json`);
  t.throws(
    () => planTalosPull({ assetsDir: 'a', version: VERSION, arches: ['amd64'], schematic: 'abc', schema: true }),
    /64-character/,
  );
  t.throws(() => planTalosPull({ assetsDir: 'a', version: VERSION, arches: [], schema: true }), /--arch/);
});

t.test('sha512sum.txt parsing', async (t) => {
  const a = 'a'.repeat(128);
  const sums = parseChecksums(`# comment\n${a}  vmlinuz-amd64\n${'B'.repeat(128)} *./out/initramfs-amd64.xz\n\n`, 'x');
  t.same(
    [...sums],
    [
      ['vmlinuz-amd64', a],
      ['initramfs-amd64.xz', 'b'.repeat(128)],
    ],
  );
  t.throws(() => parseChecksums('<html>', 'x'), /not "<sha512> {2}<file>"/);
  t.throws(() => parseChecksums('\n', 'x'), /lists no checksums/);
});

t.test('format checks catch error pages, accept real headers', async (t) => {
  t.equal(formatProblem(fakeKernel(1024), 'kernel'), undefined);
  const arm = Buffer.alloc(0x40);
  arm.write('ARMd', 0x38, 'latin1');
  t.equal(formatProblem(arm, 'kernel'), undefined, 'arm64 Image header');
  t.match(formatProblem(Buffer.from('<html>'), 'kernel'), /does not start like a Linux kernel/);
  t.equal(formatProblem(fakeInitramfs(64), 'initramfs'), undefined);
  t.equal(formatProblem(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]), 'initramfs'), undefined, 'zstd');
  t.match(formatProblem(Buffer.from('{"error":1}'), 'initramfs'), /not an xz/);
  t.match(formatProblem(Buffer.alloc(0), 'any'), /empty/);
  t.match(formatProblem(Buffer.from('xx'), 'efi'), /not an EFI executable/);
});

t.test('factory cmdline: only what Talos defaults lack becomes cluster kernel args', async (t) => {
  t.same(splitFactoryCmdline(FACTORY_CMDLINE, VERSION, 'amd64'), {
    extra: ['net.ifnames=0', 'talos.dashboard.disabled=1'],
    dropped: [],
  });
  t.same(splitFactoryCmdline('talos.platform=metal console=ttyS0 slab_nomerge pti=on', 'v1.13.0', 'amd64').extra, [
    'console=ttyS0',
  ]);
  t.ok(
    splitFactoryCmdline('talos.platform=metal', VERSION, 'amd64').dropped.includes('pti=on'),
    'dropped defaults are reported',
  );
});

t.test('versions sort numerically', async (t) => {
  t.same(['v1.13.10', 'latest', 'v1.9.0', 'v1.13.9'].sort(compareVersions), [
    'v1.9.0',
    'v1.13.9',
    'v1.13.10',
    'latest',
  ]);
});

t.test('a .part that is already whole (killed before the rename) is verified and kept: 416 path', async (t) => {
  const m = await startMirror(t);
  const dir = t.testdir({});
  const url = `${m.url}/release/${VERSION}/vmlinuz-amd64`;
  const body = m.files.get(`/release/${VERSION}/vmlinuz-amd64`)!;
  const dest = join(dir, 'vmlinuz-amd64');
  writeFileSync(`${dest}.part`, body);
  writeFileSync(`${dest}.part.json`, JSON.stringify({ url }));
  const r = await downloadVerified({
    url,
    dest,
    name: 'vmlinuz-amd64',
    sha512: sha512(body),
    progress: silentProgress,
  });
  t.equal(r.resumed, true);
  t.equal(m.requests.at(-1)?.range, `bytes=${body.length}-`);
  t.ok(readFileSync(dest).equals(body));
  t.notOk(existsSync(`${dest}.part.json`));

  // A stale part from another URL is thrown away, not resumed.
  writeFileSync(`${dest}.part`, 'stale');
  writeFileSync(`${dest}.part.json`, JSON.stringify({ url: 'http://elsewhere/x' }));
  await downloadVerified({ url, dest, name: 'vmlinuz-amd64', sha512: sha512(body), progress: silentProgress });
  t.equal(m.requests.at(-1)?.range, undefined);

  // A resumed download that fails its checksum is fetched once more from the start.
  writeFileSync(`${dest}.part`, Buffer.alloc(1000, 7));
  writeFileSync(`${dest}.part.json`, JSON.stringify({ url }));
  const notes: string[] = [];
  const again = await downloadVerified({
    url,
    dest,
    name: 'k',
    sha512: sha512(body),
    progress: { ...silentProgress, note: (n) => notes.push(n) },
  });
  t.equal(again.resumed, false);
  t.match(notes[0], /did not match its checksum; downloading again from the start/);
  await t.rejects(downloadVerified({ url: `${m.url}/nope`, dest, name: 'x', progress: silentProgress }), AssetError);
});

t.test('progress: a bar on a terminal, plain lines elsewhere', async (t) => {
  const written: string[] = [];
  const tty = { isTTY: true, columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const bar = progressFor(tty);
  bar.start('vmlinuz-amd64', 'http://x', 2048, 0);
  bar.advance(1024);
  bar.done('vmlinuz-amd64', 'sha512 matches sha512sum.txt');
  t.match(written[0], /^\r\x1b\[2Kvmlinuz-amd64 {2}\[-{24}\] {3}0%/);
  t.match(written.at(-1), /✓ vmlinuz-amd64 {2}sha512 matches/);
  bar.start('initramfs-amd64.xz', 'http://x', undefined, 0);
  endProgressLine();
  t.equal(written.at(-1), '\n', 'an error mid-download starts on a new line, the bar stays');
  endProgressLine();
  t.equal(written.filter((w) => w === '\n').length, 1, 'only once');
  const lines: string[] = [];
  const plain = progressFor({ isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream);
  plain.start('initramfs-amd64.xz', 'http://x/i', undefined, 512);
  plain.advance(10);
  plain.note('hello');
  t.same(lines, ['initramfs-amd64.xz: downloading http://x/i, resuming at 512 B\n', 'hello\n']);
});
