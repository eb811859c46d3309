/**
 * `metalboot doctor`: checks what a network boot needs, against the settings `serve` would use
 * (same flags, METALBOOT_* variables and metalboot.yaml) and the running server.
 * `metalboot doctor --mac <mac> [--arch 7] [--ipxe]`: the dry run of one machine's boot.
 */
import { Command } from 'commander';
import { tryParseMac } from '../../core/registry/mac.js';
import { ARCH_NAMES } from '../../core/boot/preview.js';
import { formatPreview, previewBoot } from '../../doctor/preview.js';
import { runDoctor } from '../../doctor/run.js';
import { AREAS, type Check, type DoctorApi } from '../../doctor/types.js';
import { resolveDoctorSettings, type DoctorInputs } from '../../doctor/settings.js';
import {
  ApiClient,
  type ClientFlags,
  clientFlags,
  normaliseServerUrl,
  unreachable,
  withClientOptions,
} from '../client.js';
import { fillFromSettingsFile, loadSettingsFile } from '../config-file.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { printJson } from '../output.js';
import { SERVE_SETTING_KEYS, serveOptions } from './serve-options.js';

const ARCH_ALIASES: Record<string, number> = { bios: 0, efi: 7, uefi: 7, 'efi-http': 16, arm64: 11, 'arm64-http': 19 };

type DoctorFlags = ClientFlags &
  DoctorInputs & {
    config?: string;
    mac?: string;
    arch: string;
    ipxe?: boolean;
    showConfig?: boolean;
    scripts?: boolean;
  };

/**
 * Every setting of `metalboot serve` (same flags, variables, defaults and settings file), so the
 * command line that starts the server also checks it: `metalboot doctor <serve's flags>`. Doctor
 * reads the ones that matter to a boot; the rest are accepted.
 */
function addServeSettings(cmd: Command): void {
  const taken = new Set(cmd.options.map((o) => o.long));
  for (const o of serveOptions().options) {
    if (taken.has(o.long)) continue;
    o.description = `${o.description} (as for serve)`;
    cmd.addOption(o);
  }
}

export function doctorCommand(): Command {
  const cmd = new Command('doctor')
    .description(
      "check ports, addresses, assets, schemas and file permissions; with --mac, show what metalboot would answer at each hop of that machine's boot",
    )
    .option(
      '--mac <mac>',
      'dry run for this machine: DHCP boot file, scripts, kernel command line, config — nothing is recorded',
    )
    .option(
      '--arch <code>',
      `with --mac: DHCP client architecture (option 93): ${Object.entries(ARCH_NAMES)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; or bios, efi, efi-http, arm64`,
      '7',
    )
    .option('--ipxe', 'with --mac: the machine runs iPXE already (NIC ROM or chain-loaded): start at its DHCP request')
    .option('--show-config', "with --mac: print the rendered machine config (it contains the cluster's secrets)")
    .option('--scripts', 'with --mac: print every script, including the generic boot script');
  withClientOptions(cmd);
  addServeSettings(cmd);
  return cmd.action(async (_o: unknown, self: Command) => {
    fillFromSettingsFile(self, loadSettingsFile(self.opts<DoctorFlags>().config, SERVE_SETTING_KEYS));
    const o = self.opts<DoctorFlags>();
    const flags = clientFlags(self);
    const api = doctorApi(flags);
    if (o.mac) return dryRun(o, api, flags.output === 'json');

    const report = await runDoctor(o, api, { tokenFromEnv: self.getOptionValueSource('token') === 'env' });
    if (flags.output === 'json') printJson(report);
    else process.stdout.write(`${formatChecks(report.checks)}\n\n${summaryLine(report.summary)}\n`);
    if (report.summary.fail > 0) process.exitCode = EXIT.doctorFailed;
  });
}

async function dryRun(o: DoctorFlags, api: DoctorApi, json: boolean): Promise<void> {
  const mac = tryParseMac(o.mac);
  if (!mac) throw usageError(`--mac "${o.mac}" is not a MAC address`, 'e.g. --mac 52:54:00:12:34:56');
  const archCode =
    ARCH_ALIASES[o.arch] ?? (/^\d{1,5}$/.test(o.arch) && Number(o.arch) <= 65535 ? Number(o.arch) : undefined);
  if (archCode === undefined)
    throw usageError(
      `--arch "${o.arch}" is not a DHCP architecture code`,
      'use 0 (BIOS), 7 (x86-64 UEFI), 11 (arm64 UEFI), 16 (UEFI HTTP) or bios/efi/efi-http/arm64',
    );
  const { settings, checks } = resolveDoctorSettings(o);
  for (const c of checks) process.stderr.write(`warning: ${c.message}\n`);
  const preview = await previewBoot(
    { mac, archCode, ipxe: o.ipxe ?? false, includeConfig: o.showConfig ?? false },
    api,
    settings,
  );
  if (json) printJson(preview);
  else process.stdout.write(`${formatPreview(preview, { scripts: o.scripts ?? false })}\n`);
  if (preview.hops.some((h) => !h.ok)) process.exitCode = EXIT.doctorFailed;
}

/** The CLI's API client seen through the narrow interface doctor needs. */
function doctorApi(flags: ClientFlags): DoctorApi {
  const server = normaliseServerUrl(flags.server);
  let client: ApiClient | undefined;
  const api = () => (client ??= ApiClient.fromFlags(flags)); // a missing token only matters once the API is asked
  return {
    server,
    async health() {
      try {
        const res = await fetch(`${server}/healthz`, { signal: AbortSignal.timeout(5000) });
        return res.ok ? undefined : `GET /healthz answered HTTP ${res.status}`;
      } catch (err) {
        return unreachable(err, server, 5000).message.replace(/^.*?: /, '');
      }
    },
    get: (path) => api().get(path),
    async find<T>(path: string) {
      try {
        return await api().get<T>(path);
      } catch (err) {
        if (err instanceof CliError && (err.exitCode === EXIT.notFound || /does not support/.test(err.message)))
          return undefined;
        throw err;
      }
    },
    async head(path) {
      try {
        const res = await fetch(`${server}${path}`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
        const size = Number(res.headers.get('content-length'));
        return { status: res.status, size: Number.isFinite(size) ? size : undefined };
      } catch {
        return undefined;
      }
    },
  };
}

const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
const LABEL: Record<Check['status'], string> = {
  ok: paint('32', 'ok  '),
  info: paint('2', 'info'),
  warn: paint('33', 'warn'),
  fail: paint('1;31', 'FAIL'),
};

export function formatChecks(checks: Check[]): string {
  return AREAS.filter((a) => checks.some((c) => c.area === a))
    .map((area) =>
      [
        area,
        ...checks
          .filter((c) => c.area === area)
          .flatMap((c) => [`  ${LABEL[c.status]}  ${c.message}`, ...(c.hint ? [`        → ${c.hint}`] : [])]),
      ].join('\n'),
    )
    .join('\n\n');
}

function summaryLine(s: Record<Check['status'], number>): string {
  if (s.fail) return `${s.fail} problem(s) machines will run into, ${s.warn} warning(s)`;
  return s.warn ? `no problems, ${s.warn} warning(s)` : 'no problems found';
}
