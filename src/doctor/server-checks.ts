/** Is the server there, does it take our token, and what do its machines say. */
import type { Cluster, Machine } from '../core/types.js';
import { listAll } from '../cli/pages.js';
import type { Check, DoctorApi } from './types.js';

export interface ServerFacts {
  checks: Check[];
  up: boolean;
  /** undefined when the API could not be asked. */
  clusters?: Cluster[];
  machines: Machine[];
}

export async function serverChecks(api: DoctorApi): Promise<ServerFacts> {
  const down = await api.health();
  if (down) {
    return {
      checks: [
        {
          area: 'server',
          status: 'fail',
          message: `no metalboot at ${api.server}: ${down}`,
          hint: 'start it (`metalboot serve`), or point --server at it; checks that need it are skipped',
        },
      ],
      up: false,
      machines: [],
    };
  }
  try {
    const [clusters, machines, status] = await Promise.all([
      listAll<Cluster>((p) => api.get(p), '/clusters'),
      listAll<Machine>((p) => api.get(p), '/machines'),
      api.find<{ store?: string; leader?: boolean }>('/server').catch(() => undefined),
    ]);
    return {
      checks: [
        {
          area: 'server',
          status: 'ok',
          message: `${api.server} answers; the API token is accepted (${clusters.length} cluster(s), ${machines.length} machine(s))${role(status)}`,
        },
      ],
      up: true,
      clusters,
      machines,
    };
  } catch (err) {
    const e = err as Error & { hint?: string };
    return { checks: [{ area: 'server', status: 'fail', message: e.message, hint: e.hint }], up: true, machines: [] };
  }
}

/** Which store, and on PostgreSQL whether this instance runs the singletons (an older server says neither). */
function role(s: { store?: string; leader?: boolean } | undefined): string {
  if (s?.store === 'sqlite') return '; store SQLite';
  if (s?.store !== 'postgresql') return '';
  return s.leader
    ? '; store PostgreSQL, leader (runs the stall detector and housekeeping)'
    : '; store PostgreSQL, standby (another instance runs the stall detector and housekeeping)';
}

/** Machines that need a person: discovered ones waiting, failed or stalled ones, ones that cannot install. */
export function machineChecks(machines: Machine[]): Check[] {
  const checks: Check[] = [];
  const name = (m: Machine) => m.hostname ?? m.mac;
  const discovered = machines.filter((m) => m.state === 'discovered');
  if (discovered.length) {
    const shown =
      discovered
        .slice(0, 10)
        .map((m) => m.mac)
        .join(', ') + (discovered.length > 10 ? ', …' : '');
    checks.push({
      area: 'machines',
      status: 'info',
      message: `${discovered.length} discovered machine(s) waiting to be accepted: ${shown}`,
      hint: 'metalboot machine add <mac> --hostname … --role … --cluster … (all of them: metalboot machine list --state discovered)',
    });
  }
  for (const m of machines.filter((x) => x.state === 'failed' || x.state === 'stalled')) {
    checks.push({
      area: 'machines',
      status: 'warn',
      message: `${name(m)} is ${m.state} since ${m.stateChangedAt}`,
      hint: `metalboot machine events ${m.mac}`,
    });
  }
  for (const m of machines.filter(
    (x) => x.state !== 'discovered' && (!x.installed || x.reimage) && (!x.cluster || !x.role),
  )) {
    checks.push({
      area: 'machines',
      status: 'warn',
      message: `${name(m)} cannot install: no ${!m.cluster ? 'cluster' : 'role'} assigned`,
      hint: `metalboot machine edit ${m.mac} --cluster … --role …`,
    });
  }
  if (machines.length && checks.length === 0)
    checks.push({
      area: 'machines',
      status: 'ok',
      message: `${machines.length} machine(s), none failed, stalled or waiting`,
    });
  return checks;
}
