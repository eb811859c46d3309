import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION, fakeEfi, startMirror } from '../helpers/asset-mirror.js';
import { runCli } from '../helpers/cli-run.js';

t.test(
  'assets pull ipxe copies the Debian package layout; again is a no-op; a missing file says what to install',
  async (t) => {
    const dir = t.testdir({ lib: {} });
    const lib = join(dir, 'lib');
    const files = {
      'undionly.kpxe': Buffer.from('undi'.repeat(100)),
      'ipxe.efi': fakeEfi(4096),
      'snponly.efi': fakeEfi(2048),
    };
    for (const [name, body] of Object.entries(files)) writeFileSync(join(lib, name), body);
    const assets = join(dir, 'assets');
    const r = await runCli(['assets', 'pull', 'ipxe', '--from', lib, '--assets-dir', assets]);
    t.equal(r.code, 0, r.stderr);
    for (const [name, body] of Object.entries(files))
      t.ok(readFileSync(join(assets, 'ipxe', name)).equals(body), `${name} copied`);
    t.match(r.stdout, '3 fetched, 0 already present');
    const again = await runCli(['assets', 'pull', 'ipxe', '--from', lib, '--assets-dir', assets, '-o', 'json']);
    t.same(
      JSON.parse(again.stdout).files.map((f: { status: string }) => f.status),
      ['present', 'present', 'present'],
    );

    writeFileSync(join(lib, 'ipxe.efi'), '<html>not a binary</html>');
    const bad = await runCli(['assets', 'pull', 'ipxe', '--from', lib, '--assets-dir', assets]);
    t.equal(bad.code, 6);
    t.match(bad.stderr, /ipxe\.efi: it is not an EFI executable/);

    const none = await runCli(['assets', 'pull', 'ipxe', '--from', join(dir, 'nope'), '--assets-dir', assets]);
    t.equal(none.code, 1);
    t.match(none.stderr, /nope\/undionly\.kpxe does not exist/);
  },
);

t.test('assets pull ipxe from a mirror, checked against its sha512sum.txt when it has one', async (t) => {
  const m = await startMirror(t);
  const assets = join(t.testdir({}), 'assets');
  const r = await runCli(['assets', 'pull', 'ipxe', '--mirror', `${m.url}/ipxe`, '--assets-dir', assets]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /sha512sum\.txt not available: checking file formats only/);
  t.ok(readFileSync(join(assets, 'ipxe', 'snponly.efi')).equals(m.files.get('/ipxe/snponly.efi')!));
  t.notOk(existsSync(join(assets, 'ipxe', 'ipxe-arm64.efi')), 'optional arm64 binary skipped when the mirror has none');

  m.put('/ipxe/sha512sum.txt', `${'0'.repeat(128)}  undionly.kpxe\n`);
  const wrong = await runCli(['assets', 'pull', 'ipxe', '--mirror', `${m.url}/ipxe`, '--assets-dir', assets]);
  t.equal(wrong.code, 6);
  t.match(wrong.stderr, /undionly\.kpxe: checksum mismatch/);
});

t.test(
  'assets list: per version and arch, JSON for scripts, --verify catches a file changed since pulled',
  async (t) => {
    const m = await startMirror(t);
    const assets = join(t.testdir({}), 'assets');
    const empty = await runCli(['assets', 'list', '--assets-dir', assets]);
    t.equal(empty.code, 0);
    t.match(empty.stderr, /no Talos assets .* run `metalboot assets pull talos --version <v>`/);
    t.match(empty.stdout, /iPXE: none .* run `metalboot assets pull ipxe`/);

    const pulled = await runCli([
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
      `${m.url}/raw`,
    ]);
    t.equal(pulled.code, 0, pulled.stderr);
    await runCli(['assets', 'pull', 'ipxe', '--mirror', `${m.url}/ipxe`, '--assets-dir', assets]);
    const list = await runCli(['assets', 'list', '--assets-dir', assets]);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /VERSION\s+ARCH\s+KERNEL\s+INITRAMFS\s+SOURCE\s+CMDLINE\s+SCHEMA/);
    t.match(list.stdout, new RegExp(`${VERSION}\\s+amd64\\s+256\\.0 KiB\\s+512\\.0 KiB\\s+release\\s+-\\s+yes`));
    t.match(list.stdout, /iPXE: undionly\.kpxe \(4\.0 KiB\), ipxe\.efi/);

    const json = JSON.parse((await runCli(['assets', 'list', '--assets-dir', assets, '-o', 'json'])).stdout);
    t.match(json.talos[0], {
      version: VERSION,
      arches: [{ arch: 'amd64', kernel: { file: 'vmlinuz-amd64', source: 'release' } }],
      schema: { file: 'config.schema.json' },
      partial: [],
    });

    const ok = await runCli(['assets', 'list', '--verify', '--assets-dir', assets]);
    t.equal(ok.code, 0, ok.stderr);
    writeFileSync(join(assets, 'talos', VERSION, 'vmlinuz-amd64'), 'tampered');
    const tampered = await runCli(['assets', 'list', '--verify', '--assets-dir', assets]);
    t.equal(tampered.code, 6);
    t.match(tampered.stdout, /MISMATCH/);
    t.match(tampered.stderr, /vmlinuz-amd64 changed since pulled/);
    t.match(tampered.stderr, /hint: pull them again with --force/);
  },
);
