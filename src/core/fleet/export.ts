/**
 * The registry as fleet documents, such that applying them back changes nothing. Base configs and
 * patches are inline here (the CLI moves the bases into files of their own unless asked not to);
 * a machine's BMC is left out (its password is never handed out: set it with `machine bmc`), and
 * so is what the machine itself reports (state, installed, what the network saw).
 */
import type { Cluster, Machine } from '../types.js';

export interface FleetExport {
  /** In apply's order: clusters by name, then registered machines by MAC. */
  documents: Array<Record<string, unknown>>;
}

export function exportFleet(
  clusters: Cluster[],
  machines: Machine[],
  endpointOf: (c: Cluster) => string | null,
): FleetExport {
  const documents: Array<Record<string, unknown>> = [];
  for (const c of [...clusters].sort((a, b) => a.name.localeCompare(b.name)))
    documents.push(clusterDocument(c, endpointOf));
  for (const m of [...machines].filter((m) => m.state !== 'discovered').sort((a, b) => a.mac.localeCompare(b.mac)))
    documents.push(machineDocument(m));
  return { documents };
}

function clusterDocument(c: Cluster, endpointOf: (c: Cluster) => string | null): Record<string, unknown> {
  return withoutEmpty({
    kind: 'Cluster',
    name: c.name,
    talosVersion: c.talosVersion,
    arch: c.arch,
    // The endpoint only when it is not the one the base configs name (apply derives that one).
    endpoint: c.endpoint !== null && c.endpoint !== endpointOf(c) ? c.endpoint : null,
    schematic: c.schematic,
    kernelArgs: c.kernelArgs,
    controlplane: { inline: c.controlplane },
    worker: { inline: c.worker },
    patches: c.patches.map((inline) => ({ inline })),
  });
}

function machineDocument(m: Machine): Record<string, unknown> {
  return withoutEmpty({
    kind: 'Machine',
    mac: m.mac,
    hostname: m.hostname,
    role: m.role,
    cluster: m.cluster,
    installDisk: m.installDisk ?? m.installDiskSelector,
    labels: m.labels,
    ip: m.ip,
    uuid: m.uuid,
    serial: m.serial,
    bootFile: m.bootFile,
    localBoot: m.localBoot === 'exit' ? null : m.localBoot,
    patches: m.patches.map((inline) => ({ inline })),
  });
}

/** Unset fields are left out: apply reads a missing field as unset. */
function withoutEmpty(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).filter(
      ([, v]) =>
        v !== null &&
        v !== undefined &&
        !(Array.isArray(v) && v.length === 0) &&
        !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0),
    ),
  );
}
