import { classifyInstallControllerLine, splitZapLine, type InstallControllerSignal } from './install-controller-log.js';
import type { KernelLogLine } from '../types.js';

/**
 * The last lines of each machine's kernel log, in memory. Bounded twice: lines per machine and
 * machines (least recently written are dropped first), so a flood from anywhere cannot grow it.
 * Keys are MACs, or `ip:<address>` for a sender no machine is known by.
 */
export class KernelLogBuffer {
  private readonly rings = new Map<string, KernelLogLine[]>();

  constructor(
    readonly linesPerMachine = 500,
    readonly maxMachines = 2048,
  ) {}

  append(key: string, line: KernelLogLine): void {
    let ring = this.rings.get(key);
    if (ring)
      this.rings.delete(key); // re-insert: Map order is our LRU order
    else ring = [];
    ring.push(line);
    if (ring.length > this.linesPerMachine) ring.splice(0, ring.length - this.linesPerMachine);
    this.rings.set(key, ring);
    while (this.rings.size > this.maxMachines) this.rings.delete(this.rings.keys().next().value!);
  }

  tail(key: string, limit = this.linesPerMachine): KernelLogLine[] {
    const ring = this.rings.get(key) ?? [];
    return ring.slice(Math.max(0, ring.length - limit));
  }

  /** Lines of an unknown sender now known to be a machine move to the machine's log. */
  adopt(fromKey: string, toKey: string): void {
    const lines = this.rings.get(fromKey);
    if (!lines) return;
    this.rings.delete(fromKey);
    for (const line of lines) this.append(toKey, line);
  }
}

/** What a kernel-log line means for the machine, when it means anything. */
export type KernelLogSignal =
  | InstallControllerSignal
  | { kind: 'waiting-for-bootstrap'; message: string }
  | { kind: 'error'; message: string };

const ERROR_PRIORITIES = new Set(['emerg', 'alert', 'crit', 'err', 'error']);

/**
 * machined writes its own `[talos] …` lines to the kernel log. What matters here: Talos v1.14's
 * install controller (install-controller-log.ts), the installer's success before it ("installation
 * of v1.13.9 complete", "install successful"), etcd waiting for `talosctl bootstrap`, and errors
 * (kept as the failure reason's context).
 */
export function classifyKernelLine(line: KernelLogLine): KernelLogSignal | null {
  const msg = line.msg.trim();
  if (!msg.includes('[talos]')) return null;
  const text = msg.slice(msg.indexOf('[talos]') + 7).trim();
  const zap = splitZapLine(text);
  const controller = classifyInstallControllerLine(zap);
  if (controller) return controller;
  // Judged on zap's message alone: a line's fields may name anything.
  if (
    /\binstall(ation)?\b.*\b(complete|completed|successful|succeeded)\b/i.test(zap.message) &&
    !/\b(not|fail|failed|error)\b/i.test(zap.message)
  ) {
    return { kind: 'install-succeeded', message: zap.message };
  }
  if (/etcd is waiting to join the cluster/i.test(text)) return { kind: 'waiting-for-bootstrap', message: text };
  const level = (line.level ?? '').toLowerCase();
  if (level === 'error' || level === 'fatal' || ERROR_PRIORITIES.has((line.priority ?? '').toLowerCase())) {
    return { kind: 'error', message: text };
  }
  return null;
}

/** Parse one JSON line as Talos sends it; null when it is not a kernel-log object. */
export function parseKernelLine(text: string, receivedAt: string): KernelLogLine | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.msg !== 'string') return null;
  const str = (x: unknown) => (typeof x === 'string' ? x.slice(0, 64) : null);
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return {
    receivedAt,
    msg: o.msg.replace(/\n+$/, ''),
    facility: str(o.facility),
    priority: str(o.priority),
    seq: num(o.seq),
    clock: num(o.clock),
    level: str(o['talos-level']),
    talosTime: str(o['talos-time']),
  };
}
