// The hostile scenario's load (bench/scenarios/hostile.ts): GET /ipxe?mac= at full speed from one
// address, for the one registered machine or for a MAC never seen before, as a host on the
// provisioning network can send them. Runs in the client namespace, started by the generator.
import { machineIdentity } from './dhcp-client.js';
import type { HostileJob, HostileResult } from './jobs.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  errors: number;
  non2xx: number;
}

/** A locally administered unicast MAC (02:…), random: what a flood of spoofed NICs looks like. */
function randomMac(): string {
  const b = Array.from({ length: 5 }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0'),
  );
  return ['02', ...b].join(':');
}

export async function hostileLoad(job: HostileJob): Promise<HostileResult> {
  const { default: autocannon } = (await import('autocannon')) as unknown as {
    default: (opts: object, cb: (err: Error | null, r: AutocannonResult) => void) => unknown;
  };
  const registered = machineIdentity(job.registered);
  const counts = { registered: 0, random: 0, bad: 0 };
  type Ctx = { known?: boolean };
  const requests = [
    {
      method: 'GET',
      setupRequest: (req: Record<string, unknown>, ctx: Ctx) => {
        ctx.known = Math.random() >= job.randomShare;
        const mac = ctx.known ? registered.mac : randomMac();
        if (ctx.known) counts.registered++;
        else counts.random++;
        return { ...req, path: `/ipxe?mac=${encodeURIComponent(mac)}&arch=x86_64&platform=efi` };
      },
      onResponse: (status: number, body: string, ctx: Ctx) => {
        if (ctx.known && (status !== 200 || !body.includes('talos.config='))) counts.bad++;
      },
    },
  ];
  console.log('START');
  const r = await new Promise<AutocannonResult>((resolve, reject) => {
    autocannon(
      { url: job.base, connections: job.connections, duration: job.durationS, pipelining: 1, requests, timeout: 10 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
  return {
    kind: 'hostile',
    reqPerSec: r.requests.average,
    requests: r.requests.total,
    registered: counts.registered,
    random: counts.random,
    latency: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors,
    non2xx: r.non2xx,
    bad: counts.bad,
  };
}
