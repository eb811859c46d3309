/** How `machine list` and `show` print a machine: its firmware and its progress fields. */
import type { MachineProgressView } from '../../core/progress/machine-view.js';
import type { Machine } from '../../core/types.js';

/** `machine show`'s lines on where the machine is and why (none when the server has no progress view). */
export function progressFields(p: MachineProgressView | undefined): Array<[string, unknown]> {
  if (!p) return [];
  const fields: Array<[string, unknown]> = [];
  if (p.failure) fields.push(['failure', `${p.failure.reason} (${p.failure.source}, ${p.failure.at})`]);
  if (p.waitingFor) fields.push(['waiting for', p.waitingFor]);
  if (p.unmetConditions.length)
    fields.push(['unmet', p.unmetConditions.map((c) => `${c.name}: ${c.reason}`).join('\n')]);
  if (p.talos.stage || p.talos.lastEventAt)
    fields.push([
      'talos',
      `stage ${p.talos.stage ?? '?'}, ready ${p.talos.ready === null ? '?' : p.talos.ready ? 'yes' : 'no'}, last event ${p.talos.lastEventAt ?? '-'}`,
    ]);
  if (p.stall) fields.push(['stalls at', `${p.stall.dueAt} if still ${p.state}`]);
  return fields;
}

/** "arch/firmware" as seen at the last boot, e.g. amd64/efi; undefined when neither is known. */
export function firmware(m: Machine): string | undefined {
  const parts = [m.lastSeen.arch, m.lastSeen.firmware].filter(Boolean);
  return parts.length ? parts.join('/') : undefined;
}
