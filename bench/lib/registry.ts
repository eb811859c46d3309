// Test data: synthetic assets with Talos's real sizes, the bench cluster and machines, a seeded
// registry (10,000 / 100,000 machines) and the pre-rendered files the nginx reference serves.
// Registry and rendering go through metalboot's own core (src/, read-only), so the reference
// serves byte-for-byte what metalboot renders, and seeded machines are what registration stores.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createCore } from '../../src/core/index.js';
import { loadTemplates } from '../../src/core/boot/templates.js';
import type { Machine } from '../../src/core/types.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { machineIdentity } from './dhcp-client.js';
import { PROJECT_ROOT } from './servers.js';

export const TALOS_VERSION = 'v1.13.9';
/** The render scenario's second cluster: talosctl v1.14 output (17 documents per worker). */
export const TALOS_VERSION_V14 = 'v1.14.0';
export type BenchContract = 'v1.13' | 'v1.14';
export const SIZES = {
  /** The iPXE binary fetched over TFTP; also the tftp scenario's 1 MiB file. */
  tftp: 1024 * 1024,
  /** Talos v1.13 amd64: vmlinuz ~20 MB, initramfs.xz ~100 MB. */
  kernel: 20 * 1024 * 1024,
  initramfs: 100 * 1024 * 1024,
};

export interface Assets {
  dir: string;
  ipxeDir: string;
  ipxeSha256: string;
}

