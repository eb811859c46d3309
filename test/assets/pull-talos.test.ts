import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FACTORY_CMDLINE, SCHEMATIC, VERSION, fakeKernel, sha512, startMirror } from '../helpers/asset-mirror.js';
import { runCli } from '../helpers/cli-run.js';
import { freePort } from '../helpers/spawn-server.js';

const pull = (assets: string, mirror: string, ...extra: string[]) =>
  runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--assets-dir',
    assets,
    '--mirror',
    `${mirror}/release`,
    '--schema-mirror',
    `${mirror}/raw`,
    ...extra,
  ]);

t.test(
  'release layout: kernel, initramfs and schema, verified against sha512sum.txt; a second pull skips them',
  async (t) => {
    const m = await startMirror(t);
    const assets = join(t.testdir({}), 'assets');
    const r = await pull(assets, m.url, '--arch', 'amd64,arm64');
    t.equal(r.code, 0, r.stderr);
    const dir = join(assets, 'talos', VERSION);
    for (const f of ['vmlinuz-amd64', 'initramfs-amd64.xz', 'vmlinuz-arm64', 'initramfs-arm64.xz']) {
      t.ok(readFileSync(join(dir, f)).equals(m.files.get(`/release/${VERSION}/${f}`)!), `${f} is the release file`);
    }
    t.same(
      JSON.parse(readFileSync(join(dir, 'config.schema.json'), 'utf8')).$id,
      'https://talos.dev/v1.13/schemas/config.schema.json',
    );
    t.same(
      readdirSync(dir).filter((f) => f.includes('.part')),
      [],
      'no temporary files left',
    );
    t.match(r.stderr, /vmlinuz-amd64: sha512 matches sha512sum\.txt/, 'quiet lines when not on a terminal');
    t.notMatch(r.stderr, /\r/, 'no progress bar redraws in a log');
    t.match(r.stdout, `${dir}: 5 fetched, 0 already present`);
    const manifest = JSON.parse(readFileSync(join(dir, '.metalboot-assets.json'), 'utf8'));
    t.match(manifest['vmlinuz-amd64'], {
      source: 'release',
      checkedBy: 'sha512sum.txt',
      sha512: sha512(m.files.get(`/release/${VERSION}/vmlinuz-amd64`)!),
    });

    const before = m.requests.length;
    const again = await pull(assets, m.url, '--arch', 'amd64,arm64', '-o', 'json');
    t.equal(again.code, 0, again.stderr);
    const json = JSON.parse(again.stdout);
    t.same(
      json.files.filter((f: { status: string }) => f.status === 'present').length,
      5,
      'kernel, initramfs and schema already present',
    );
    t.notOk(
      m.requests.slice(before).some((q) => q.path.endsWith('vmlinuz-amd64')),
      'not downloaded again',
    );
    t.notOk(
      m.requests.slice(before).some((q) => q.path.endsWith('config.schema.json')),
      'the schema (a tag never changes) is not downloaded again',
    );
    const forced = await pull(assets, m.url, '--force');
    t.equal(forced.code, 0, forced.stderr);
    t.ok(
      m.requests.slice(before).some((q) => q.path.endsWith('config.schema.json')),
      '--force fetches the schema again',
    );
    t.match(
      forced.stderr,
      /validates configs with this schema within a few seconds/,
      'says a running server picks it up',
    );
  },
);

