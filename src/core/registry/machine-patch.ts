/**
 * Applying what an operator sends (register, update) to a machine record: the checks that need
 * the store (cluster, address reservation) and the renderer (a broken patch is refused now, not
 * at boot). Split from machines.ts; the checks that need nothing are in machine-input.ts.
 */
import { isIP } from 'node:net';
import type { ConfigRenderer } from '../config/render.js';
import { ConflictError, ValidationError } from '../errors.js';
import type { Store } from '../ports/types.js';
import type { Cluster, Machine } from '../types.js';
import { BOOT_FILE_RE, checkHostname, checkLabels, DISK_PATH_RE, invalid, type MachinePatch } from './machine-input.js';
import { normaliseUuid } from './uuid.js';

/**
 * The machine `m` with the operator's patch `p` applied, checked: fields parsed, the cluster
 * exists, the address is not reserved for another machine, and the result renders.
 */
export async function applyMachinePatch(
  store: Store,
  renderer: ConfigRenderer,
  m: Machine,
  p: MachinePatch,
  now: string,
  /** Where clusters are looked up: the store's, or (apply) the clusters as a fleet file will leave them. */
  clusterOf: (name: string) => Promise<Cluster | null | undefined> = (name) => store.clusters.get(name),
): Promise<Machine> {
  const next: Machine = { ...m, labels: { ...m.labels }, updatedAt: now };
  if (p.hostname !== undefined) next.hostname = checkHostname(p.hostname);
  if (p.role !== undefined) next.role = p.role;
  if (p.cluster !== undefined) {
    if (p.cluster !== null && !(await clusterOf(p.cluster))) {
      throw new ValidationError(`cluster "${p.cluster}" does not exist`, 'cluster');
    }
    next.cluster = p.cluster;
  }
  if (p.installDisk !== undefined) {
    next.installDisk = null;
    next.installDiskSelector = null;
    if (typeof p.installDisk === 'string') {
      if (!DISK_PATH_RE.test(p.installDisk))
        throw new ValidationError('installDisk must be a /dev/… path or a Talos diskSelector object', 'installDisk');
      next.installDisk = p.installDisk;
    } else if (p.installDisk !== null) {
      next.installDiskSelector = p.installDisk;
    }
  }
  if (p.uuid !== undefined) {
    next.uuid =
      p.uuid === null
        ? null
        : (normaliseUuid(p.uuid) ?? invalid('uuid must be an SMBIOS UUID (8-4-4-4-12 hex)', 'uuid'));
  }
  if (p.serial !== undefined) next.serial = p.serial;
  if (p.labels !== undefined) next.labels = checkLabels(p.labels);
  if (p.patches !== undefined) next.patches = p.patches;
  if (p.ip !== undefined) {
    if (p.ip !== null && isIP(p.ip) !== 4) throw new ValidationError('ip must be an IPv4 address', 'ip');
    const owner = p.ip === null ? undefined : await store.machines.reservationOwner(p.ip);
    if (owner && owner !== m.mac) throw new ConflictError(`ip ${p.ip} is already reserved for ${owner}`);
    next.ip = p.ip;
  }
  if (p.bootFile !== undefined) {
    if (p.bootFile !== null && !BOOT_FILE_RE.test(p.bootFile))
      throw new ValidationError('bootFile must be a plain file name such as snponly.efi', 'bootFile');
    next.bootFile = p.bootFile;
  }
  if (p.localBoot !== undefined) next.localBoot = p.localBoot;
  // Talos names the Kubernetes node after the host: two machines of one cluster with the same name
  // would fight over one node. Other clusters are other Kubernetes clusters: names may repeat there.
  if (next.cluster && next.hostname && (p.hostname !== undefined || p.cluster !== undefined)) {
    const other = await store.machines.hostnameOwner(next.cluster, next.hostname, m.mac);
    if (other)
      throw new ConflictError(
        `hostname ${next.hostname} is already used by ${other} in cluster ${next.cluster}; host names are unique within a cluster`,
      );
  }
  if (p.installed !== undefined) {
    next.installed = p.installed;
    if (p.installed) next.reimage = null;
  }
  if (next.cluster && next.role) {
    // Render once now so a broken patch is a 400 at registration, not a 503 at boot time.
    const cluster = await clusterOf(next.cluster);
    if (cluster) await renderer.check(cluster, next);
  }
  return next;
}
