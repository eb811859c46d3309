/**
 * The messages between the primary and its HTTP workers over cluster IPC (JSON). Every message is
 * an object with a `metalboot` tag, so anything else on the channel (prom-client's, node's own) is
 * left alone.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { AssetPhase } from '../../core/boot/boot-types.js';
import type { HttpLimits } from '../connection-limits.js';

/** What a worker is started with (in METALBOOT_HTTP_WORKER, JSON). */
export interface WorkerConfig {
  listen: { host: string; port: number };
  /** The primary's internal listener (a unix socket, mode 0600). */
  internalSocket: string;
  assetsDir: string;
  /** This worker's share of the limits: connection caps divided by the worker count (divideLimits). */
  limits: HttpLimits;
  logLevel: string;
  logFormat?: string;
  /** Name the serving worker's pid in an x-metalboot-worker header (tests: METALBOOT_TEST_WORKER_HEADER=1). */
  pidHeader: boolean;
}

export const WORKER_CONFIG_ENV = 'METALBOOT_HTTP_WORKER';

/** Worker → primary: a Talos download's phase, to record on the machine's timeline; answered by an ack once durable. */
export interface AssetMessage {
  metalboot: 'asset';
  id: number;
  /** The worker's number for this download, so the primary knows which ones a dead worker left open. */
  transfer: number;
  ip: string;
  file: string;
  phase: AssetPhase;
  detail: Record<string, unknown>;
}

export type JsonMetrics = MetricObjectWithValues<MetricValue<string>>[];

export type ToPrimary =
  | AssetMessage
  | { metalboot: 'metrics-reply'; id: number; metrics: JsonMetrics }
  | { metalboot: 'listen-failed'; message: string };

export type ToWorker =
  | { metalboot: 'ack'; id: number; error?: string }
  | { metalboot: 'metrics'; id: number }
  /** Stop accepting, finish what is in flight, exit. */
  | { metalboot: 'drain' }
  /** Past the shutdown deadline: cut the connections still open. */
  | { metalboot: 'abort' };

export function isOurs<T extends { metalboot: string }>(msg: unknown): msg is T {
  return typeof msg === 'object' && msg !== null && typeof (msg as { metalboot?: unknown }).metalboot === 'string';
}

/**
 * The connection caps of one of n workers: each gets floor(cap / n), at least 1, so n workers
 * together never hold more than the cap (unless the cap is below n). No IPC on the accept path;
 * the cost is that a source whose connections land unevenly may be refused a little early.
 */
export function divideLimits(limits: HttpLimits, n: number): HttpLimits {
  const share = (cap: number) => Math.max(1, Math.floor(cap / n));
  return {
    ...limits,
    maxConnections: share(limits.maxConnections),
    maxConnectionsPerSource: share(limits.maxConnectionsPerSource),
  };
}
