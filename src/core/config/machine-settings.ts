import { createDocument, findMainDocument, type ConfigDocument } from './documents.js';
import type { ConfigMap } from './values.js';
import { ValidationError } from '../errors.js';
import { applyInstallSettings } from './install-settings.js';
import type { Cluster, Machine, Role } from '../types.js';

// What a render adds to the cluster's configs for one machine: the template variables patches
// may use, metalboot's per-machine settings, and documents other parts of metalboot provide.

export function mainDocument(docs: ConfigDocument[]): Record<string, unknown> | undefined {
  return findMainDocument(docs)?.data as Record<string, unknown> | undefined;
}

const kindOf = (d: ConfigDocument) => (d.identity.type === 'typed' ? d.identity.kind : undefined);

/** The variables patches can use: `{{machine.hostname}}`, `{{machine.labels.rack}}`, `{{cluster.name}}`… */
export function templateVars(cluster: Cluster, m: Machine): object {
  return {
    machine: {
      mac: m.mac,
      hostname: m.hostname ?? '',
      role: m.role,
      uuid: m.uuid ?? '',
      serial: m.serial ?? '',
      ip: m.ip ?? m.lastSeen.ip ?? '',
      installDisk: m.installDisk ?? '',
      labels: m.labels,
    },
    cluster: { name: cluster.name, talosVersion: cluster.talosVersion, endpoint: cluster.endpoint ?? '' },
  };
}

/** Stand-in values to check that a cluster patch parses before any machine exists. */
export function sampleVars(cluster: Cluster, role: Role): object {
  const labels = new Proxy({}, { get: () => 'x', has: () => true });
  return {
    machine: {
      mac: '00:00:00:00:00:00',
      hostname: 'node',
      role,
      uuid: '',
      serial: '',
      ip: '',
      installDisk: '/dev/sda',
      labels,
    },
    cluster: { name: cluster.name, talosVersion: cluster.talosVersion, endpoint: cluster.endpoint ?? '' },
  };
}

function obj(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

/**
 * Hostname the way the base's version expects: a HostnameConfig document when the config has one
 * (talosctl ≥ 1.12 output), `machine.network.hostname` otherwise — never both (Talos rejects it).
 * Install settings where the cluster's Talos version reads them (install-settings.ts). Mutates
 * `docs` (a document may be appended); returns warnings.
 */
export function applyMachineSettings(docs: ConfigDocument[], m: Machine, cluster: Cluster): string[] {
  const main = mainDocument(docs);
  if (!main) throw new ValidationError('config has no v1alpha1 document');
  const machine = obj(main, 'machine');
  if (m.hostname) {
    const hostnameDoc = docs.find((d) => kindOf(d) === 'HostnameConfig')?.data as Record<string, unknown> | undefined;
    if (hostnameDoc) {
      hostnameDoc.hostname = m.hostname;
      hostnameDoc.auto = 'off';
      const network = machine.network as Record<string, unknown> | undefined;
      if (network) delete network.hostname;
    } else {
      obj(machine, 'network').hostname = m.hostname;
    }
  }
  return applyInstallSettings(docs, main as ConfigMap, m, cluster);
}

/** Provided documents replace a document of the same apiVersion/kind/name or are appended. */
export function mergeProvided(docs: ConfigDocument[], provided: ConfigMap[]): ConfigDocument[] {
  const out = [...docs];
  for (const data of provided) {
    const doc = createDocument(data);
    const key = JSON.stringify(doc.identity);
    const i = out.findIndex((d) => JSON.stringify(d.identity) === key);
    if (i >= 0) out[i] = doc;
    else out.push(doc);
  }
  return out;
}
