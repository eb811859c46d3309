// The boot path without HTTP: BootService.machineScript + fetchConfig against a seeded registry of
// 10,000 machines, in process, C pairs at a time with one group commit per round (C=1: a commit per
// pair). Shows what the core and the store cost per request apart from fastify and the sockets.
// STATEMENTS=1 adds the time of each SQL statement (and BEGIN/COMMIT) per request.
//   TS_NODE_TRANSPILE_ONLY=1 C=3 N=20000 [STATEMENTS=1] taskset -c 1 node --import=@tapjs/typescript/import bench/core-path.ts
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createCore } from '../src/core/index.js';
import { loadTemplates } from '../src/core/boot/templates.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { seedRegistry } from './lib/registry.js';
import { StatementTimer } from './lib/statement-timer.js';

const timer = process.env.STATEMENTS === '1' ? new StatementTimer() : undefined; // before the store prepares
const root = process.env.ROOT ?? '/tmp/metalboot-core-path';
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const assets = join(root, 'assets');
mkdirSync(join(assets, 'talos', 'v1.13.9'), { recursive: true });
const dataDir = join(root, 'data');
await seedRegistry(dataDir, assets, 0, 10000);
const store = new SqliteStore(join(dataDir, 'metalboot.db'));
const core = createCore({
  store,
  templates: loadTemplates('/work/main/templates'),
  assetsDir: assets,
  advertiseUrl: 'http://10.250.0.1:8080',
  configTokenTtlMs: 3 * 3600_000,
  discoveryRetrySeconds: 30,
  configBinding: 'first-request',
});
const macs = (await store.machines.list()).map((m) => m.mac);
const N = Number(process.env.N ?? 20000);
async function pair(i: number) {
  const mac = macs[i % macs.length]!;
  const r = await core.boot.machineScript({ mac, arch: 'x86_64', platform: 'efi', sourceIp: '10.250.0.2' });
  const url = /talos\.config=(\S+)/.exec(r.script)![1]!;
  const token = new URL(url).searchParams.get('token')!;
  const c = await core.boot.fetchConfig(mac, token, '10.250.0.2');
  if (c.status !== 200) throw new Error(JSON.stringify(c));
}
for (let i = 0; i < 2000; i++) await pair(i);
await store.flushed();
if (timer) timer.on = true;
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const C = Number(process.env.C ?? 10);
for (let i = 0; i < N; i += C) {
  await Promise.all(Array.from({ length: C }, (_, k) => pair(i + k)));
  await store.flushed();
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const cpu = process.cpuUsage(cpu0);
console.log(
  `${N} pairs in ${ms.toFixed(0)} ms: ${((ms * 1000) / N / 2).toFixed(1)} us per request, cpu ${((cpu.user + cpu.system) / N / 2).toFixed(1)} us/request (sys ${(cpu.system / N / 2).toFixed(1)})`,
);
if (timer) {
  timer.on = false;
  for (const line of timer.report(N * 2)) console.log(line);
}
await store.close();
