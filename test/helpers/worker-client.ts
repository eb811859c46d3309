/**
 * A client for tests of `--http-workers`: one new connection per request (so cluster's round robin
 * spreads them over the workers), from a chosen loopback address, with the serving worker's pid
 * (x-metalboot-worker, set when METALBOOT_TEST_WORKER_HEADER=1).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { clusterBody } from './core-app.js';
import type { Served } from './cli-run.js';

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  worker: number;
}

export function fetchFrom(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; from?: string; body?: string } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: false,
      localAddress: opts.from,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks),
          worker: Number(res.headers['x-metalboot-worker']),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Random Talos assets of the given sizes under the served assets dir; returns the initramfs bytes. */
export function talosAssets(s: Served, version: string, initramfsBytes: number): Buffer {
  const dir = join(s.assetsDir, 'talos', version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinuz-amd64'), randomBytes(64 * 1024));
  const initramfs = randomBytes(initramfsBytes);
  writeFileSync(join(dir, 'initramfs-amd64.xz'), initramfs);
  return initramfs;
}

/** The admin API with the served token. */
export async function api(s: Served, method: string, path: string, body?: unknown): Promise<Got & { json: any }> {
  const got = await fetchFrom(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = got.body.toString();
  return { ...got, json: text ? JSON.parse(text) : undefined };
}

/** Cluster `prod` and one worker machine in it, ready to install. */
export async function registerMachine(s: Served, mac: string): Promise<void> {
  const c = await api(s, 'POST', '/api/v1/clusters', clusterBody());
  if (c.status !== 201) throw new Error(`cluster: ${c.status} ${c.body}`);
  const m = await api(s, 'POST', '/api/v1/machines', { mac, hostname: 'w-1', role: 'worker', cluster: 'prod' });
  if (m.status !== 201) throw new Error(`machine: ${m.status} ${m.body}`);
}

/** How often each kind is on the machine's timeline (coalesced repeats counted), from one page of up to 1000. */
export async function eventCounts(s: Served, mac: string): Promise<Record<string, number>> {
  const page = await api(s, 'GET', `/api/v1/machines/${mac}/events?limit=1000`);
  const counts: Record<string, number> = {};
  for (const e of page.json.items as Array<{ kind: string; repeats?: number }>)
    counts[e.kind] = (counts[e.kind] ?? 0) + (e.repeats ?? 1);
  return counts;
}

/** Requests on new connections until `enough` says so, at most `max` of them. */
export async function untilWorkers(
  max: number,
  one: () => Promise<Got>,
  enough: (seen: Set<number>) => boolean,
  pauseMs = 0,
): Promise<{ seen: Set<number>; answers: Got[] }> {
  const seen = new Set<number>();
  const answers: Got[] = [];
  for (let i = 0; i < max && !enough(seen); i++) {
    const got = await one();
    answers.push(got);
    seen.add(got.worker);
    if (pauseMs && !enough(seen)) await new Promise((r) => setTimeout(r, pauseMs));
  }
  return { seen, answers };
}
