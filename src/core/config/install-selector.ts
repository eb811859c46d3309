import { parseAllDocuments } from 'yaml';
import { installProgressFor } from './talos-contract.js';
import type { Cluster, Machine } from '../types.js';

/**
 * Talos v1.14 installs from its `UnattendedInstallConfig` and, when that document's disk selector
 * matches no disk, logs nothing at all (its in-memory status says `pending`: "no disk matched the
 * selector", which no event reports). A machine that fetched its config and went silent is most
 * likely there, so its stall names the selector to check against the machine's disks.
 */
export function installSelectorHint(
  m: Pick<Machine, 'installDisk' | 'installDiskSelector' | 'role'>,
  cluster: Pick<Cluster, 'talosVersion' | 'controlplane' | 'worker'>,
): string | null {
  if (installProgressFor(cluster.talosVersion) !== 'install-controller-log') return null;
  const selector = describeSelector(m, cluster);
  if (!selector) {
    return `Talos ${cluster.talosVersion} installs only from an UnattendedInstallConfig document, and this machine's config has none: give the machine an installDisk (or the cluster config the document)`;
  }
  return `Talos ${cluster.talosVersion} logs nothing while its install disk selector matches no disk: check ${selector} against the machine's disks (\`talosctl get disks --insecure -n <machine ip>\`)`;
}

/** The selector the machine's config carries: its own disk or selector, else the cluster's base config's. */
function describeSelector(
  m: Pick<Machine, 'installDisk' | 'installDiskSelector' | 'role'>,
  cluster: Pick<Cluster, 'controlplane' | 'worker'>,
): string | null {
  if (m.installDisk) return `disk.dev_path == "${m.installDisk}" (the machine's installDisk)`;
  if (m.installDiskSelector) {
    const match = m.installDiskSelector.match;
    return typeof match === 'string'
      ? `${match} (the machine's installDiskSelector)`
      : `the machine's installDiskSelector ${JSON.stringify(m.installDiskSelector)}`;
  }
  const match = baseSelector(m.role === 'controlplane' ? cluster.controlplane : cluster.worker);
  return match ? `${match} (the cluster's ${m.role ?? 'worker'} config)` : null;
}

function baseSelector(configYaml: string): string | null {
  for (const doc of parseAllDocuments(configYaml)) {
    // A config that does not parse was refused at cluster create; nothing to name in it.
    if (!('toJS' in doc) || doc.errors.length) continue;
    const v = doc.toJS() as { kind?: unknown; provisioning?: { diskSelector?: { match?: unknown } } } | null;
    if (v?.kind !== 'UnattendedInstallConfig') continue;
    const match = v.provisioning?.diskSelector?.match;
    return typeof match === 'string' ? match : null;
  }
  return null;
}
