/**
 * The primary's side of the HTTP workers: forks them (node:cluster shares the public port among
 * them), records their downloads on the timeline, gathers their metrics, replaces one that dies
 * (a bounded number of times a minute) and drains them at shutdown.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Core } from '../../core/index.js';
import type { PeerMetrics } from '../../metrics/index.js';
import {
  type AssetMessage,
  isOurs,
  type JsonMetrics,
  type ToPrimary,
  type ToWorker,
  WORKER_CONFIG_ENV,
  type WorkerConfig,
} from './ipc.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
/** A worker must be listening within this long of its fork. */
const START_TIMEOUT_MS = 20_000;
/** A worker that does not hand over its metrics this fast is left out of that scrape. */
const METRICS_TIMEOUT_MS = 2_000;
/** Replacements allowed per window: a worker that dies at once every time must not fork forever. */
export const RESTARTS_PER_WINDOW = 10;
const RESTART_WINDOW_MS = 60_000;

interface OpenTransfer {
  ip: string;
  file: string;
  detail: Record<string, unknown>;
}

export class HttpWorkers {
  /** The public address the workers listen on. */
  address = '';
  private readonly live = new Map<number, Worker>();
  /** Per worker id: the downloads it started and has not ended, by its transfer number. */
  private readonly open = new Map<number, Map<number, OpenTransfer>>();
  private readonly metricsWaiting = new Map<number, (m: JsonMetrics | undefined) => void>();
  private readonly restarts: number[] = [];
  private nextId = 0;
  private closing?: Promise<void>;

  private constructor(
    private readonly config: WorkerConfig,
    private readonly core: Core,
    private readonly log: Logger,
  ) {}

  /** Fork n workers and wait until each listens; if one cannot, stop the others and fail with its reason. */
  static async start(n: number, config: WorkerConfig, core: Core, log: Logger): Promise<HttpWorkers> {
    cluster.setupPrimary({ exec: WORKER_MAIN, args: [] });
    const pool = new HttpWorkers(config, core, log);
    try {
      await Promise.all(Array.from({ length: n }, () => pool.fork()));
    } catch (err) {
      await pool.kill(); // some may not listen for a drain yet
      throw err;
    }
    return pool;
  }

  get pids(): number[] {
    return [...this.live.values()].map((w) => w.process.pid!);
  }

  /** The workers' registries as JSON, for Metrics.addPeers. */
  readonly peers: PeerMetrics = async () => {
    const all = await Promise.all([...this.live.values()].map((w) => this.metricsOf(w)));
    return all.filter((m): m is JsonMetrics => m !== undefined);
  };

  /** Drain every worker (it stops accepting, finishes its downloads, exits) and wait for them all. */
  close(): Promise<void> {
    this.closing ??= Promise.all(
      [...this.live.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            this.tell(w, { metalboot: 'drain' });
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }

  /** A start that failed: end every worker now and wait for it. */
  private kill(): Promise<void> {
    this.closing ??= Promise.all(
      [...this.live.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill('SIGKILL');
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }

  /** Past the shutdown deadline: every worker cuts its open connections. */
  abort(): void {
    for (const w of this.live.values()) this.tell(w, { metalboot: 'abort' });
  }

  private fork(): Promise<void> {
    const w = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(this.config) });
    this.live.set(w.id, w);
    this.open.set(w.id, new Map());
    let failure = 'it exited';
    w.on('message', (msg: unknown) => {
      if (!isOurs<ToPrimary>(msg)) return;
      if (msg.metalboot === 'asset') void this.onAsset(w, msg);
      else if (msg.metalboot === 'metrics-reply') this.metricsWaiting.get(msg.id)?.(msg.metrics);
      else if (msg.metalboot === 'listen-failed') failure = msg.message;
    });
    w.once('exit', (code, signal) => this.onExit(w, code, signal));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`HTTP worker ${w.process.pid} did not listen in time`)),
        START_TIMEOUT_MS,
      );
      w.once('listening', (a) => {
        clearTimeout(timer);
        this.address ||= `${a.address?.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
        resolve();
      });
      w.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`cannot listen on ${this.config.listen.host}:${this.config.listen.port}: ${failure}`));
      });
    });
  }

  private async onAsset(w: Worker, m: AssetMessage): Promise<void> {
    const open = this.open.get(w.id);
    if (m.phase === 'started') open?.set(m.transfer, { ip: m.ip, file: m.file, detail: m.detail });
    else open?.delete(m.transfer);
    try {
      await this.core.boot.assetTransfer(m.ip, m.file, m.phase, m.detail);
      await this.core.flushed(); // the ack promises it is durable
      this.tell(w, { metalboot: 'ack', id: m.id });
    } catch (err) {
      this.log.error({ err, file: m.file, phase: m.phase }, 'recording an HTTP worker download failed');
      this.tell(w, { metalboot: 'ack', id: m.id, error: (err as Error).message });
    }
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    const pid = w.process.pid;
    this.live.delete(w.id);
    const open = this.open.get(w.id);
    this.open.delete(w.id);
    // Its downloads in flight were cut: the timeline says so (the clients retry with Range).
    for (const t of open?.values() ?? []) {
      const detail = { range: t.detail.range ?? null, status: null, bytes: null, worker: pid, exit: signal ?? code };
      this.core.boot
        .assetTransfer(t.ip, t.file, 'interrupted', detail)
        .catch((err: unknown) => this.log.error({ err, file: t.file }, 'recording an interrupted download failed'));
    }
    if (this.closing || !this.address) return; // shutting down, or still starting (start fails)
    const now = Date.now();
    while (this.restarts.length && now - this.restarts[0]! > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= RESTARTS_PER_WINDOW) {
      this.log.error(
        { worker: pid, code, signal, live: this.live.size },
        `HTTP worker ${pid} exited (${signal ?? code}) and is not replaced: ${RESTARTS_PER_WINDOW} replacements in the last minute`,
      );
      return;
    }
    this.restarts.push(now);
    this.fork().then(
      () =>
        this.log.warn(
          { worker: pid, code, signal, interrupted: open?.size ?? 0 },
          `HTTP worker ${pid} exited (${signal ?? code}); replaced`,
        ),
      (err: unknown) => this.log.error({ err, worker: pid }, `HTTP worker ${pid} exited and its replacement failed`),
    );
  }

  private metricsOf(w: Worker): Promise<JsonMetrics | undefined> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const done = (m: JsonMetrics | undefined) => {
        clearTimeout(timer);
        this.metricsWaiting.delete(id);
        w.off('exit', gone);
        resolve(m);
      };
      const gone = () => done(undefined);
      const timer = setTimeout(gone, METRICS_TIMEOUT_MS);
      this.metricsWaiting.set(id, done);
      w.once('exit', gone);
      this.tell(w, { metalboot: 'metrics', id });
    });
  }

  private tell(w: Worker, msg: ToWorker): void {
    if (!w.isConnected()) return;
    try {
      w.send(msg);
    } catch {
      // the worker is going away: its exit handler takes care of it
    }
  }
}
