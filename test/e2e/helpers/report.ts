/**
 * Reading a boot back: the machine's timeline as steps with times, the DHCP/TFTP packets the VM
 * exchanged (from the lab's capture), and a failure report that explains a broken boot by itself.
 */
import { spawnSync } from 'node:child_process';
import type { Lab, MachineEvent } from './lab.js';
import { serialTail, type VmRun } from './vm.js';

export type StepKey = 'dhcp' | 'tftp' | 'boot-script' | 'machine-script' | 'kernel' | 'initramfs' | 'config' | 'kmsg';

export interface Step {
  key: StepKey;
  label: string;
  match: (e: MachineEvent, script: string) => boolean;
}

/** The network boot, in the order the timeline must show it (a subsequence: repeats are fine). */
export const STEPS: Step[] = [
  {
    key: 'dhcp',
    label: 'DHCP',
    match: (e) => /^dhcp-/.test(e.kind) && (e.detail.reply === 'OFFER' || e.detail.reply === 'ACK'),
  },
  { key: 'tftp', label: 'TFTP', match: (e) => e.kind === 'tftp-completed' },
  { key: 'boot-script', label: 'boot script', match: (e) => e.kind === 'boot-script' },
  {
    key: 'machine-script',
    label: 'machine script',
    match: (e, script) => e.kind === 'machine-script' && e.detail.script === script,
  },
  { key: 'kernel', label: 'kernel', match: (e) => e.kind === 'kernel-download-completed' },
  { key: 'initramfs', label: 'initramfs', match: (e) => e.kind === 'initramfs-download-completed' },
  { key: 'config', label: 'config', match: (e) => e.kind === 'config-delivered' },
  // Talos's "[talos] install successful" kernel-log line, ingested by metalboot's kmsg receiver.
  {
    key: 'kmsg',
    label: 'kernel log: install successful',
    match: (e) => e.kind === 'install-succeeded' && e.detail.source === 'kernel-log' && e.state === 'installed',
  },
];

export interface StepHit {
  key: StepKey;
  event: MachineEvent;
  seconds: number;
}

/**
 * Walks the timeline in order and finds each wanted step after the previous one. Returns the hits
 * and the first wanted step that is missing (undefined when the whole path is there).
 */
export function followSteps(
  events: MachineEvent[],
  wanted: StepKey[],
  script: string,
  t0: number,
): { hits: StepHit[]; missing?: StepKey } {
  const hits: StepHit[] = [];
  let from = 0;
  for (const key of wanted) {
    const step = STEPS.find((s) => s.key === key)!;
    const i = events.findIndex((e, idx) => idx >= from && step.match(e, script));
    if (i === -1) return { hits, missing: key };
    hits.push({ key, event: events[i]!, seconds: (Date.parse(events[i]!.at) - t0) / 1000 });
    from = i + 1;
  }
  return { hits };
}

/** For the timing table: when each step first shows on the timeline, whatever the order. */
export function firstSeen(
  events: MachineEvent[],
  keys: StepKey[],
  script: string,
  t0: number,
): Partial<Record<StepKey, number>> {
  const cells: Partial<Record<StepKey, number>> = {};
  for (const key of keys) {
    const step = STEPS.find((s) => s.key === key)!;
    const e = events.find((ev) => Date.parse(ev.at) >= t0 - 1000 && step.match(ev, script));
    if (e) cells[key] = (Date.parse(e.at) - t0) / 1000;
  }
  return cells;
}

export function formatTimeline(events: MachineEvent[], t0: number): string {
  if (events.length === 0) return '  (no events)';
  return events
    .map((e) => {
      const s = ((Date.parse(e.at) - t0) / 1000).toFixed(2).padStart(7);
      const detail = JSON.stringify(e.detail);
      return `  ${s}s #${e.id} ${e.kind}${e.state ? ` → ${e.state}` : ''} from ${e.sourceIp ?? '-'} ${detail.length > 240 ? `${detail.slice(0, 240)}…` : detail}`;
    })
    .join('\n');
}

/**
 * One line per DHCP packet to or from `mac` (matched on the BOOTP chaddr: replies to OVMF's PXE are
 * broadcast, so the Ethernet address would miss them), with the options that decide a PXE boot;
 * then the TFTP read requests the VM sent. Times are seconds since `t0`.
 */
