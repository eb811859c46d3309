import { createDocument, type ConfigDocument } from './documents.js';
import type { ConfigMap } from './values.js';
import { matchDevicePath, selectorToCel } from './disk-match.js';
import { ValidationError } from '../errors.js';
import { contractFor } from './talos-contract.js';
import type { Cluster, Machine } from '../types.js';

// A machine's install settings (disk or disk selector, whole-disk wipe of a reimage, the installer
// image of the cluster's Image Factory schematic), written where the cluster's Talos version reads
// them (talos-contract.ts): `.machine.install` up to v1.13, an UnattendedInstallConfig document from
// v1.14 on — never both, which Talos refuses.

export const UNATTENDED_INSTALL_KIND = 'UnattendedInstallConfig';

/** `.machine.install` keys an UnattendedInstallConfig has a place for; the rest are dropped with a warning. */
const MOVABLE_INSTALL_KEYS = new Set(['disk', 'diskSelector', 'image', 'wipe']);

/** The installer image of an Image Factory schematic, which keeps the extensions the machine booted with. */
export function factoryInstaller(schematic: string, version: string): string {
  return `factory.talos.dev/metal-installer/${schematic}:${version}`;
}

/**
 * Whether an installer image counts as chosen by the operator. talosctl writes
 * `ghcr.io/siderolabs/installer:<its own version>` when none is given; that vanilla image lacks a
 * schematic's extensions, so it yields to the schematic's (any patch release of the cluster's minor
 * counts, since talosctl's patch release may differ from the cluster's).
 */
function operatorImage(image: unknown, cluster: Cluster): boolean {
  if (typeof image !== 'string' || image === '') return false;
  const minor = /^(v\d+\.\d+)\./.exec(cluster.talosVersion)?.[1];
  const talosctlDefault = /^ghcr\.io\/siderolabs\/installer:(v\d+\.\d+)\.[^/]*$/.exec(image);
  return !(talosctlDefault && talosctlDefault[1] === minor);
}

/** Writes the machine's install settings into the documents (in place); returns warnings. */
export function applyInstallSettings(docs: ConfigDocument[], main: ConfigMap, m: Machine, cluster: Cluster): string[] {
  const { contract } = contractFor(cluster.talosVersion);
  if (contract.installSettings === 'machine.install') {
    applyToMachineInstall(main, m, cluster);
    return [];
  }
  return applyToUnattendedInstall(docs, main, m, cluster);
}

function applyToMachineInstall(main: ConfigMap, m: Machine, cluster: Cluster): void {
  const machine = child(main, 'machine');
  // A reimage with `wipe: disk`: the install after the wipe boot wipes the whole install disk
  // (the wipe boot itself only clears STATE and EPHEMERAL).
  if (m.reimage?.wipe === 'disk') child(machine, 'install').wipe = true;
  if (m.installDisk) {
    const install = child(machine, 'install');
    install.disk = m.installDisk;
    delete install.diskSelector;
  } else if (m.installDiskSelector) {
    if (m.installDiskSelector.match !== undefined) {
      throw new ValidationError(
        `installDisk.match: a CEL disk match needs Talos v1.14 or newer (the cluster runs ${cluster.talosVersion}); use size, model, serial, wwid, type or busPath`,
        'installDisk',
      );
    }
    const install = child(machine, 'install');
    install.diskSelector = m.installDiskSelector as ConfigMap;
    delete install.disk;
  }
  if (cluster.schematic) {
    const install = child(machine, 'install');
    if (!operatorImage(install.image, cluster))
      install.image = factoryInstaller(cluster.schematic, cluster.talosVersion);
  }
}

function applyToUnattendedInstall(docs: ConfigDocument[], main: ConfigMap, m: Machine, cluster: Cluster): string[] {
  const warnings: string[] = [];
  const match = m.installDisk
    ? matchDevicePath(m.installDisk)
    : m.installDiskSelector
      ? selectorToCel(m.installDiskSelector)
      : undefined;
  let doc = docs.find((d) => d.identity.type === 'typed' && d.identity.kind === UNATTENDED_INSTALL_KIND)?.data;
  if (!doc) {
    // A base in the v1.13 shape on a v1.14 cluster: its `.machine.install` moves into the document
    // (Talos refuses both at once). Without a disk from either, the base stays as it is.
    const legacy = (main.machine as ConfigMap | undefined)?.install as ConfigMap | undefined;
    const legacyDisk = legacy?.disk
      ? matchDevicePath(String(legacy.disk))
      : legacy?.diskSelector
        ? selectorToCel(legacy.diskSelector as ConfigMap)
        : undefined;
    if (match === undefined && legacyDisk === undefined) {
      if (m.reimage?.wipe === 'disk')
        throw new ValidationError(
          'a whole-disk reimage needs an install disk: the config has no UnattendedInstallConfig and the machine no installDisk',
          'installDisk',
        );
      return warnings;
    }
    const created = unattendedInstall(legacyDisk ?? match!);
    if (legacy) warnings.push(...moveLegacyInstall(main, legacy, created));
    docs.push(createDocument(created));
    doc = created;
  }
  // Talos reboots after an unattended install only with `reboot: true` or an `installer.image`
  // (UnattendedInstallConfigV1Alpha1.Reboot: "If not set, Talos will reboot only if the
  // installer.image is set"); talosctl writes `installer: {}`. A network-booted machine must reboot
  // into what it installed, so an unset flag becomes true; an operator's `reboot: false` stays.
  if (doc.reboot === undefined) doc.reboot = true;
  const provisioning = child(doc, 'provisioning');
  if (match !== undefined) provisioning.diskSelector = { match };
  if (m.reimage?.wipe === 'disk') provisioning.wipe = true;
  if (cluster.schematic) {
    const installer = child(doc, 'installer');
    if (!operatorImage(installer.image, cluster))
      installer.image = factoryInstaller(cluster.schematic, cluster.talosVersion);
  }
  return warnings;
}

function unattendedInstall(match: string): ConfigMap {
  return { apiVersion: 'v1alpha1', kind: UNATTENDED_INSTALL_KIND, provisioning: { diskSelector: { match } } };
}

function moveLegacyInstall(main: ConfigMap, legacy: ConfigMap, doc: ConfigMap): string[] {
  if (typeof legacy.image === 'string' && legacy.image !== '') doc.installer = { image: legacy.image };
  if (legacy.wipe === true) (doc.provisioning as ConfigMap).wipe = true;
  delete (main.machine as ConfigMap).install;
  return Object.keys(legacy)
    .filter((key) => !MOVABLE_INSTALL_KEYS.has(key))
    .map(
      (key) =>
        `machine.install.${key}: dropped: the UnattendedInstallConfig document that replaces .machine.install from Talos v1.14 has no such setting`,
    );
}

function child(parent: ConfigMap, key: string): ConfigMap {
  const v = parent[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as ConfigMap;
  const fresh: ConfigMap = {};
  parent[key] = fresh;
  return fresh;
}
