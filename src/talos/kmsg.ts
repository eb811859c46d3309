import { createServer, type Socket } from 'node:net';
import { parseKernelLine } from '../core/progress/kernel-log.js';
import { UnavailableError } from '../core/errors.js';
import type { ProgressTracker } from '../core/progress/tracker.js';
import type { Clock } from '../core/timeline/timeline.js';
import { rateLimitedWarn, type TalosLogger } from './log.js';
import { normalisePeerIp } from './peer.js';

export interface KmsgReceiverOptions {
  host: string;
  port: number;
  progress: ProgressTracker;
  logger: TalosLogger;
  clock?: Clock;
  /** A kernel-log line is at most a few KiB; longer ones are cut off, counted and skipped. */
  maxLineBytes?: number;
  maxConnections?: number;
}

export interface KmsgReceiver {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** A connection that sent this many unusable lines and not one good one is not Talos: hang up. */
const GARBAGE_BEFORE_HANGUP = 1000;
/** Lines waiting to be applied before the socket is paused (TCP back-pressure does the rest). */
const MAX_PENDING_LINES = 1000;

/**
 * The TCP receiver for Talos's kernel log (`talos.logging.kernel=tcp://host:port/` /
 * KmsgLogConfig): one JSON object per line. Lines are applied in order per connection; garbage
 * and oversized lines are counted and logged (rate-limited), and never end the server.
 */
export async function startKmsgReceiver(opts: KmsgReceiverOptions): Promise<KmsgReceiver> {
  const maxLine = opts.maxLineBytes ?? 16 * 1024;
  const clock = opts.clock ?? (() => new Date());
  const counters = opts.progress.counters;
  const warn = rateLimitedWarn(opts.logger);
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    counters.kmsgConnections++;
    const peerIp = normalisePeerIp(socket.remoteAddress);
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let discarding = false; // inside an oversized line: drop bytes until its newline
    let good = 0;
    let garbage = 0;
    const pending: string[] = [];
    let draining = false;

    const drain = async () => {
      if (draining) return;
      draining = true;
      while (pending.length) {
        const text = pending.shift()!;
        const line = parseKernelLine(text, clock().toISOString());
        if (!line) {
          counters.kmsgGarbage++;
          garbage++;
          warn(
            `${peerIp}/garbage`,
            { peer: peerIp, sample: text.slice(0, 80) },
            'kernel-log line is not a Talos JSON object; skipped',
          );
          if (good === 0 && garbage >= GARBAGE_BEFORE_HANGUP) {
            opts.logger.warn({ peer: peerIp, garbage }, 'kernel-log connection sends nothing but garbage; closing it');
            socket.destroy();
            pending.length = 0;
          }
          continue;
        }
        good++;
        try {
          await opts.progress.kernelLine(peerIp, line);
        } catch (err) {
          // The database being down is one warning a minute, not one per line (the lines are lost:
          // the kernel log has no acknowledgement to hold them back with).
          if (err instanceof UnavailableError)
            warn('store-unavailable', { error: err.message }, 'store unavailable; kernel-log lines dropped');
          else opts.logger.error({ err, peer: peerIp }, 'could not apply a kernel-log line');
        }
      }
      draining = false;
      if (!socket.destroyed && socket.isPaused()) socket.resume();
    };

    const push = (lineBytes: Buffer) => {
      const text = lineBytes.toString('utf8').replace(/\r$/, '');
      if (text.trim()) pending.push(text);
    };

    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (discarding) {
          discarding = false; // the oversized line ends here
          continue;
        }
        if (partialBytes + piece.length > maxLine) {
          oversized(partialBytes + piece.length);
          continue;
        }
        push(partialBytes ? Buffer.concat([...partial, piece]) : piece);
        partial = [];
        partialBytes = 0;
      }
      const rest = chunk.subarray(start);
      if (!discarding && rest.length) {
        if (partialBytes + rest.length > maxLine) {
          oversized(partialBytes + rest.length);
          discarding = true;
        } else {
          partial.push(Buffer.from(rest)); // copy: the chunk's memory is reused
          partialBytes += rest.length;
        }
      }
      if (pending.length > MAX_PENDING_LINES) socket.pause();
      void drain();
    });

    function oversized(bytes: number) {
      counters.kmsgOversized++;
      warn(`${peerIp}/oversized`, { peer: peerIp, bytes, limit: maxLine }, 'kernel-log line too long; skipped');
      partial = [];
      partialBytes = 0;
    }

    socket.on('error', (err) => opts.logger.debug({ err, peer: peerIp }, 'kernel-log connection error'));
    socket.on('close', () => sockets.delete(socket));
  });
  server.maxConnections = opts.maxConnections ?? 4096;
  server.on('error', (err) => opts.logger.error({ err }, 'kernel-log listener error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy(); // Talos never hangs up by itself
        server.close(() => resolve());
      }),
  };
}