t.test('an interrupted download resumes with Range from the .part file', async (t) => {
  const m = await startMirror(t, { kernelBytes: 512 * 1024 });
  const assets = join(t.testdir({}), 'assets');
  const dir = join(assets, 'talos', VERSION);
  const path = `/release/${VERSION}/initramfs-amd64.xz`;
  m.interruptOnce(path, 300_000);
  const first = await pull(assets, m.url, '--no-schema');
  t.equal(first.code, 5, 'a dropped connection is a download failure (exit 5)');
  t.match(first.stderr, /download interrupted|closed the connection/);
  t.match(first.stderr, /hint: run the same command again to resume/);
  t.notOk(existsSync(join(dir, 'initramfs-amd64.xz')), 'no half file under the real name');
  const partSize = statSync(join(dir, 'initramfs-amd64.xz.part')).size;
  // What fetch handed over before the connection ended is kept (it drops what it still held).
  t.ok(partSize > 0 && partSize <= 300_000, `kept ${partSize} of the 300,000 bytes sent in the .part file`);

  const second = await pull(assets, m.url, '--no-schema');
  t.equal(second.code, 0, second.stderr);
  const resumed = m.requests.filter((q) => q.path === path).at(-1)!;
  t.equal(resumed.range, `bytes=${partSize}-`, 'asked only for the rest');
  t.ok(resumed.ifRange, 'with If-Range, so a changed file is fetched whole');
  t.match(second.stderr, /resuming at/);
  t.ok(readFileSync(join(dir, 'initramfs-amd64.xz')).equals(m.files.get(path)!), 'the resumed file is byte-identical');
  t.notOk(existsSync(join(dir, 'initramfs-amd64.xz.part')));
  t.notOk(existsSync(join(dir, 'initramfs-amd64.xz.part.json')));
});

t.test('a file that changed upstream since the interruption is fetched whole (If-Range)', async (t) => {
  const m = await startMirror(t, { kernelBytes: 512 * 1024 });
  const assets = join(t.testdir({}), 'assets');
  const path = `/release/${VERSION}/vmlinuz-amd64`;
  m.interruptOnce(path, 100_000);
  t.equal((await pull(assets, m.url, '--no-schema')).code, 5);
  // The release is re-published: new bytes, new ETag, new checksum.
  const fresh = fakeKernel(400 * 1024);
  m.put(path, fresh);
  const sumsPath = `/release/${VERSION}/sha512sum.txt`;
  m.put(
    sumsPath,
    m.files
      .get(sumsPath)!
      .toString()
      .replace(/^[0-9a-f]+(?= {2}vmlinuz-amd64$)/m, sha512(fresh)),
  );
  const r = await pull(assets, m.url, '--no-schema');
  t.equal(r.code, 0, r.stderr);
  t.ok(readFileSync(join(assets, 'talos', VERSION, 'vmlinuz-amd64')).equals(fresh), 'no splice of old and new bytes');
});

t.test('checksum mismatch: loud failure, download deleted, the previous good file untouched', async (t) => {
  const m = await startMirror(t);
  const assets = join(t.testdir({}), 'assets');
  const dir = join(assets, 'talos', VERSION);
  t.equal((await pull(assets, m.url, '--no-schema')).code, 0);
  const good = readFileSync(join(dir, 'vmlinuz-amd64'));
  // The mirror now serves a corrupted kernel under the same published checksum.
  const bad = Buffer.from(good);
  bad[1000] = bad[1000]! ^ 0xff;
  m.put(`/release/${VERSION}/vmlinuz-amd64`, bad);
  const r = await pull(assets, m.url, '--no-schema', '--force');
  t.equal(r.code, 6, 'integrity failures have their own exit code');
  t.match(r.stderr, /error: vmlinuz-amd64: checksum mismatch .* the file was deleted/);
  t.match(r.stderr, /hint: .*--mirror/);
  t.ok(readFileSync(join(dir, 'vmlinuz-amd64')).equals(good), 'the good file was never replaced');
  t.same(
    readdirSync(dir).filter((f) => f.includes('.part')),
    [],
    'the bad download is gone',
  );
});

