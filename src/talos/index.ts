import type { Core } from '../core/index.js';
import { advertisedTalosEndpoints, installTalosEndpoints, type TalosEndpoints } from './endpoints.js';
import { startEventSink, type EventSinkServer } from './event-sink.js';
import { startKmsgReceiver, type KmsgReceiver } from './kmsg.js';
import type { TalosLogger } from './log.js';

export { advertisedTalosEndpoints, installTalosEndpoints, KMSG_DOCUMENT_NAME, type TalosEndpoints } from './endpoints.js';
export { decodeEventRequest, talosTypes } from './decode.js';
export { startEventSink } from './event-sink.js';
export { startKmsgReceiver } from './kmsg.js';
export { silentLogger, type TalosLogger } from './log.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TalosListenersOptions {
  core: Core;
  /** gRPC event sink (`--events-listen`, default 0.0.0.0:4002); null disables it. */
  eventsListen?: ListenAddress | null;
  /** Kernel-log receiver (`--kmsg-listen`, default 0.0.0.0:4001); null disables it. */
  kmsgListen?: ListenAddress | null;
  logger: TalosLogger;
  /** How often the stall detector runs; null leaves it off (tests call core.stall.check()). */
  stallCheckIntervalMs?: number | null;
}

export interface TalosListeners {
  eventsAddress?: string;
  kmsgAddress?: string;
  /** What machines are told (kernel args, config documents). */
  endpoints: TalosEndpoints;
  close(): Promise<void>;
}

/** `--events-listen`/`--kmsg-listen` value: `host:port`, `[v6]:port`, `:port`, or `off`. */
export function parseTalosListen(value: string, flag: string): ListenAddress | null {
  if (value.trim().toLowerCase() === 'off') return null;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--${flag} "${value}" must be host:port (e.g. 0.0.0.0:4002) or off`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * Start the listeners Talos reports to, point every served config and install kernel line at
 * them (advertised by the host of the core's advertise URL), and run the stall detector.
 * A listener that cannot bind fails the whole start (and closes what had started).
 */
export async function startTalosListeners(opts: TalosListenersOptions): Promise<TalosListeners> {
  const { core, logger } = opts;
  let events: EventSinkServer | undefined;
  let kmsg: KmsgReceiver | undefined;
  try {
    if (opts.eventsListen) events = await startEventSink({ ...opts.eventsListen, progress: core.progress, logger });
    if (opts.kmsgListen) kmsg = await startKmsgReceiver({ ...opts.kmsgListen, progress: core.progress, logger, clock: () => new Date(core.timeline.clockMs()) });
  } catch (err) {
    await events?.close();
    throw err;
  }
  const endpoints = advertisedTalosEndpoints(core.boot.advertiseUrl, { events: events?.port, kmsg: kmsg?.port });
  const uninstall = installTalosEndpoints(core, endpoints);
  const interval = opts.stallCheckIntervalMs === undefined ? 30_000 : opts.stallCheckIntervalMs;
  if (interval !== null) core.stall.start(interval, (err) => logger.error({ err }, 'stall check failed'));
  logger.info({ events: events?.address ?? 'off', kmsg: kmsg?.address ?? 'off', advertised: endpoints }, 'Talos listeners ready');
  return {
    eventsAddress: events?.address,
    kmsgAddress: kmsg?.address,
    endpoints,
    async close() {
      core.stall.stop();
      uninstall();
      await Promise.all([events?.close(), kmsg?.close()]);
    },
  };
}
