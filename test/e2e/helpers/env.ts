/**
 * What the real-VM e2e needs from the machine, where its files live, and the stand-in "Talos".
 * Nothing here reads outside the project except Debian's installed files (/usr/lib/ipxe,
 * /usr/share/OVMF, QEMU) and the cache directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PROJECT_ROOT = join(E2E_DIR, '../..');
export const CLI = join(PROJECT_ROOT, 'dist/cli/main.js');
export const BUILD_STANDIN = join(E2E_DIR, 'build-standin.sh');
export const RA_SENDER = join(E2E_DIR, 'ra-sender.py');

export const IPXE_DIR = '/usr/lib/ipxe';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** QEMU's default ROM for virtio-net-pci (iPXE, BIOS + EFI images), from Debian's ipxe-qemu. */
export const VIRTIO_ROM = '/usr/lib/ipxe/qemu/efi-virtio.rom';

/** The Talos version the e2e cluster claims; its schema is bundled (schemas/talos/v1.13.json). */
export const TALOS_VERSION = 'v1.13.9';
/** The v1.14 cluster's version (schemas/talos/v1.14.json): install settings in UnattendedInstallConfig. */
export const TALOS_V14_VERSION = 'v1.14.0';

const TOOLS: Array<[string, string]> = [
  ['ip', 'iproute2'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['tcpdump', 'tcpdump'],
  ['dnsmasq', 'dnsmasq-base'],
  ['python3', 'python3'],
  ['curl', 'curl'],
  ['busybox', 'busybox'],
  ['cpio', 'cpio'],
  ['xz', 'xz-utils'],
  ['flock', 'util-linux'],
  ['apt-get', 'apt'],
  ['dpkg-deb', 'dpkg'],
];

/** Everything missing for the e2e, as human-readable reasons; empty when it can run. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, taps, DHCP/TFTP ports)');
  for (const [tool, pkg] of TOOLS) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(`${tool} (Debian package ${pkg})`);
  }
  for (const [file, pkg] of [
    [join(IPXE_DIR, 'undionly.kpxe'), 'ipxe'],
    [join(IPXE_DIR, 'ipxe.efi'), 'ipxe'],
    [VIRTIO_ROM, 'ipxe-qemu'],
    [OVMF_CODE, 'ovmf'],
    [OVMF_VARS, 'ovmf'],
  ] as const) {
    if (!existsSync(file)) missing.push(`${file} (Debian package ${pkg})`);
  }
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    missing.push('/dev/net/tun (tap devices for QEMU)');
  }
  if (!existsSync(CLI)) missing.push(`${CLI} (run "npm run build" first)`);
  return missing;
}

/** Skip (locally) or fail (CI) when a prerequisite is missing; true when the e2e can run. */
export function requirePrerequisites(t: {
  pass(m: string, e: { skip: string }): unknown;
  fail(m: string): unknown;
}): boolean {
  const missing = missingPrerequisites();
  if (missing.length === 0) return true;
  const reason = `real-VM e2e needs: ${missing.join('; ')}`;
  if (process.env.CI) t.fail(`${reason} — CI must provide these (.ci/run installs them), refusing to skip`);
  else t.pass('real-VM e2e', { skip: reason });
  return false;
}

/**
 * Where the downloaded kernel and the built stand-in live between runs. The test never writes
 * into the project tree except test/e2e/.cache (gitignored), used when /var/cache is not writable.
 */
export function cacheDir(): string {
  if (process.env.METALBOOT_E2E_CACHE) return process.env.METALBOOT_E2E_CACHE;
  const system = '/var/cache/metalboot-e2e';
  try {
    mkdirSync(system, { recursive: true });
    accessSync(system, constants.W_OK);
    return system;
  } catch {
    return join(E2E_DIR, '.cache');
  }
}

export interface Standin {
  dir: string;
  vmlinuz: string;
  initramfs: string;
  kernelPackage: string;
}

/**
 * Builds (or reuses) the stand-in Talos: Debian kernel + busybox initramfs. Keyed by the builder
 * script's content, so editing the script rebuilds; the builder itself rebuilds when Debian's
 * default kernel package changes. Bounded: 10 minutes (a cold run downloads ~70 MB).
 */
export async function ensureStandin(): Promise<Standin> {
  const cache = cacheDir();
  const hash = createHash('sha256').update(readFileSync(BUILD_STANDIN)).digest('hex').slice(0, 12);
  const dir = join(cache, `standin-${hash}`);
  const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', [BUILD_STANDIN, dir], {
      env: { ...process.env, METALBOOT_E2E_CACHE: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  if (out.code !== 0) throw new Error(`build-standin.sh failed (exit ${out.code}):\n${out.output}`);
  return {
    dir,
    vmlinuz: join(dir, 'vmlinuz-amd64'),
    initramfs: join(dir, 'initramfs-amd64.xz'),
    kernelPackage: readFileSync(join(dir, 'kernel-package'), 'utf8').trim(),
  };
}
