// The DHCP path without sockets: N DORAs (DISCOVER + REQUEST, distinct MACs) through the handler
// with the SQLite lease store on a file and the real core, C exchanges in flight. Shows what the
// handler, the codec and the store cost per DORA apart from the kernel and the load generator.
//   TS_NODE_TRANSPILE_ONLY=1 N=20000 C=32 [DIRECT=1] taskset -c 1 node --import=@tapjs/typescript/import bench/dhcp-path.ts
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createCore } from '../src/core/index.js';
import { loadTemplates } from '../src/core/boot/templates.js';
import { createDhcpHandler, type Outgoing } from '../src/dhcp/handler.js';
import { handlerContext } from '../src/dhcp/server.js';
import { decodeDhcp } from '../src/dhcp/codec.js';
import { SqliteStore } from '../src/store/sqlite/store.js';

const root = process.env.ROOT ?? '/tmp/metalboot-dhcp-path';
rmSync(root, { recursive: true, force: true });
mkdirSync(join(root, 'assets'), { recursive: true });
const store = new SqliteStore(join(root, 'metalboot.db'));
const core = createCore({
  store,
  templates: loadTemplates(join(import.meta.dirname, '../templates')),
  assetsDir: join(root, 'assets'),
  advertiseUrl: 'http://10.250.0.1:8080',
  configTokenTtlMs: 3 * 3600_000,
  discoveryRetrySeconds: 30,
});
const quiet = () => undefined;
const ctx = handlerContext({
  mode: 'authoritative',
  interface: 'bench',
  serverIp: '10.250.0.1',
  advertiseUrl: 'http://10.250.0.1:8080',
  pool: { range: '10.250.16.1-10.250.255.254', subnetMask: '255.255.0.0', router: '10.250.0.1', leaseTimeSec: 3600 },
  core: core.network,
  leases: store.leases,
  logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
});
const replies = new Map<number, Outgoing>(); // by xid: exchanges run concurrently
const handler = createDhcpHandler(ctx, (out) => replies.set(out.buf.readUInt32BE(4), out));

/** DIRECT=1: no giaddr, as a client on the segment sends (builds before giaddr-in-local-subnet answer only these). */
const DIRECT = process.env.DIRECT === '1';

/** A perfdhcp-like relayed request (giaddr in the local subnet, option 61). */
function packet(type: number, i: number, requested?: Buffer): Buffer {
  const mac = [0x02, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1];
  const head = Buffer.alloc(240);
  head.set([1, 1, 6, 1], 0);
  head.writeUInt32BE(i, 4);
  if (!DIRECT) head.set([10, 250, 0, 2], 24);
  head.set(mac, 28);
  head.set([99, 130, 83, 99], 236);
  const opts = [53, 1, type, 61, 7, 1, ...mac, 55, 4, 1, 3, 6, 15];
  if (requested) opts.push(50, 4, ...requested, 54, 4, 10, 250, 0, 1);
  opts.push(255);
  return Buffer.concat([head, Buffer.from(opts)]);
}

async function dora(i: number): Promise<void> {
  const src = { address: '10.250.0.2', port: 67 };
  await handler.handle(packet(1, i), src, 'server');
  const offer = decodeDhcp(replies.get(i)!.buf);
  replies.delete(i);
  const yi = offer.ok ? Buffer.from(offer.packet.yiaddr.split('.').map(Number)) : Buffer.alloc(4);
  await handler.handle(packet(3, i, yi), src, 'server');
  replies.delete(i);
}

const N = Number(process.env.N ?? 20000);
const C = Number(process.env.C ?? 32);
for (let i = 0; i < 2000; i++) await dora(1_000_000 + i); // warm-up
const started = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
let next = 0;
await Promise.all(
  Array.from({ length: C }, async () => {
    while (next < N) await dora(next++);
  }),
);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const cpu = process.cpuUsage(cpuBefore);
const cpuUsPerDora = (cpu.user + cpu.system) / N; // this process's CPU: steadier than wall time on a shared machine
console.log(
  `${N} DORAs in ${ms.toFixed(0)} ms: ${((N / ms) * 1000).toFixed(0)} DORA/s, ${((ms * 1000) / N).toFixed(1)} µs per DORA (wall), ${cpuUsPerDora.toFixed(1)} µs CPU per DORA; stats ${JSON.stringify(handler.stats)}`,
);
await store.close();
