import * as grpc from '@grpc/grpc-js';
import { connect, type Socket } from 'node:net';
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { ROOT } from './core-app.js';

/**
 * A Talos node, as far as metalboot can tell: a gRPC client of `/events.EventSinkService/Publish`
 * encoding with upstream's protos (test/fixtures/talos/standin, not metalboot's own), and a TCP
 * client streaming kernel-log JSON lines. The event sequences are the ones Talos's sequencer
 * emits (initialize → install → kexec/reboot; initialize → install (no-op) → boot; services;
 * machine status).
 */
const STANDIN = join(ROOT, 'test/fixtures/talos/standin');
const root = new protobuf.Root();
root.resolvePath = (_origin, target) =>
  target.startsWith('google/') || isAbsolute(target) ? target : join(STANDIN, target);
root.loadSync(
  ['events/events.proto', 'machine/machine.proto'].map((f) => join(STANDIN, f)),
  { keepCase: true },
);
const EventRequest = root.lookupType('events.EventRequest');

export type StandInEvent = { type: string; payload: Record<string, unknown>; id?: string };

export const ev = {
  sequence: (
    sequence: string,
    action: 'NOOP' | 'START' | 'STOP',
    error?: { code?: 'FATAL' | 'LOCKED'; message: string },
  ): StandInEvent => ({
    type: 'SequenceEvent',
    payload: { sequence, action, ...(error ? { error: { code: error.code ?? 'FATAL', message: error.message } } : {}) },
  }),
  phase: (phase: string, action: 'START' | 'STOP'): StandInEvent => ({
    type: 'PhaseEvent',
    payload: { phase, action },
  }),
  task: (task: string, action: 'START' | 'STOP'): StandInEvent => ({ type: 'TaskEvent', payload: { task, action } }),
  service: (
    service: string,
    action: string,
    message = '',
    health?: { healthy: boolean; unknown?: boolean },
  ): StandInEvent => ({
    type: 'ServiceStateEvent',
    payload: {
      service,
      action,
      message,
      ...(health
        ? { health: { healthy: health.healthy, unknown: health.unknown ?? false, last_message: message } }
        : {}),
    },
  }),
  status: (stage: string, ready: boolean, unmet: { name: string; reason: string }[] = []): StandInEvent => ({
    type: 'MachineStatusEvent',
    payload: { stage, status: { ready, unmet_conditions: unmet } },
  }),
  configLoadError: (error: string): StandInEvent => ({ type: 'ConfigLoadErrorEvent', payload: { error } }),
  address: (hostname: string, addresses: string[]): StandInEvent => ({
    type: 'AddressEvent',
    payload: { hostname, addresses },
  }),
};

const phases = (names: string[]) => names.flatMap((p) => [ev.phase(p, 'START'), ev.phase(p, 'STOP')]);

/** The PXE boot that installs: Talos loads the config, runs the installer, kexecs into the disk. */
export function freshInstall(hostname: string, ip: string): StandInEvent[] {
  return [
    ev.sequence('initialize', 'START'),
    ...phases(['logger', 'systemRequirements', 'etc', 'config']),
    ev.sequence('initialize', 'STOP'),
    ev.status('BOOTING', false, [{ name: 'network', reason: 'waiting on: address, connectivity' }]),
    ev.address(hostname, [`${ip}/24`]),
    ev.sequence('install', 'START'),
    ...phases(['validateConfig', 'env', 'containerd']),
    ev.phase('install', 'START'),
    ev.status('INSTALLING', false),
    ev.task('install', 'START'),
    ev.task('install', 'STOP'),
    ev.phase('install', 'STOP'),
    ...phases(['saveStateEncryptionConfig', 'mountState', 'saveConfig', 'unmountState', 'stopEverything', 'mountBoot']),
    ev.phase('kexec', 'START'),
    ev.status('REBOOTING', false),
    ev.phase('kexec', 'STOP'),
    ev.phase('reboot', 'START'), // and the node is gone
  ];
}

/**
 * The install fails: the installer finds no disk. Talos's order (v1alpha1_controller.go): the
 * failed phase's deferred STOP, the sequence's deferred STOP, then Run's NOOP with the FATAL error;
 * the message wraps the task's error as Talos does (`install` is phase 2 of v1.13's install sequence).
 */
export function failedInstall(error = 'no disks matched the expression: disk.size >= 1000u * GB'): StandInEvent[] {
  return [
    ev.sequence('install', 'START'),
    ...phases(['env']),
    ev.phase('install', 'START'),
    ev.task('install', 'START'),
    ev.task('install', 'STOP'),
    ev.phase('install', 'STOP'),
    ev.sequence('install', 'STOP'),
    ev.sequence('install', 'NOOP', {
      message: `sequence failed: error running phase 2 in install sequence: task 1/1: failed, ${error}`,
    }),
  ];
}

/**
 * Talos v1.13's install sequence to its end (v1alpha1_sequencer.go Install): its phases, then the
 * reboot phase's RebootError, which ends the sequence with STOP and a NOOP carrying a FATAL
 * `… unix.Reboot(…)` — the reboot interrupting the sequence, not a failure.
 */