function randomFile(file: string, size: number): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    for (let left = size; left > 0; ) {
      const chunk = randomBytes(Math.min(left, 4 * 1024 * 1024));
      fs.writeSync(fd, chunk);
      hash.update(chunk);
      left -= chunk.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Random (incompressible) files of the real sizes, readable by `nobody` (nginx, in.tftpd). */
export function makeAssets(root: string): Assets {
  const dir = path.join(root, 'assets');
  const ipxeDir = path.join(dir, 'ipxe');
  const talos = path.join(dir, 'talos', TALOS_VERSION);
  fs.mkdirSync(ipxeDir, { recursive: true });
  fs.mkdirSync(talos, { recursive: true });
  const ipxeSha256 = randomFile(path.join(ipxeDir, 'ipxe.efi'), SIZES.tftp);
  randomFile(path.join(talos, 'vmlinuz-amd64'), SIZES.kernel);
  randomFile(path.join(talos, 'initramfs-amd64.xz'), SIZES.initramfs);
  // The v1.14 cluster boots the same files (the bench measures rendering, not Talos).
  const talos14 = path.join(dir, 'talos', TALOS_VERSION_V14);
  fs.mkdirSync(talos14, { recursive: true });
  for (const f of ['vmlinuz-amd64', 'initramfs-amd64.xz']) fs.linkSync(path.join(talos, f), path.join(talos14, f));
  for (const d of [dir, ipxeDir, path.dirname(talos), talos, talos14]) fs.chmodSync(d, 0o755);
  return { dir, ipxeDir, ipxeSha256 };
}

export function clusterInput(contract: BenchContract = 'v1.13'): {
  name: string;
  talosVersion: string;
  controlplane: string;
  worker: string;
} {
  const fixtures = path.join(PROJECT_ROOT, 'bench/fixtures', contract === 'v1.14' ? 'v1.14' : '');
  return {
    name: 'bench',
    talosVersion: contract === 'v1.14' ? TALOS_VERSION_V14 : TALOS_VERSION,
    controlplane: fs.readFileSync(path.join(fixtures, 'controlplane.yaml'), 'utf8'),
    worker: fs.readFileSync(path.join(fixtures, 'worker.yaml'), 'utf8'),
  };
}

export const hostnameOf = (i: number) => `node-${i}`;

/** The registration body of machine i, with its reserved address when given. */
export function machineInput(i: number, ip?: string): Record<string, unknown> {
  const id = machineIdentity(i);
  return {
    mac: id.mac,
    hostname: hostnameOf(i),
    role: 'worker',
    cluster: 'bench',
    installDisk: '/dev/sda',
    uuid: id.uuid,
    ...(ip ? { ip } : {}),
  };
}

/** Storm machine n's reserved address: 10.250.1.1 … (250 per /24). */
export function stormIp(n: number): string {
  return `10.250.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

const actor = { actor: 'bench', sourceIp: null };

function coreFor(store: SqliteStore, assetsDir: string, advertiseUrl: string) {
  return createCore({
    store,
    templates: loadTemplates(path.join(PROJECT_ROOT, 'templates')),
    assetsDir,
    advertiseUrl,
    configTokenTtlMs: 3 * 3600_000,
    discoveryRetrySeconds: 30,
    configBinding: 'first-request',
  });
}

/**
 * A registry of `count` machines (identities first…first+count-1) in `dataDir`, written before the
 * server starts. The first machine is registered through the core (full validation and config
 * render); the others are the same document with their own MAC, hostname and UUID, inserted in
 * one transaction with their `registered` event — what registration would store, minus a config
 * render per machine (which would make seeding 100,000 machines take many minutes).
 */
export async function seedRegistry(
  dataDir: string,
  assetsDir: string,
  first: number,
  count: number,
  contract: BenchContract = 'v1.13',
): Promise<number> {
  const started = performance.now();
  fs.mkdirSync(dataDir, { recursive: true });
  const store = new SqliteStore(path.join(dataDir, 'metalboot.db'));
  try {
    const core = coreFor(store, assetsDir, 'http://10.250.0.1:8080');
    await core.clusters.create(clusterInput(contract), actor);
    const template = await core.machines.register(machineInput(first) as never, actor);
    const insertAll = store.db.transaction(() => {
      for (let i = first + 1; i < first + count; i++) {
        const id = machineIdentity(i);
        const m: Machine = {
          ...template,
          mac: id.mac,
          uuid: id.uuid,
          hostname: hostnameOf(i),
          labels: {},
          lastSeen: {},
        };
        void store.machines.insert(m);
        void store.events.append({
          mac: m.mac,
          at: m.createdAt,
          kind: 'registered',
          detail: { cluster: m.cluster, role: m.role, hostname: m.hostname },
          sourceIp: null,
          state: 'registered',
        });
      }
    });
    insertAll();
    const n = (store.db.prepare('SELECT count(*) AS n FROM machines').get() as { n: number }).n;
    if (n !== count) throw new Error(`seeded ${n} machines, expected ${count}`);
  } finally {
    await store.close();
  }
  return performance.now() - started;
}

/**
 * What the nginx reference serves: /boot.ipxe, one install script per machine and one config per
 * machine, rendered by metalboot's own core (in memory) for `base`, so both serve the same bytes.
 */
export async function prerender(
  www: string,
  assetsDir: string,
  base: string,
  count: number,
  ipOf: (n: number) => string,
): Promise<void> {
  fs.mkdirSync(path.join(www, 'scripts'), { recursive: true });
  fs.mkdirSync(path.join(www, 'config'), { recursive: true });
  const store = new SqliteStore(':memory:');
  try {
    const core = coreFor(store, assetsDir, base);
    await core.clusters.create(clusterInput(), actor);
    fs.writeFileSync(path.join(www, 'boot.ipxe'), await core.boot.genericScript('0.0.0.0'));
    for (let n = 0; n < count; n++) {
      const ip = ipOf(n);
      const m = await core.machines.register(machineInput(n, ip) as never, actor);
      const id = machineIdentity(n);
      const { kind, script } = await core.boot.machineScript({
        mac: id.mac,
        uuid: id.uuid,
        serial: '',
        arch: 'x86_64',
        platform: 'efi',
        sourceIp: ip,
      });
      if (kind !== 'install') throw new Error(`prerender: ${id.mac} got a ${kind} script`);
      fs.writeFileSync(path.join(www, 'scripts', `${id.mac.replaceAll(':', '')}.ipxe`), script);
      const cluster = await store.clusters.get('bench');
      const r = await core.renderer.render(cluster!, m);
      if (!r.ok) throw new Error(`prerender: config of ${id.mac}: ${r.errors.join('; ')}`);
      fs.writeFileSync(path.join(www, 'config', id.mac), r.yaml);
    }
  } finally {
    await store.close();
  }
  for (const d of [www, path.join(www, 'scripts'), path.join(www, 'config')]) fs.chmodSync(d, 0o755);
}
