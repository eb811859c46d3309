import * as grpc from '@grpc/grpc-js';
import { UnavailableError } from '../core/errors.js';
import type { ProgressTracker } from '../core/progress/tracker.js';
import { decodeEventRequest, talosTypes } from './decode.js';
import { rateLimitedWarn, type TalosLogger } from './log.js';
import { peerIpFromGrpc } from './peer.js';

export interface EventSinkOptions {
  host: string;
  port: number;
  progress: ProgressTracker;
  /**
   * Resolves once everything written so far is durable (the store's `flushed`): a Publish is
   * acknowledged only after it, as Talos drops an acknowledged event from its buffer for good.
   */
  flushed: () => Promise<void>;
  logger: TalosLogger;
  /** Talos events are a few hundred bytes; anything past this is refused and counted. */
  maxEventBytes?: number;
}

export interface EventSinkServer {
  /** `host:port` actually bound (port 0 picks a free one). */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** grpc-js refuses (uncounted) anything above this before our handler sees it. */
const GRPC_HARD_LIMIT = 4 * 1024 * 1024;
const EMPTY_RESPONSE = Buffer.from(talosTypes.EventResponse.encode({}).finish());

/**
 * The gRPC server Talos's event sink dials (`talos.events.sink=` / EventSinkConfig): plain TCP,
 * no TLS, one unary method `/events.EventSinkService/Publish`. Requests stay raw bytes through
 * grpc-js so that a malformed one is ours to count and answer, not a transport error.
 *
 * Answers: OK once the event is applied and committed to the store (or kept as unattributed, or
 * is a type we skip), so Talos moves on — a `kill -9` right after an OK loses nothing; INVALID_ARGUMENT for bytes that are no EventRequest; RESOURCE_EXHAUSTED for oversized
 * ones; UNAVAILABLE while the store cannot be reached, INTERNAL when it failed otherwise (Talos
 * retries that event).
 */
export async function startEventSink(opts: EventSinkOptions): Promise<EventSinkServer> {
  const maxBytes = opts.maxEventBytes ?? 64 * 1024;
  const counters = opts.progress.counters;
  const warn = rateLimitedWarn(opts.logger);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': GRPC_HARD_LIMIT,
    'grpc.max_send_message_length': 1024,
    // Talos keeps the stream open for the machine's whole life; let it ping an idle connection.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  const publish: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const peerIp = peerIpFromGrpc(call.getPeer());
    const bytes = call.request;
    if (bytes.length > maxBytes) {
      counters.eventsOversized++;
      warn(
        `${peerIp}/oversized`,
        { peer: peerIp, bytes: bytes.length, limit: maxBytes },
        'Talos event too large; refused',
      );
      return callback({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `event of ${bytes.length} bytes exceeds ${maxBytes}`,
      });
    }
    const decoded = decodeEventRequest(bytes);
    if (!decoded.ok) {
      counters.eventsMalformed++;
      warn(
        `${peerIp}/malformed`,
        { peer: peerIp, part: decoded.part, typeUrl: decoded.typeUrl, error: decoded.message },
        'malformed Talos event',
      );
      if (decoded.part === 'request')
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'not an events.EventRequest' });
      return callback(null, EMPTY_RESPONSE); // a known type we cannot decode: acknowledge, do not block the stream
    }
    const { envelope } = decoded;
    if (!envelope.event)
      warn(
        `${peerIp}/unknown-type`,
        { peer: peerIp, typeUrl: envelope.typeUrl, id: envelope.id },
        'Talos event of an unknown type; skipped',
      );
    const ingestDurably = async () => {
      const result = await opts.progress.ingestEvent(peerIp, envelope);
      await opts.flushed(); // a duplicate too: its first copy may still be in the open batch
      return result;
    };
    ingestDurably().then(
      (result) => {
        if (result === 'unattributed')
          warn(
            `${peerIp}/unattributed`,
            { peer: peerIp, typeUrl: envelope.typeUrl },
            'Talos event from an address no machine is known by; kept as unattributed',
          );
        callback(null, EMPTY_RESPONSE);
      },
      (err: unknown) => {
        if (err instanceof UnavailableError) {
          // The database is down: UNAVAILABLE is the status gRPC clients retry; Talos sends it again.
          warn('store-unavailable', { error: err.message }, 'store unavailable; Talos events refused until it is back');
          return callback({ code: grpc.status.UNAVAILABLE, details: 'store unavailable; send it again' });
        }
        opts.logger.error({ err, peer: peerIp, id: envelope.id }, 'could not apply Talos event');
        callback({ code: grpc.status.INTERNAL, details: 'event not stored; send it again' });
      },
    );
  };
  server.addService(
    {
      Publish: {
        path: '/events.EventSinkService/Publish',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    { Publish: publish },
  );
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Talos holds its connection open: give in-flight calls a moment, then cut.
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          server.forceShutdown();
          finish();
        }, 2000);
        server.tryShutdown(finish);
      }),
  };
}
