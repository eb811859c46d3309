/**
 * `GET /api/v1/machines` with 40,000 machines (30,000 discovered): time and bytes of one page
 * (limit 100 and 1,000, first and last page) — issue 20 measured 1.55 s and 21.8 MB for the
 * unpaged list. Run: node --import=@tapjs/typescript/import bench/list-pages.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore } from '../src/core/index.js';
import { blankMachine } from '../src/core/registry/machines.js';
import { loadTemplates } from '../src/core/boot/templates.js';
import { buildHttpApp } from '../src/http/app.js';
import { SqliteStore } from '../src/store/sqlite/store.js';

const dir = mkdtempSync(join(tmpdir(), 'metalboot-list-'));
const store = new SqliteStore(join(dir, 'metalboot.db'));
const core = createCore({
  store,
  templates: loadTemplates('templates'),
  assetsDir: dir,
  advertiseUrl: 'http://10.0.0.1:8080',
  configTokenTtlMs: 3600_000,
  discoveryRetrySeconds: 30,
});
const token = 'bench-token-0123456789abcdef';
const app = await buildHttpApp({ core, apiToken: token, assetsDir: dir });
const now = new Date().toISOString();
for (let i = 0; i < 40_000; i++) {
  const mac = `02:00:00:${[i >> 16, (i >> 8) & 0xff, i & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  await store.machines.insert({
    ...blankMachine(mac, now),
    state: i % 4 === 0 ? 'registered' : 'discovered',
    lastSeen: { ip: '10.0.0.9', arch: 'amd64', firmware: 'efi', at: now },
  });
}
await store.flushed();
async function measure(url: string) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 21; i++) {
    const t0 = process.hrtime.bigint();
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    bytes = res.rawPayload.length;
  }
  times.sort((a, b) => a - b);
  console.log(`${url.padEnd(60)} median ${times[10]!.toFixed(1)} ms, ${(bytes / 1024).toFixed(1)} KiB`);
}
await measure('/api/v1/machines');
await measure('/api/v1/machines?limit=1000');
const last = (
  await app.inject({
    method: 'GET',
    url: `/api/v1/machines?limit=1000&cursor=${Buffer.from(JSON.stringify(['machines', '02:00:00:00:9b:db'])).toString('base64url')}`,
    headers: { authorization: `Bearer ${token}` },
  })
).json();
await measure(
  `/api/v1/machines?limit=100&cursor=${Buffer.from(JSON.stringify(['machines', '02:00:00:00:9b:db'])).toString('base64url')}`,
);
await measure('/api/v1/machines?state=discovered&limit=100');
await measure('/api/v1/machines?registered=true&limit=200');
console.log(`last page: ${last.items.length} items, next ${last.next}`);
await app.close();
await store.close();
