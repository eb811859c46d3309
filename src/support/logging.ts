import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** `auto`: human-readable on a terminal, JSON lines otherwise (files, journald, docker logs). */
export type LogFormat = 'auto' | 'json' | 'pretty';

export function parseLogFormat(value: string | undefined): LogFormat {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'json' || v === 'pretty') return v;
  throw new Error(`log format must be auto, json or pretty, got "${value}"`);
}

export interface LoggerSettings {
  level?: string;
  format?: LogFormat;
  /** Where lines go; default stdout. Its `isTTY` decides `auto`. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * metalboot's logger: pino JSON for machines to read, pino-pretty for a person at a terminal.
 * pretty runs in-process (not as a pino transport worker) so lines are written before exit and
 * nothing needs to resolve a module path at run time.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const destination = settings.destination ?? process.stdout;
  const format = settings.format ?? 'auto';
  const human = format === 'pretty' || (format === 'auto' && destination.isTTY === true);
  const options = { level: settings.level ?? 'info' };
  // pino's default stdout stream: sonic-boom writing from libuv's thread pool, flushed
  // synchronously at exit. A synchronous destination measured within noise on the boot path
  // (render A/B, 0.97× CPU per request), and it would stall the event loop whenever the reader of
  // a pipe (journald, docker) falls behind; buffered writes only cost memory then.
  if (!human) return settings.destination ? pino(options, settings.destination as DestinationStream) : pino(options);
  const stream = pretty({
    destination,
    sync: true,
    colorize: destination.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    // `[http] metalboot ready …`: the adapter reads better in front than as a trailing field.
    messageFormat: '{if adapter}[{adapter}] {end}{msg}',
  });
  return pino(options, stream);
}
