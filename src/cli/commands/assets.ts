/** `metalboot assets pull talos|ipxe`, `metalboot assets list`: local files, no server involved. */
import { Command, Option } from 'commander';
import type { AssetError } from '../../assets/errors.js';
import { assetInventory, type AssetFile } from '../../assets/inventory.js';
import { DEBIAN_IPXE_DIR, pullIpxe } from '../../assets/ipxe.js';
import { ARCHES, pullTalos, type PulledFile } from '../../assets/talos.js';
import type { Arch } from '../../core/types.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { bytes, note, printJson, printTable } from '../output.js';
import { progressFor } from '../progress.js';

const assetsDirOption = () =>
  new Option('--assets-dir <dir>', 'assets directory of `metalboot serve`')
    .env('METALBOOT_ASSETS_DIR')
    .default('assets');
const outputOption = () =>
  new Option('-o, --output <format>', 'table (for people) or json (for scripts)')
    .choices(['table', 'json'])
    .default('table');

export function assetsCommand(): Command {
  const assets = new Command('assets').description('Talos kernels, initramfs and schemas; iPXE binaries');
  const pull = assets.command('pull').description('fetch and verify assets into the assets directory');

  pull
    .command('talos')
    .description('a Talos release (or Image Factory schematic) into <assets-dir>/talos/<version>/')
    .requiredOption('--version <version>', 'Talos version, e.g. v1.13.9')
    .option('--arch <list>', `comma-separated: ${ARCHES.join(', ')}`, 'amd64')
    .option(
      '--schematic <id>',
      'Image Factory schematic id: fetch its kernel, initramfs and cmdline-metal instead of the release files',
    )
    .option(
      '--mirror <base-url>',
      'replaces https://github.com/siderolabs/talos/releases/download (or https://factory.talos.dev with --schematic); env METALBOOT_RELEASE_MIRROR / METALBOOT_FACTORY_MIRROR',
    )
    .addOption(
      new Option(
        '--schema-mirror <base-url>',
        'replaces https://raw.githubusercontent.com/siderolabs/talos for config.schema.json',
      ).env('METALBOOT_SCHEMA_MIRROR'),
    )
    .option(
      '--no-schema',
      'do not fetch the config schema (metalboot falls back to its bundled schema for the minor version)',
    )
    .option('--force', 'download again even when the files are present and verified')
    .addOption(assetsDirOption())
    .addOption(outputOption())
    .action(
      async (o: {
        version: string;
        arch: string;
        schematic?: string;
        mirror?: string;
        schemaMirror?: string;
        schema: boolean;
        force?: boolean;
        assetsDir: string;
        output: string;
      }) => {
        const mirror =
          o.mirror ??
          (o.schematic ? process.env.METALBOOT_FACTORY_MIRROR : process.env.METALBOOT_RELEASE_MIRROR) ??
          undefined;
        const result = await pullTalos({
          assetsDir: o.assetsDir,
          version: o.version,
          arches: o.arch
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean) as Arch[],
          schematic: o.schematic,
          mirror: mirror ? checkUrl(mirror, '--mirror') : undefined,
          schemaMirror: o.schemaMirror ? checkUrl(o.schemaMirror, '--schema-mirror') : undefined,
          schema: o.schema,
          force: o.force ?? false,
          progress: progressFor(),
        });
        report(o.output, result);
        if (
          o.output !== 'json' &&
          result.files.some((f) => f.file === 'config.schema.json' && f.status === 'downloaded')
        ) {
          note(
            'a running `metalboot serve` validates configs with this schema within a few seconds (no restart needed)',
          );
        }
        if (o.output !== 'json' && o.schematic) {
          note(
            `next: \`metalboot cluster create … --talos-version ${o.version} --schematic ${o.schematic}\` adopts the schematic's kernel arguments`,
          );
        }
      },
    );

  pull
    .command('ipxe')
    .description('iPXE binaries (undionly.kpxe, ipxe.efi, snponly.efi) into <assets-dir>/ipxe/')
    .option('--from <dir>', "copy from this directory (Debian's ipxe package)", DEBIAN_IPXE_DIR)
    .addOption(
      new Option('--mirror <base-url>', 'download <base-url>/<file> instead of copying').env('METALBOOT_IPXE_MIRROR'),
    )
    .addOption(assetsDirOption())
    .addOption(outputOption())
    .action(async (o: { from: string; mirror?: string; assetsDir: string; output: string }) => {
      const result = await pullIpxe({
        assetsDir: o.assetsDir,
        fromDir: o.from,
        mirror: o.mirror ? checkUrl(o.mirror, '--mirror') : undefined,
        progress: progressFor(),
      });
      report(o.output, result);
    });

  assets
    .command('list')
    .description('what the assets directory holds, per Talos version and arch')
    .option('--verify', 'hash every file again and compare with what was recorded when it was pulled')
    .addOption(assetsDirOption())
    .addOption(outputOption())
    .action(async (o: { verify?: boolean; assetsDir: string; output: string }) => {
      const inv = await assetInventory(o.assetsDir, { verify: o.verify });
      const files = [
        ...inv.talos.flatMap((v) => v.arches.flatMap((a) => [a.kernel, a.initramfs, a.cmdline]).concat(v.schema)),
        ...inv.ipxe,
      ].filter(Boolean) as AssetFile[];
      const mismatched = files.filter((f) => f.verified === 'mismatch');
      if (o.output === 'json') printJson(inv);
      else {
        const rows = inv.talos.flatMap((v) => {
          const schema = v.schema ? (v.schema.verified ? `yes (${v.schema.verified})` : 'yes') : 'bundled';
          const archRows = v.arches.map((a) => [
            v.version,
            a.arch,
            size(a.kernel),
            size(a.initramfs),
            sourceOf(a.kernel ?? a.initramfs),
            a.cmdline ? 'yes' : '-',
            schema,
          ]);
          return archRows.length ? archRows : [[v.version, '-', '-', '-', '-', '-', schema]];
        });
        printTable(
          ['VERSION', 'ARCH', 'KERNEL', 'INITRAMFS', 'SOURCE', 'CMDLINE', 'SCHEMA'],
          rows,
          `no Talos assets in ${inv.assetsDir}/talos: run \`metalboot assets pull talos --version <v>\``,
        );
        const ipxe = inv.ipxe
          .map((f) => `${f.file} (${bytes(f.size)}${f.verified ? `, ${f.verified}` : ''})`)
          .join(', ');
        process.stdout.write(
          `\niPXE: ${ipxe || `none in ${inv.assetsDir}/ipxe — run \`metalboot assets pull ipxe\``}\n`,
        );
        for (const v of inv.talos)
          if (v.partial.length)
            note(`${v.dir}: interrupted downloads (${v.partial.join(', ')}); the next pull resumes them`);
      }
      if (mismatched.length) {
        throw new CliError(
          `${mismatched.map((f) => f.file).join(', ')} changed since pulled`,
          EXIT.integrity,
          'pull them again with --force',
        );
      }
    });
  return assets;
}

function size(f: AssetFile | undefined): string {
  if (!f) return 'missing';
  return f.verified && f.verified !== 'ok' ? `${bytes(f.size)} (${f.verified.toUpperCase()})` : bytes(f.size);
}

function sourceOf(f: AssetFile | undefined): string {
  if (!f?.source) return f ? 'by hand' : '-';
  return f.schematic ? `${f.source} ${f.schematic.slice(0, 12)}…` : f.source;
}

function report(output: string, result: { dir: string; files: PulledFile[] }): void {
  if (output === 'json') return printJson(result);
  const downloaded = result.files.filter((f) => f.status === 'downloaded').length;
  process.stdout.write(`${result.dir}: ${downloaded} fetched, ${result.files.length - downloaded} already present\n`);
}

function checkUrl(value: string, flag: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value;
  } catch {
    // fall through
  }
  throw usageError(`${flag} "${value}" must be an http:// or https:// base URL`);
}

/** Asset failures as CLI exit codes: bad request 1, network 5, integrity 6. */
export function assetErrorToCli(err: AssetError): CliError {
  const code = err.kind === 'input' ? EXIT.usage : err.kind === 'download' ? EXIT.failed : EXIT.integrity;
  return new CliError(err.message, code, err.hint);
}
