/**
 * Where the primary's HTTP app listens. One worker (`--http-workers 1`): on the public address, as
 * metalboot always did. More: on an internal unix socket (mode 0600, in the data directory, or a
 * private temporary directory when that path is too long for a socket), with n workers on the
 * public address in front of it (supervisor.ts).
 */
import type { FastifyInstance } from 'fastify';
import { chmodSync, existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Core } from '../../core/index.js';
import type { Metrics } from '../../metrics/index.js';
import type { HttpLimits } from '../connection-limits.js';
import { divideLimits } from './ipc.js';
import { HttpWorkers } from './supervisor.js';

export interface HttpListenOptions {
  listen: { host: string; port: number };
  workers: number;
  dataDir: string;
  assetsDir: string;
  limits: HttpLimits;
  logLevel: string;
  logFormat?: string;
  core: Core;
  metrics: Metrics;
  logger: Logger;
}

export interface HttpListening {
  /** host:port of the public listener. */
  address: string;
  workers?: HttpWorkers;
  /** The internal socket the workers forward to (with workers). */
  internal?: string;
  /** Stop accepting and let what is in flight finish: the workers first (they forward to the app), then the app. */
  close(): Promise<void>;
  /** Cut the connections still open (a shutdown past its deadline). */
  abort(): void;
}

/** A unix socket path must fit in sun_path (108 bytes on Linux, with its NUL). */
const MAX_SOCKET_PATH = 100;

export async function listenHttp(http: FastifyInstance, o: HttpListenOptions): Promise<HttpListening> {
  if (o.workers <= 1) {
    await http.listen({ host: o.listen.host, port: o.listen.port });
    return {
      address: addressOf(http),
      close: () => http.close(),
      abort: () => http.server.closeAllConnections(),
    };
  }
  const { socket, cleanup } = internalSocket(o.dataDir);
  await http.listen({ path: socket });
  chmodSync(socket, 0o600);
  let workers: HttpWorkers;
  try {
    workers = await HttpWorkers.start(
      o.workers,
      {
        listen: o.listen,
        internalSocket: socket,
        assetsDir: resolve(o.assetsDir),
        limits: divideLimits(o.limits, o.workers),
        logLevel: o.logLevel,
        logFormat: o.logFormat,
        pidHeader: process.env.METALBOOT_TEST_WORKER_HEADER === '1',
      },
      o.core,
      o.logger.child({ adapter: 'http' }),
    );
  } catch (err) {
    await http.close();
    cleanup();
    throw err;
  }
  o.metrics.addPeers(workers.peers);
  return {
    address: workers.address,
    workers,
    internal: socket,
    close: async () => {
      await workers.close();
      await http.close();
      cleanup();
    },
    abort: () => {
      workers.abort();
      http.server.closeAllConnections();
    },
  };
}

function internalSocket(dataDir: string): { socket: string; cleanup: () => void } {
  const inData = resolve(dataDir, 'http-internal.sock');
  if (Buffer.byteLength(inData) <= MAX_SOCKET_PATH) {
    if (existsSync(inData)) unlinkSync(inData); // left by a process that died
    return { socket: inData, cleanup: () => rmSync(inData, { force: true }) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'metalboot-')); // mode 0700
  return { socket: join(dir, 'http.sock'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function addressOf(http: FastifyInstance): string {
  const addr = http.server.address();
  return typeof addr === 'object' && addr
    ? `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`
    : String(addr);
}