export function packetSummary(pcap: string, mac: string, t0: number, t1: number): string {
  const r = spawnSync('tcpdump', ['-r', pcap, '-n', '-vv', '-tt', 'udp port 67 or udp port 68 or udp port 4011'], {
    encoding: 'utf8',
    timeout: 20_000,
    maxBuffer: 64 << 20,
  });
  const lines: Array<{ at: number; text: string }> = [];
  let cur: { ts: number; head: string; body: string[] } | undefined;
  const flush = () => {
    if (!cur || cur.ts * 1000 < t0 - 1000 || cur.ts * 1000 > t1 + 1000) return;
    const body = cur.body.join('\n');
    const chaddr = /Client-Ethernet-Address (\S+)/.exec(body)?.[1];
    if (chaddr?.toLowerCase() !== mac.toLowerCase()) return;
    const pick = (re: RegExp) => re.exec(body)?.[1];
    const flow = /IP (?:\([^)]*\)\s*)?(\S+ > \S+):/.exec(cur.head)?.[1] ?? /^\s*(\S+ > \S+):/m.exec(body)?.[1] ?? '';
    const parts = [
      `+${((cur.ts * 1000 - t0) / 1000).toFixed(2)}s`,
      flow,
      pick(/DHCP-Message \(53\), length 1: (\w+)/) ?? 'BOOTP',
      pick(/Your-IP (\S+)/) ? `yiaddr=${pick(/Your-IP (\S+)/)}` : '',
      pick(/Server-ID \(54\), length 4: (\S+)/) ? `server-id=${pick(/Server-ID \(54\), length 4: (\S+)/)}` : '',
      pick(/Vendor-Class \(60\), length \d+: "([^"]*)"/)
        ? `vc=${pick(/Vendor-Class \(60\), length \d+: "([^"]*)"/)}`
        : '',
      pick(/ARCH \(93\), length \d+: (\d+)/) !== undefined ? `arch=${pick(/ARCH \(93\), length \d+: (\d+)/)}` : '',
      /User-Class \(77\)/.test(body) ? 'opt77' : '', // iPXE sends a bare "iPXE", which tcpdump calls invalid
      /\((175)\)/.test(body) ? 'opt175' : '',
      pick(/file "([^"]*)"/) ? `file=${pick(/file "([^"]*)"/)}` : '',
      pick(/BF \(67\), length \d+: "([^"]*)"/) ? `opt67=${pick(/BF \(67\), length \d+: "([^"]*)"/)}` : '',
    ].filter(Boolean);
    lines.push({ at: cur.ts, text: `  ${parts.join(' ')}` });
  };
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^(\d+\.\d+) /.exec(line);
    if (m) {
      flush();
      cur = { ts: Number(m[1]), head: line, body: [] };
    } else cur?.body.push(line);
  }
  flush();
  for (const r of tftpRequests(pcap, mac, t0, t1))
    lines.push({ at: t0 / 1000 + r.seconds, text: `  +${r.seconds.toFixed(2)}s TFTP RRQ "${r.file}" to ${r.to}` });
  lines.sort((a, b) => a.at - b.at);
  return lines.length > 0
    ? lines.map((l) => l.text).join('\n')
    : `  (no DHCP/TFTP packets for ${mac} in ${pcap}${r.error ? `: ${r.error.message}` : ''})`;
}

/** TFTP read requests the VM sent (from the capture, so independent of metalboot's timeline). */
export function tftpRequests(
  pcap: string,
  mac: string,
  t0: number,
  t1: number,
): Array<{ file: string; to: string; seconds: number }> {
  const r = spawnSync('tcpdump', ['-r', pcap, '-n', '-tt', '-e', 'udp dst port 69'], {
    encoding: 'utf8',
    timeout: 20_000,
    maxBuffer: 16 << 20,
  });
  const out: Array<{ file: string; to: string; seconds: number }> = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    const ts = Number(/^(\d+\.\d+)/.exec(line)?.[1]);
    if (!ts || ts * 1000 < t0 - 1000 || ts * 1000 > t1 + 1000 || !line.toLowerCase().includes(`${mac.toLowerCase()} >`))
      continue;
    const m = /> (\d+\.\d+\.\d+\.\d+)\.69: TFTP[^"]*RRQ "([^"]*)"/.exec(line);
    if (m) out.push({ to: m[1]!, file: m[2]!, seconds: (ts * 1000 - t0) / 1000 });
  }
  return out;
}

/** Everything needed to understand a failed boot without rerunning it. */
export async function failureReport(
  lab: Lab,
  mac: string,
  run: VmRun | undefined,
  t0: number,
  serial: string,
): Promise<string> {
  const t1 = run?.endedAt ?? Date.now();
  const events = await lab.events(mac).catch(() => []);
  const out = [
    `==== failure report for ${mac} (${lab.mode} lab; artifacts in ${lab.opts.artifacts})`,
    run
      ? `qemu: exit=${run.exitCode} signal=${run.signal} timedOut=${run.timedOut} after ${((run.endedAt - run.startedAt) / 1000).toFixed(1)} s${run.deadEnd ? `; dead end: ${run.deadEnd}` : ''}${run.stoppedOn ? `; stopped on: ${run.stoppedOn}` : ''}`
      : 'qemu: not started',
    `---- timeline (GET /api/v1/machines/${mac}/events; seconds since power-on):`,
    formatTimeline(events, t0),
    `---- DHCP and TFTP packets for ${mac} (capture on the bridge):`,
    packetSummary(lab.files.pcap, mac, t0, t1),
    `---- serial console, last lines (${run?.serialFile ?? '-'}):`,
    serialTail(serial, 40),
    `---- metalboot log, last lines (${lab.files.metalbootLog}):`,
    lab.metalbootLogTail(25),
  ];
  if (lab.mode === 'proxy') out.push(`---- dnsmasq log, last lines (${lab.files.dnsmasqLog}):`, lab.dnsmasqLogTail(25));
  return out.join('\n');
}

export interface TimingRow {
  scenario: string;
  mode: string;
  cells: Partial<Record<StepKey | 'off', number>>;
  note?: string;
}

const COLUMNS: Array<[StepKey | 'off', string]> = [
  ['dhcp', 'DHCP'],
  ['tftp', 'TFTP'],
  ['boot-script', 'boot script'],
  ['machine-script', 'machine script'],
  ['kernel', 'kernel'],
  ['initramfs', 'initramfs'],
  ['config', 'config'],
  ['kmsg', 'kernel log'],
  ['off', 'powered off'],
];

/** Markdown table: seconds from power-on to the first time each step shows on the timeline. */
export function timingTable(rows: TimingRow[]): string {
  const head = `| scenario | mode | ${COLUMNS.map(([, l]) => l).join(' | ')} |`;
  const sep = `|${'---|'.repeat(COLUMNS.length + 2)}`;
  const body = rows.map((r) => {
    const cells = COLUMNS.map(([k]) => (r.cells[k] === undefined ? '—' : `${r.cells[k]!.toFixed(1)} s`));
    return `| ${r.scenario}${r.note ? ` (${r.note})` : ''} | ${r.mode} | ${cells.join(' | ')} |`;
  });
  return [head, sep, ...body].join('\n');
}
