import { bmcDriverFactory } from '../../src/power/index.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import type { Response as LightResponse } from 'light-my-request';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootNetwork } from '../../src/core/boot/boot-service.js';
import { DEFAULT_DISCOVERY_LIMITS, type DiscoveryLimits } from '../../src/core/registry/discovery.js';
import type { RetentionSettings } from '../../src/core/registry/housekeeping.js';
import type { ConfigBinding, NeighbourTable } from '../../src/core/binding/config-binding.js';
import { createCore, type Core } from '../../src/core/index.js';
import { loadTemplates } from '../../src/core/boot/templates.js';
import type { MachineState } from '../../src/core/types.js';
import { buildHttpApp } from '../../src/http/app.js';
import type { HttpLimits } from '../../src/http/connection-limits.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { loadSecretBox } from '../../src/support/secret-box.js';
import { TalosEndpointProviders } from '../../src/talos/endpoints.js';
import type { DocumentProvider } from '../../src/core/config/render.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const fixture = (p: string) => readFileSync(join(ROOT, 'test/fixtures', p), 'utf8');
export const TALOS_VERSION = 'v1.13.9';
export const ADVERTISE = 'http://10.9.0.1:8080';
export const TOKEN = 'test-token-0123456789abcdef';

/** A mutable clock: tests move time instead of sleeping. */
export function testClock(start = Date.parse('2026-11-25T10:00:00Z')) {
  let now = start;
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

export interface TestApp {
  app: FastifyInstance;
  core: Core;
  store: SqliteStore;
  /** The Talos listeners' providers, as server.ts wires them: pass to startTalosListeners as `advertise`. */
  talosEndpoints: TalosEndpointProviders;
  dir: string;
  assetsDir: string;
  clock: ReturnType<typeof testClock>;
  api: (
    method: string,
    url: string,
    body?: unknown,
    ip?: string,
  ) => Promise<{ status: number; json: any; body: string; headers: Record<string, unknown> }>;
  get: (url: string, ip: string, headers?: Record<string, string>) => Promise<LightResponse>;
}

/** A full metalboot (real SQLite in a temp dir, real templates, fastify inject) per test. */
export async function makeApp(
  t: Test,
  opts: {
    kernelBytes?: number;
    bootNetwork?: () => BootNetwork;
    logger?: FastifyBaseLogger;
    stallDeadlines?: Partial<Record<MachineState, number>>;
    discovery?: Partial<DiscoveryLimits>;
    retention?: RetentionSettings;
    limits?: HttpLimits;
    /**
     * Default `first-request`: inject's requests come from made-up addresses no neighbour table
     * or DHCP exchange knows. Tests of the binding itself set it, with a neighbour table of their own.
     */
    configBinding?: ConfigBinding;
    neighbours?: NeighbourTable;
    /** Config documents to add after the Talos listeners' (tests of the renderer's providers). */
    documentProviders?: DocumentProvider[];
  } = {},
): Promise<TestApp> {
  const dir = t.testdir({});
  const assetsDir = join(dir, 'assets');
  const talosDir = join(assetsDir, 'talos', TALOS_VERSION);
  mkdirSync(talosDir, { recursive: true });
  const kernel = Buffer.alloc(opts.kernelBytes ?? 64 * 1024);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 7 + 3) & 0xff;
  writeFileSync(join(talosDir, 'vmlinuz-amd64'), kernel);
  writeFileSync(join(talosDir, 'initramfs-amd64.xz'), Buffer.alloc(32 * 1024, 1));
  const store = new SqliteStore(join(dir, 'data', 'metalboot.db'));
  const clock = testClock();
  const talosEndpoints = new TalosEndpointProviders();
  const core = createCore({
    store,
    templates: loadTemplates(join(ROOT, 'templates')),
    assetsDir,
    advertiseUrl: ADVERTISE,
    configTokenTtlMs: 3 * 3600_000,
    discoveryRetrySeconds: 30,
    clock,
    stallDeadlines: opts.stallDeadlines,
    discovery: { ...DEFAULT_DISCOVERY_LIMITS, ...opts.discovery },
    retention: opts.retention,
    configBinding: opts.configBinding ?? 'first-request',
    neighbours: opts.neighbours,
    kernelArgProviders: [talosEndpoints.kernelArgs],
    documentProviders: [talosEndpoints.documents, ...(opts.documentProviders ?? [])],
    secrets: loadSecretBox(join(dir, 'data')),
    bmcDrivers: bmcDriverFactory(),
  });
  const app = await buildHttpApp({
    core,
    apiToken: TOKEN,
    assetsDir,
    bootNetwork: opts.bootNetwork,
    logger: opts.logger,
    limits: opts.limits,
  });
  t.teardown(async () => {
    core.powerBatches.close();
    await app.close();
    await store.close();
  });
  const api: TestApp['api'] = async (method, url, body, ip = '192.0.2.10') => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      remoteAddress: ip,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    let json: unknown;
    try {
      json = res.json();
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, body: res.body, headers: res.headers };
  };
  const get: TestApp['get'] = (url, ip, headers = {}) => app.inject({ method: 'GET', url, remoteAddress: ip, headers });
  return { app, core, store, talosEndpoints, dir, assetsDir, clock, api, get };
}

export const clusterBody = (name = 'prod', extra: Record<string, unknown> = {}) => ({
  name,
  talosVersion: TALOS_VERSION,
  controlplane: fixture('talos/examples/v1.13/controlplane.yaml'),
  worker: fixture('talos/examples/v1.13/worker.yaml'),
  ...extra,
});

/** Pull the per-boot config URL out of an install script. */
export function configUrlOf(script: string): string {
  const m = /talos\.config=(\S+)/.exec(script);
  if (!m) throw new Error(`no talos.config= in script:\n${script}`);
  return m[1]!.replace('http://10.9.0.1:8080', '');
}
