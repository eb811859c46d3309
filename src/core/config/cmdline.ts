import type { Arch } from '../types.js';

/** `v1.13.9` → [1, 13, 9]; throws on anything that is not a Talos release tag. */
export function parseTalosVersion(v: string): [number, number, number] {
  const m = /^v(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) throw new Error(`"${v}" is not a Talos version (expected e.g. v1.13.9)`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function atLeast(v: [number, number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/**
 * The kernel arguments Talos's own metal images carry for a version (from Talos's source,
 * `pkg/machinery/kernel` and the imager's defaults). PXE boots have no image to carry them, so the
 * provisioning server must supply them; `slab_nomerge` and `pti=on` are mandatory (boot fails
 * without them).
 */
export function talosMetalArgs(version: string, arch: Arch): string[] {
  const v = parseTalosVersion(version);
  const args = ['talos.platform=metal'];
  args.push(...(arch === 'arm64' ? ['console=ttyAMA0', 'console=tty0'] : ['console=tty0']));
  if (!atLeast(v, 1, 14)) args.push('init_on_alloc=1');
  args.push('slab_nomerge', 'pti=on', 'consoleblank=0');
  if (!atLeast(v, 1, 14)) args.push('nvme_core.io_timeout=4294967295');
  args.push('printk.devkmsg=on');
  if (!atLeast(v, 1, 11)) args.push('ima_template=ima-ng', 'ima_appraise=fix', 'ima_hash=sha512');
  if (atLeast(v, 1, 10)) args.push('selinux=1');
  if (atLeast(v, 1, 12)) args.push('module.sig_enforce=1');
  if (atLeast(v, 1, 13)) args.push('proc_mem.force_override=never');
  return args;
}

/**
 * iPXE expands `${…}` in a script line, so values that reach the kernel line literally must not
 * contain a `$`; we reject them rather than escape, because Talos would see the escape too.
 */
export function assertIpxeSafe(arg: string): void {
  if (/[\s$"'\\]/.test(arg)) throw new Error(`kernel argument "${arg}" contains whitespace, quotes or "$"`);
}

/**
 * The whole command line: metal defaults, then the cluster's extra args (later wins for the
 * kernel, so operators can override a default), then metalboot's own (config URL, wipe…).
 */
export function buildCmdline(version: string, arch: Arch, clusterArgs: string[], ownArgs: string[]): string {
  return [...talosMetalArgs(version, arch), ...clusterArgs, ...ownArgs].join(' ');
}
