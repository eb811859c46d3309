import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { ensureApiToken } from './api-token.js';
import { createCore, type Core } from './core/index.js';
import { loadTemplates } from './core/templates.js';
import { buildHttpApp } from './http/app.js';
import type { Settings } from './settings.js';
import { SqliteStore } from './store/sqlite/store.js';

export interface RunningServer {
  core: Core;
  http: FastifyInstance;
  httpAddress: string;
  close(): Promise<void>;
}

/** Compose metalboot from its settings: store → core → protocol adapters. */
export async function startServer(settings: Settings, logger: Logger = pino({ level: settings.logLevel })): Promise<RunningServer> {
  const templates = loadTemplates(settings.templatesDir);
  const { token, created, file } = ensureApiToken(settings.dataDir, settings.apiToken);
  const store = new SqliteStore(join(settings.dataDir, 'metalboot.db'));
  const core = createCore({
    store,
    templates,
    assetsDir: settings.assetsDir,
    advertiseUrl: settings.advertiseUrl,
    configTokenTtlMs: settings.configTokenTtlSeconds * 1000,
    discoveryRetrySeconds: settings.discoveryRetrySeconds,
  });
  const http = await buildHttpApp({ core, apiToken: token, assetsDir: settings.assetsDir, logger: logger.child({ adapter: 'http' }) });
  try {
    await http.listen({ host: settings.listen.host, port: settings.listen.port });
  } catch (err) {
    await store.close();
    throw err;
  }
  const addr = http.server.address();
  const httpAddress = typeof addr === 'object' && addr ? `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  if (created) {
    // Printed once, on the terminal that started metalboot; afterwards only the file has it.
    process.stderr.write(`metalboot: generated an API token in ${file} (mode 0600): ${token}\n`);
  }
  logger.info({ http: httpAddress, advertiseUrl: settings.advertiseUrl, dataDir: settings.dataDir, dhcp: 'off' }, `metalboot ready: HTTP on ${httpAddress}, machines use ${settings.advertiseUrl}`);
  return {
    core,
    http,
    httpAddress,
    async close() {
      await http.close();
      await store.close();
    },
  };
}
