/**
 * The scripts that boot Talos, as BootService.machineScript serves them: the wipe boot of a
 * reimage and the install (which issues the config token). Split from boot-service.ts: it is the
 * one script that builds a kernel line and touches tokens.
 */
import { buildCmdline } from '../config/cmdline.js';
import type { Cluster, Machine, SeenFacts } from '../types.js';
import type { BootDeps, MachineScriptRequest, ScriptKind } from './boot-types.js';
import { hashToken, newToken } from './config-token.js';

/** The scripts that boot Talos: the wipe boot of a reimage (no config, no token) or the install. */
export async function talosScript(
  deps: BootDeps,
  kind: 'wipe' | 'install',
  req: MachineScriptRequest,
  seen: SeenFacts,
  base: { baseUrl: string; mac: string; retrySeconds: number },
  machine: Machine,
  cluster: Cluster,
): Promise<{ kind: ScriptKind; script: string }> {
  const { mac } = base;
  const arch = seen.arch ?? cluster.arch;
  const assets = `${deps.settings.advertiseUrl}/assets/talos/${cluster.talosVersion}`;
  const kernel = {
    kernelUrl: `${assets}/vmlinuz-${arch}`,
    initrdUrl: `${assets}/initramfs-${arch}.xz`,
    initrdName: `initramfs-${arch}.xz`,
  };
  const providedArgs = deps.kernelArgProviders.flatMap((p) => p(machine, cluster));
  if (kind === 'wipe') {
    // Reimage, first boot: Talos wipes STATE/EPHEMERAL and reboots. Without this, a PXE-booted
    // Talos finds the old STATE and skips the install. No config (and no token) for this boot.
    await deps.store.tokens.revokeForMachine(mac);
    await deps.machines.noteWipe(mac, 'served');
    const script = deps.templates.install({
      ...base,
      machine,
      cluster,
      ...kernel,
      wipe: true,
      cmdline: buildCmdline(cluster.talosVersion, arch, cluster.kernelArgs, [
        ...providedArgs,
        'talos.experimental.wipe=system',
      ]),
    });
    await deps.timeline.record(
      machine,
      'machine-script',
      { script: 'wipe', wipe: machine.reimage?.wipe, talosVersion: cluster.talosVersion, arch },
      { sourceIp: req.sourceIp, state: 'wiping' },
    );
    return { kind: 'wipe', script };
  }
  const token = newToken();
  const now = deps.timeline.now();
  await deps.store.tokens.issue({
    tokenHash: hashToken(token),
    mac,
    sourceIp: req.sourceIp,
    createdAt: now,
    expiresAt: new Date(Date.parse(now) + deps.settings.configTokenTtlMs).toISOString(),
  });
  const configUrl = `${deps.settings.advertiseUrl}/config/${mac}?token=${token}`;
  const ownArgs = [...providedArgs, `talos.config=${configUrl}`];
  const script = deps.templates.install({
    ...base,
    machine,
    cluster,
    ...kernel,
    wipe: false,
    cmdline: buildCmdline(cluster.talosVersion, arch, cluster.kernelArgs, ownArgs),
  });
  await deps.timeline.record(
    machine,
    'machine-script',
    { script: 'install', talosVersion: cluster.talosVersion, arch, firmware: seen.firmware ?? null },
    { sourceIp: req.sourceIp, signal: 'install-script' },
  );
  return { kind: 'install', script };
}
