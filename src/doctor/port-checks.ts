/** Ports: HTTP always; TFTP and Talos's listeners unless off; DHCP 67 and PXE 4011 when metalboot answers DHCP. */
import { describeOwner, portOwners, probeBind, type Proto } from './ports.js';
import type { DoctorSettings } from './settings.js';
import type { Check } from './types.js';

interface PortUse {
  label: string;
  proto: Proto;
  host: string;
  port: number;
  /** Whether metalboot, as configured, binds it. */
  needed: boolean;
  /** A port serve can do without (TFTP by default): trouble is a warning. */
  optional?: boolean;
  /** Another program may share it (DHCP services bound to other interfaces, like dnsmasq). */
  shareable?: boolean;
  why: string;
  /** Why it is not used, when not needed. */
  off?: string;
  /** What to do when another program holds it. */
  busyHint?: string;
}

const PRIVILEGED_HINT =
  'run metalboot as root or give node CAP_NET_BIND_SERVICE (setcap \'cap_net_bind_service=+ep\' "$(command -v node)")';

export async function portChecks(s: DoctorSettings): Promise<Check[]> {
  const uses: PortUse[] = [
    {
      label: 'HTTP',
      proto: 'tcp',
      host: s.listen.host,
      port: s.listen.port,
      needed: true,
      why: 'iPXE scripts, kernels, configs and the API',
      busyHint: 'stop it, or choose another --listen',
    },
    {
      label: 'TFTP',
      proto: 'udp',
      host: s.tftp?.host ?? '0.0.0.0',
      port: s.tftp?.port ?? 69,
      needed: s.tftp !== null,
      optional: !s.tftpExplicit,
      why: 'iPXE binaries for firmware PXE',
      off: 'TFTP is off',
      busyHint: 'stop it, or set --tftp-listen to another address (or off)',
    },
    {
      label: 'Talos events',
      proto: 'tcp',
      host: s.events?.host ?? '0.0.0.0',
      port: s.events?.port ?? 4002,
      needed: s.events !== null,
      optional: !s.talosExplicit.events,
      why: "Talos's install and join progress (gRPC event sink)",
      off: '--events-listen off',
      busyHint: 'stop it, or set --events-listen to another address (or off)',
    },
    {
      label: 'Talos kernel log',
      proto: 'tcp',
      host: s.kmsg?.host ?? '0.0.0.0',
      port: s.kmsg?.port ?? 4001,
      needed: s.kmsg !== null,
      optional: !s.talosExplicit.kmsg,
      why: "Talos's kernel log lines (failure reasons)",
      off: '--kmsg-listen off',
      busyHint: 'stop it, or set --kmsg-listen to another address (or off)',
    },
    {
      label: 'DHCP',
      proto: 'udp',
      host: '0.0.0.0',
      port: 67,
      needed: s.dhcpMode !== 'off',
      shareable: true,
      why: `DHCP (${s.dhcpMode})`,
    },
    {
      label: 'PXE proxy',
      proto: 'udp',
      host: '0.0.0.0',
      port: 4011,
      needed: s.dhcpMode === 'proxy',
      why: 'proxyDHCP requests from clients that have an address',
    },
  ];
  const checks: Check[] = [];
  for (const u of uses) checks.push(await check(u));
  return checks;
}

async function check(u: PortUse): Promise<Check> {
  const name = `${u.label} ${u.host}:${u.port}/${u.proto}`;
  if (!u.needed) {
    // Not ours as configured: only look (no bind), because something else answering there matters.
    const others = portOwners(u.proto, u.port);
    const off = u.off ?? 'DHCP is off';
    return {
      area: 'ports',
      status: 'info',
      message: others.length
        ? `${u.label} ${u.port}/${u.proto}: held by ${others.map(describeOwner).join(', ')}; ${off}`
        : `${u.label} ${u.port}/${u.proto}: not used (${off})`,
    };
  }
  const bind = await probeBind(u.proto, u.host, u.port);
  if (bind.state === 'free')
    return { area: 'ports', status: 'ok', message: `${name}: free, metalboot can bind it (${u.why})` };
  const bad = u.optional ? 'warn' : 'fail';
  if (bind.state === 'denied') {
    return {
      area: 'ports',
      status: bad,
      message: `${name}: not allowed to bind (${bind.message})`,
      hint: u.port < 1024 ? PRIVILEGED_HINT : undefined,
    };
  }
  if (bind.state === 'error')
    return {
      area: 'ports',
      status: bad,
      message: `${name}: cannot bind (${bind.message})`,
      hint: u.label === 'HTTP' ? 'check --listen' : undefined,
    };
  const owners = portOwners(u.proto, u.port);
  const ours = owners.find((o) => o.isMetalboot);
  if (ours) return { area: 'ports', status: 'ok', message: `${name}: in use by metalboot (pid ${ours.pid})` };
  if (owners.length === 0 && u.proto === 'tcp' && (await answersLikeMetalboot(u.host, u.port))) {
    return { area: 'ports', status: 'ok', message: `${name}: in use by a metalboot (it answers /healthz)` };
  }
  const who = owners.length ? owners.map(describeOwner).join(', ') : 'another program';
  if (u.shareable) {
    return {
      area: 'ports',
      status: 'warn',
      message: `${name}: in use by ${who}`,
      hint: 'metalboot shares port 67 only with a DHCP service bound to a different interface; on the same network, two DHCP servers fight (use --dhcp proxy beside a real DHCP server)',
    };
  }
  return { area: 'ports', status: bad, message: `${name}: in use by ${who}`, hint: u.busyHint ?? 'stop it' };
}

async function answersLikeMetalboot(host: string, port: number): Promise<boolean> {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  try {
    const res = await fetch(`http://${h}:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok && ((await res.json()) as { status?: string }).status === 'ok';
  } catch {
    return false;
  }
}
