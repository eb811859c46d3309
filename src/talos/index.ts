import type { Core } from '../core/index.js';
import { advertisedTalosEndpoints, type TalosEndpointProviders, type TalosEndpoints } from './endpoints.js';
import { startEventSink, type EventSinkServer } from './event-sink.js';
import { startKmsgReceiver, type KmsgReceiver } from './kmsg.js';
import type { TalosLogger } from './log.js';

export {
  advertisedTalosEndpoints,
  KMSG_DOCUMENT_NAME,
  TalosEndpointProviders,
  type TalosEndpoints,
} from './endpoints.js';
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
  /** Where the bound endpoints are advertised: the providers server.ts gave createCore. */
  advertise: TalosEndpointProviders;
  /** gRPC event sink (`--events-listen`, default 0.0.0.0:4002); null disables it. */
  eventsListen?: ListenAddress | null;
  /** Kernel-log receiver (`--kmsg-listen`, default 0.0.0.0:4001); null disables it. */
  kmsgListen?: ListenAddress | null;
  logger: TalosLogger;
  /**
   * A listener that cannot bind is left off with a warning instead of failing the start (the
   * default ports, which the operator did not ask for explicitly); the other one still starts.
   */
  optional?: { events: boolean; kmsg: boolean };
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
 * Start the listeners Talos reports to and point every served config and install kernel line at
 * them (`opts.advertise`, by the host of the core's advertise URL). A listener that cannot bind fails
 * the whole start (and closes what had started), unless `optional`: then only it stays off.
 */
export async function startTalosListeners(opts: TalosListenersOptions): Promise<TalosListeners> {
  const { core, logger } = opts;
  let events: EventSinkServer | undefined;
  let kmsg: KmsgReceiver | undefined;
  const attempt = async <T>(flag: 'events-listen' | 'kmsg-listen', start: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await start();
    } catch (err) {
      if (!opts.optional?.[flag === 'events-listen' ? 'events' : 'kmsg']) throw err;
      logger.warn(
        { err },
        `${flag === 'events-listen' ? 'Talos event sink' : 'Talos kernel-log receiver'} not started (${(err as Error).message}); set --${flag} to another address, or off`,
      );
      return undefined;
    }
  };
  try {
    if (opts.eventsListen)
      events = await attempt('events-listen', () =>
        startEventSink({ ...opts.eventsListen!, progress: core.progress, flushed: () => core.flushed(), logger }),
      );
    if (opts.kmsgListen)
      kmsg = await attempt('kmsg-listen', () =>
        startKmsgReceiver({
          ...opts.kmsgListen!,
          progress: core.progress,
          logger,
          clock: () => new Date(core.timeline.clockMs()),
        }),
      );
  } catch (err) {
    await events?.close();
    throw err;
  }
  const endpoints = advertisedTalosEndpoints(core.boot.advertiseUrl, { events: events?.port, kmsg: kmsg?.port });
  const withdraw = opts.advertise.advertise(endpoints);
  logger.info(
    { events: events?.address ?? 'off', kmsg: kmsg?.address ?? 'off', advertised: endpoints },
    'Talos listeners ready',
  );
  return {
    eventsAddress: events?.address,
    kmsgAddress: kmsg?.address,
    endpoints,
    async close() {
      withdraw();
      await Promise.all([events?.close(), kmsg?.close()]);
    },
  };
}