export function installToReboot(): StandInEvent[] {
  return [
    ev.sequence('install', 'START'),
    ...phases(['env']),
    ev.phase('install', 'START'),
    ev.status('INSTALLING', false),
    ev.task('install', 'START'),
    ev.task('install', 'STOP'),
    ev.phase('install', 'STOP'),
    ...phases(['meta', 'saveMeta', 'volumeFinalize', 'stopEverything', 'kexec']),
    ev.phase('reboot', 'START'),
    ev.task('reboot', 'START'),
    ev.task('reboot', 'STOP'),
    ev.phase('reboot', 'STOP'),
    ev.sequence('install', 'STOP'),
    ev.sequence('install', 'NOOP', {
      message: 'sequence failed: error running phase 8 in install sequence: task 1/1: failed, unix.Reboot(45584543)',
    }),
  ];
}

/** Booting the installed disk up to kubelet; `ready` adds the machine status that means joined. */
export function bootFromDisk(opts: { role?: 'worker' | 'controlplane'; ready?: boolean } = {}): StandInEvent[] {
  const services = opts.role === 'controlplane' ? ['apid', 'trustd', 'etcd', 'kubelet'] : ['apid', 'kubelet'];
  const out = [
    ev.sequence('initialize', 'START'),
    ...phases(['logger', 'systemRequirements', 'etc', 'mountSystem', 'config', 'unmountSystem']),
    ev.sequence('initialize', 'STOP'),
    ev.sequence('install', 'START'), // runs on every boot; no phases once installed
    ev.sequence('install', 'STOP'),
    ev.sequence('boot', 'START'),
    ...phases([
      'saveStateEncryptionConfig',
      'mountState',
      'validateConfig',
      'saveConfig',
      'env',
      'containerd',
      'ephemeral',
      'verifyInstall',
      'var',
      'overlay',
      'udevd',
      'userSetup',
    ]),
    ev.phase('startEverything', 'START'),
    ...services
      .filter((s) => s !== 'etcd')
      .flatMap((s) => [
        ev.service(s, 'PREPARING', 'Running pre state'),
        ev.service(s, 'PREPARING', 'Creating service runner'),
        ev.service(s, 'RUNNING', 'Service started', { healthy: false, unknown: true }),
      ]),
    ev.phase('startEverything', 'STOP'),
    ...phases(['uncordon', 'bootloader']),
    ev.sequence('boot', 'STOP'),
    ev.service('apid', 'RUNNING', 'Health check successful', { healthy: true }),
  ];
  out.push(ev.service('kubelet', 'RUNNING', 'Health check successful', { healthy: true }));
  if (opts.role === 'controlplane') {
    // The first control plane: etcd waits for `talosctl bootstrap`, so the node never gets ready alone.
    out.push(
      ev.service('etcd', 'PREPARING', 'Running pre state'),
      ev.status('RUNNING', false, [
        { name: 'services', reason: 'etcd not running' },
        { name: 'staticPods', reason: 'kube-apiserver pending' },
      ]),
    );
    return out;
  }
  out.push(ev.status('RUNNING', false, [{ name: 'nodeReady', reason: 'node "worker-1" status is not available yet' }]));
  if (opts.ready !== false) out.push(ev.status('RUNNING', true));
  return out;
}

/** One Talos node's event-sink connection. Ids are unique and increasing, like Talos's xids. */
export class TalosStandIn {
  private readonly client: grpc.Client;
  private n = 0;

  constructor(
    address: string,
    private readonly idPrefix = `d${Math.random().toString(36).slice(2, 8)}`,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** Give each event its id (kept, so publishing the same list again is a replay). */
  ids(events: StandInEvent[]): StandInEvent[] {
    for (const e of events) e.id ??= `${this.idPrefix}${String(++this.n).padStart(8, '0')}`;
    return events;
  }

  encode(e: StandInEvent): Buffer {
    const type = root.lookupType(`machine.${e.type}`);
    const value = type.encode(type.fromObject(e.payload)).finish();
    return Buffer.from(
      EventRequest.encode(
        EventRequest.fromObject({
          data: { type_url: `type.googleapis.com/machine.${e.type}`, value },
          id: e.id ?? '',
          actor_id: '',
        }),
      ).finish(),
    );
  }

  /** Publish in order, each after the previous was acknowledged (what Talos's sink client does). */
  async publishAll(events: StandInEvent[]): Promise<void> {
    for (const e of this.ids(events)) await this.publishRaw(this.encode(e));
  }

  publishRaw(bytes: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        '/events.EventSinkService/Publish',
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}

/** A kernel-log line as Talos sends it (`talos.logging.kernel`). */
export const kmsgLine = (msg: string, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ clock: 8576583, facility: 'user', msg, priority: 'info', seq: 665, 'talos-level': 'info', 'talos-time': '2026-11-25T10:00:00Z', ...extra })}\n`;

/** A TCP kernel-log client. */
export async function kmsgClient(
  port: number,
  host = '127.0.0.1',
): Promise<Socket & { send(text: string | Buffer): Promise<void> }> {
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return Object.assign(socket, {
    send: (text: string | Buffer) =>
      new Promise<void>((resolve, reject) => socket.write(text, (err) => (err ? reject(err) : resolve()))),
  });
}

/** Wait until `check` passes (for what the server applies after a TCP write); fails after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
