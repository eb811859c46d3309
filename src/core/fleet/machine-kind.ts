/** `kind: Machine`: a machine by its MAC, as MachineService registers and edits it. */
import type { MachineInput } from '../registry/machine-input.js';
import { parseStationMac } from '../registry/mac.js';
import type { Machine } from '../types.js';
import { FleetError, locate, type FleetDocument } from './document.js';
import { type FleetKind, type PlanContext, type PlannedChange, sameData, textOf } from './kinds.js';

/** What a Machine document sets: the input field, and how the record keeps it. */
const FIELDS: ReadonlyArray<[keyof MachineInput, (m: Machine) => unknown]> = [
  ['hostname', (m) => m.hostname],
  ['role', (m) => m.role],
  ['cluster', (m) => m.cluster],
  ['installDisk', (m) => m.installDisk ?? m.installDiskSelector],
  ['labels', (m) => m.labels],
  ['patches', (m) => m.patches],
  ['uuid', (m) => m.uuid],
  ['serial', (m) => m.serial],
  ['ip', (m) => m.ip],
  ['bootFile', (m) => m.bootFile],
  ['localBoot', (m) => m.localBoot],
  ['installed', (m) => m.installed],
];

/**
 * The document as MachineService's input. A field left out is unset, except what the network or
 * the machine itself fills in (uuid, serial, installed): those are kept unless the document says.
 */
export function machineInput(doc: FleetDocument, ctx: Pick<PlanContext, 'files'>): MachineInput {
  const d = doc.data as Record<string, unknown>;
  const input: MachineInput = {
    mac: String(d.mac),
    hostname: (d.hostname as string | null | undefined) ?? null,
    role: (d.role as MachineInput['role']) ?? null,
    cluster: (d.cluster as string | null | undefined) ?? null,
    installDisk: (d.installDisk as MachineInput['installDisk']) ?? null,
    labels: (d.labels as Record<string, string> | undefined) ?? {},
    patches: ((d.patches as unknown[] | undefined) ?? []).map((_, i) => textOf(doc, ['patches', i], ctx)),
    ip: (d.ip as string | null | undefined) ?? null,
    bootFile: (d.bootFile as string | null | undefined) ?? null,
    localBoot: (d.localBoot as MachineInput['localBoot']) ?? 'exit',
  };
  for (const f of ['uuid', 'serial', 'installed'] as const)
    if (f in d) (input as unknown as Record<string, unknown>)[f] = d[f];
  return input;
}

export const machineKind: FleetKind = {
  kind: 'Machine',
  noun: 'machine',
  schema: 'machine.schema.json',
  key(doc) {
    try {
      return parseStationMac(String(doc.data.mac));
    } catch (err) {
      throw locate(err, doc, ['mac']);
    }
  },

  async plan(docs: FleetDocument[], ctx: PlanContext): Promise<PlannedChange[]> {
    refuseSharedNames(docs);
    const out: PlannedChange[] = [];
    const clusterOf = async (name: string) => ctx.clusters.get(name);
    const { actor } = ctx;
    for (const doc of docs) {
      const input = machineInput(doc, ctx);
      let prepared: Awaited<ReturnType<typeof ctx.services.machines.prepare>>;
      try {
        prepared = await ctx.services.machines.prepare(input, clusterOf);
      } catch (err) {
        throw locate(err, doc, []);
      }
      const { machine, existing } = prepared;
      const base = { kind: 'machine', name: machine.hostname ?? machine.mac, id: machine.mac };
      if (!existing || existing.state === 'discovered') {
        out.push({
          ...base,
          op: 'create',
          write: async () => {
            await ctx.services.machines.register(input, actor);
          },
        });
        continue;
      }
      const changed = FIELDS.filter(([, read]) => !sameData(read(existing), read(machine))).map(([f]) => f);
      if (changed.length === 0) {
        out.push({ ...base, op: 'unchanged' });
        continue;
      }
      const patch = Object.fromEntries(changed.map((f) => [f, input[f]]));
      out.push({
        ...base,
        op: 'update',
        fields: changed,
        write: async () => {
          await ctx.services.machines.update(machine.mac, patch, actor);
        },
      });
    }
    return out;
  },

  async prune(keys: Set<string>, ctx: PlanContext): Promise<PlannedChange[]> {
    const { actor } = ctx;
    return (await ctx.services.machines.list())
      .filter((m) => m.state !== 'discovered' && !keys.has(m.mac))
      .map((m) => ({
        op: 'delete' as const,
        kind: 'machine',
        name: m.hostname ?? m.mac,
        id: m.mac,
        write: () => ctx.services.machines.delete(m.mac, actor),
      }));
  },
};

/**
 * Two documents giving one host name in one cluster, or one reserved address: each would pass the
 * registry's own check alone (the other is not written yet), so the file is checked as a whole.
 */
function refuseSharedNames(docs: FleetDocument[]): void {
  const seen = new Map<string, FleetDocument>();
  for (const doc of docs) {
    const d = doc.data as { hostname?: string | null; cluster?: string | null; ip?: string | null };
    const claims: Array<[string, string, string]> = [];
    if (d.hostname && d.cluster)
      claims.push([`host ${d.cluster}/${d.hostname}`, 'hostname', `hostname ${d.hostname} in cluster ${d.cluster}`]);
    if (d.ip) claims.push([`ip ${d.ip}`, 'ip', `ip ${d.ip}`]);
    for (const [key, field, what] of claims) {
      const first = seen.get(key);
      if (first)
        throw new FleetError(
          { file: doc.file, document: doc.index, kind: doc.kind, line: doc.lineOf([field]) },
          `${what} is also given to document ${first.index} (line ${first.lineOf([field])}); host names are unique within a cluster, and an address is reserved for one machine`,
          field,
        );
      seen.set(key, doc);
    }
  }
}
