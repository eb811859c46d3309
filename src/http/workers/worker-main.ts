/**
 * The HTTP worker process (forked by supervisor.ts with node:cluster): it listens on the public
 * port, which cluster shares among the workers, serves `/assets/` and forwards the rest to the
 * primary. It holds no core and no store: asset timeline events go to the primary over IPC, and
 * a download starts only once the primary acknowledged its 'started' event as durable.
 */
import { Agent } from 'node:http';
import { Registry } from 'prom-client';
import { processRegistry } from '../../metrics/index.js';
import { createLogger, parseLogFormat } from '../../support/logging.js';
import type { AssetEndRecorder, AssetLedger } from '../routes/assets.js';
import { isOurs, type ToPrimary, type ToWorker, WORKER_CONFIG_ENV, type WorkerConfig } from './ipc.js';
import { buildWorkerApp } from './worker-app.js';

/** A pooled connection to the primary idle this long is closed (its listener keeps them 120 s). */
const AGENT_IDLE_MS = 60_000;

function send(msg: ToPrimary): void {
  process.send?.(msg);
}

/** The ledger over IPC: each phase waits for the primary's ack, sent once the event is durable. */
class IpcLedger implements AssetLedger {
  private next = 0;
  private transfers = 0;
  private readonly waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();

  /** Every event sent was acknowledged (bounded: a primary that stopped answering is not waited for). */
  async settled(maxMs = 5_000): Promise<void> {
    for (const deadline = Date.now() + maxMs; this.waiting.size > 0 && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 20));
  }

  answer(id: number, error?: string): void {
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    if (error) w?.reject(new Error(error));
    else w?.resolve();
  }

  private record(transfer: number, ip: string, file: string, phase: ToPrimaryPhase, detail: Record<string, unknown>) {
    const id = ++this.next;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send({ metalboot: 'asset', id, transfer, ip, file, phase, detail });
    });
  }

  async started(ip: string, file: string, detail: Record<string, unknown>): Promise<AssetEndRecorder> {
    const transfer = ++this.transfers;
    await this.record(transfer, ip, file, 'started', detail);
    return (phase, end) => this.record(transfer, ip, file, phase, end);
  }
}
type ToPrimaryPhase = Parameters<AssetEndRecorder>[0] | 'started';

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as WorkerConfig;
  const logger = createLogger({ level: cfg.logLevel, format: parseLogFormat(cfg.logFormat) }).child({
    adapter: 'http',
    worker: process.pid,
  });
  // A terminal's Ctrl-C reaches the whole process group: the primary decides when workers stop.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  const ledger = new IpcLedger();
  const registry = new Registry();
  const agent = new Agent({ keepAlive: true, timeout: AGENT_IDLE_MS });
  const app = await buildWorkerApp({
    ledger,
    assetsDir: cfg.assetsDir,
    limits: cfg.limits,
    upstream: { agent, socketPath: cfg.internalSocket },
    registry,
    logger,
    pidHeader: cfg.pidHeader,
  });
  let draining = false;
  process.on('message', (msg: unknown) => {
    if (!isOurs<ToWorker>(msg)) return;
    if (msg.metalboot === 'ack') ledger.answer(msg.id, msg.error);
    else if (msg.metalboot === 'metrics') {
      void Registry.merge([processRegistry(), registry])
        .getMetricsAsJSON()
        .then((metrics) => send({ metalboot: 'metrics-reply', id: msg.id, metrics }));
    } else if (msg.metalboot === 'drain' && !draining) {
      draining = true;
      // Stop accepting; downloads in flight finish (their end still goes to the primary), then leave.
      void app
        .close()
        .then(() => ledger.settled()) // each download's end reached the primary before this process goes
        .finally(() => {
          agent.destroy();
          process.disconnect?.();
          process.exit(0);
        });
    } else if (msg.metalboot === 'abort') app.server.closeAllConnections();
  });
  try {
    await app.listen({ host: cfg.listen.host, port: cfg.listen.port });
  } catch (err) {
    send({ metalboot: 'listen-failed', message: (err as Error).message });
    process.exit(1);
  }
}

void main();