t.test('Image Factory layout: kernel-<arch> saved as vmlinuz-<arch>, cmdline-metal kept, format checked', async (t) => {
  const m = await startMirror(t);
  const assets = join(t.testdir({}), 'assets');
  const dir = join(assets, 'talos', VERSION);
  const r = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--schematic',
    SCHEMATIC,
    '--assets-dir',
    assets,
    '--mirror',
    `${m.url}/factory`,
    '--schema-mirror',
    `${m.url}/raw`,
  ]);
  t.equal(r.code, 0, r.stderr);
  const src = `/factory/image/${SCHEMATIC}/${VERSION}`;
  t.ok(readFileSync(join(dir, 'vmlinuz-amd64')).equals(m.files.get(`${src}/kernel-amd64`)!));
  t.ok(readFileSync(join(dir, 'initramfs-amd64.xz')).equals(m.files.get(`${src}/initramfs-amd64.xz`)!));
  t.equal(readFileSync(join(dir, 'cmdline-metal-amd64'), 'utf8'), `${FACTORY_CMDLINE}\n`);
  t.match(r.stderr, /format checked \(Image Factory publishes no checksums\)/);
  t.match(r.stderr, /cluster create .* --schematic/);
  const manifest = JSON.parse(readFileSync(join(dir, '.metalboot-assets.json'), 'utf8'));
  t.match(manifest['vmlinuz-amd64'], { source: 'factory', schematic: SCHEMATIC, checkedBy: 'format' });

  // The release's files replace the factory's: the schematic's kernel arguments go with them.
  const release = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--assets-dir',
    assets,
    '--mirror',
    `${m.url}/release`,
    '--no-schema',
  ]);
  t.equal(release.code, 0, release.stderr);
  t.notOk(existsSync(join(dir, 'cmdline-metal-amd64')), 'cmdline-metal-amd64 removed');
  t.notOk(
    JSON.parse(readFileSync(join(dir, '.metalboot-assets.json'), 'utf8'))['cmdline-metal-amd64'],
    'and forgotten by the manifest',
  );
  t.match(release.stderr, /cmdline-metal-amd64: removed/);
  const factoryAgain = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--schematic',
    SCHEMATIC,
    '--assets-dir',
    assets,
    '--mirror',
    `${m.url}/factory`,
    '--no-schema',
  ]);
  t.equal(factoryAgain.code, 0, factoryAgain.stderr);
  t.ok(existsSync(join(dir, 'cmdline-metal-amd64')), 'a factory pull brings it back');

  // A proxy that answers 200 with an error page must not leave an "initramfs" behind.
  m.put(`${src}/initramfs-arm64.xz`, '<html><body>502 Bad Gateway</body></html>');
  const bad = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--arch',
    'arm64',
    '--schematic',
    SCHEMATIC,
    '--assets-dir',
    assets,
    '--mirror',
    `${m.url}/factory`,
    '--no-schema',
  ]);
  t.equal(bad.code, 6, bad.stderr);
  t.match(bad.stderr, /initramfs-arm64\.xz .* not an xz, zstd or gzip archive/);
  t.notOk(existsSync(join(dir, 'initramfs-arm64.xz')));
});

t.test('mistakes: bad version, unknown arch, missing release, unreachable mirror, broken schema', async (t) => {
  const m = await startMirror(t);
  const assets = join(t.testdir({}), 'assets');
  const bad = await runCli(['assets', 'pull', 'talos', '--version', '1.13', '--assets-dir', assets]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /"1.13" is not a Talos version/);
  t.equal((await pull(assets, m.url, '--arch', 'riscv64')).code, 1);
  const missing = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    'v1.99.0',
    '--assets-dir',
    assets,
    '--mirror',
    `${m.url}/release`,
  ]);
  t.equal(missing.code, 5);
  t.match(missing.stderr, /v1\.99\.0\/sha512sum\.txt: HTTP 404/);
  t.match(missing.stderr, /hint: check the version/);
  const offline = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--assets-dir',
    assets,
    '--mirror',
    `http://127.0.0.1:${await freePort()}/release`,
  ]);
  t.equal(offline.code, 5);
  t.match(offline.stderr, /cannot download .*ECONNREFUSED/);
  t.match(offline.stderr, /hint: without internet access, point --mirror at a local copy/);
  m.put(`/raw/${VERSION}/pkg/machinery/config/schemas/config.schema.json`, '{"not": "a schema"}');
  const schema = await pull(assets, m.url);
  t.equal(schema.code, 6);
  t.match(schema.stderr, /not a Talos config schema/);
  t.notOk(existsSync(join(assets, 'talos', VERSION, 'config.schema.json')));
  const noSchemaMirror = await runCli([
    'assets',
    'pull',
    'talos',
    '--version',
    VERSION,
    '--assets-dir',
    assets,
    '--mirror',
    `${m.url}/release`,
    '--schema-mirror',
    `${m.url}/nothing`,
  ]);
  t.equal(noSchemaMirror.code, 5);
  t.match(noSchemaMirror.stderr, /hint: use --schema-mirror <base-url> for an offline copy, or --no-schema/);
});
