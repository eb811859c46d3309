import type { Test } from 'tap';
import { startTalosListeners, silentLogger, type TalosListeners } from '../../src/talos/index.js';
import { clusterBody, configUrlOf, makeApp, type TestApp } from './core-app.js';
import { TalosStandIn } from './talos-standin.js';

export interface TalosTestApp extends TestApp {
  listeners: TalosListeners;
  talos: TalosStandIn;
  kmsgPort: number;
  /** Register a machine of cluster `prod` (created on first use). */
  register(m: { mac: string; hostname: string; role?: 'worker' | 'controlplane' }): Promise<void>;
  /** One network boot as iPXE and Talos do it, from `ip`: script, kernel, initramfs, config (when installing). */
  netboot(mac: string, ip?: string): Promise<{ kind: string; script: string; config?: string }>;
  machine(mac: string): Promise<any>;
  kinds(mac: string): Promise<string[]>;
  states(mac: string): Promise<string[]>;
}

/** metalboot with its Talos listeners on loopback (ports picked by the kernel) and a Talos stand-in. */
export async function makeTalosApp(t: Test, opts: Parameters<typeof makeApp>[1] = {}): Promise<TalosTestApp> {
  const base = await makeApp(t, opts);
  const listeners = await startTalosListeners({
    core: base.core,
    advertise: base.talosEndpoints,
    eventsListen: { host: '127.0.0.1', port: 0 },
    kmsgListen: { host: '127.0.0.1', port: 0 },
    logger: silentLogger,
  });
  const talos = new TalosStandIn(listeners.eventsAddress!);
  t.teardown(async () => {
    talos.close();
    await listeners.close();
  });
  let cluster = false;
  const settle = () => new Promise((resolve) => setImmediate(resolve)); // transfer bookkeeping runs after the response
  const app: TalosTestApp = {
    ...base,
    listeners,
    talos,
    kmsgPort: Number(listeners.kmsgAddress!.split(':').pop()),
    async register({ mac, hostname, role = 'worker' }) {
      if (!cluster) {
        const c = await base.api('POST', '/api/v1/clusters', clusterBody());
        if (c.status !== 201) throw new Error(c.body);
        cluster = true;
      }
      const r = await base.api('POST', '/api/v1/machines', {
        mac,
        hostname,
        role,
        cluster: 'prod',
        installDisk: '/dev/sda',
      });
      if (r.status !== 201) throw new Error(r.body);
    },
    async netboot(mac, ip = '127.0.0.1') {
      const res = await base.get(`/ipxe?mac=${encodeURIComponent(mac)}&arch=x86_64&platform=efi`, ip);
      const kind = String(res.headers['x-metalboot-script']);
      if (kind !== 'install' && kind !== 'wipe') return { kind, script: res.body };
      await base.get('/assets/talos/v1.13.9/vmlinuz-amd64', ip);
      await base.get('/assets/talos/v1.13.9/initramfs-amd64.xz', ip);
      await settle();
      if (kind === 'wipe') return { kind, script: res.body };
      const config = await base.get(configUrlOf(res.body), ip);
      if (config.statusCode !== 200) throw new Error(`config: ${config.statusCode} ${config.body}`);
      return { kind, script: res.body, config: config.body };
    },
    async machine(mac) {
      return (await base.api('GET', `/api/v1/machines/${mac}`)).json;
    },
    async kinds(mac) {
      // One entry per occurrence: identical repeats are counted on one event (`repeats`).
      return (await timeline(mac)).flatMap((e) => new Array<string>(e.repeats ?? 1).fill(e.kind));
    },
    async states(mac) {
      return (await timeline(mac)).filter((e) => e.state).map((e) => e.state!);
    },
  };
  /** The whole timeline, page by page (the API gives at most 1,000 events a page). */
  async function timeline(mac: string): Promise<Array<{ kind: string; state: string | null; repeats?: number }>> {
    const events: Array<{ kind: string; state: string | null; repeats?: number }> = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const res = await base.api(
        'GET',
        `/api/v1/machines/${mac}/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      );
      events.push(...res.json.items);
      cursor = res.json.next;
      if (!cursor) break;
    }
    return events;
  }
  return app;
}
