/**
 * What doctor checks against: the same settings `metalboot serve` would use (its flags, METALBOOT_*
 * variables and metalboot.yaml), parsed by the same functions. A setting serve would refuse is a
 * failed check here, with serve's own message.
 */
import {
  DEFAULT_CONNECTION_LIMITS,
  describeConnectionLimits,
  parseConnectionLimits,
  type ConnectionLimitInputs,
  type ConnectionLimits,
} from '../settings/limit-settings.js';
import { parseGrowthSettings, type GrowthInputs } from '../settings/growth-settings.js';
import { bindingWarnings, parseConfigBinding } from '../core/binding/config-binding.js';
import { interfaceAddress, parseDhcpMode, type DhcpModeSetting } from '../settings/network-settings.js';
import { deriveAdvertiseUrl, normaliseAdvertiseUrl, parseHttpWorkers, parseListen } from '../settings/settings.js';
import { divideLimits } from '../http/workers/ipc.js';
import { parseTalosListen, type ListenAddress } from '../talos/index.js';
import type { Check } from './types.js';

export interface DoctorInputs extends ConnectionLimitInputs, GrowthInputs {
  listen: string;
  tftpListen?: string;
  eventsListen?: string;
  kmsgListen?: string;
  dhcp: string;
  interface?: string;
  advertiseUrl?: string;
  dataDir: string;
  /** --database (as for serve): PostgreSQL there, else SQLite in the data directory. */
  database?: string;
  assetsDir: string;
  templatesDir: string;
  discoveryRetry: string;
  configBinding?: string;
  httpWorkers?: string;
}

export interface DoctorSettings {
  listen: { host: string; port: number };
  tftp: { host: string; port: number } | null;
  /** TFTP was asked for: serve treats failing to bind it as fatal, not a warning. */
  tftpExplicit: boolean;
  /** Talos's event sink and kernel-log receiver (null: off); explicit ones are fatal to serve when taken. */
  events: ListenAddress | null;
  kmsg: ListenAddress | null;
  talosExplicit: { events: boolean; kmsg: boolean };
  dhcpMode: DhcpModeSetting;
  interface?: string;
  advertiseUrl: string;
  /** How the advertise URL came about: operators should know when it is a guess. */
  advertiseFrom: 'setting' | 'interface' | 'listen' | 'guessed';
  dataDir: string;
  assetsDir: string;
  templatesDir: string;
  discoveryRetrySeconds: number;
  /** HTTP timeouts and connection caps, TFTP transfers per source, as serve would apply them. */
  limits: ConnectionLimits;
  /** Processes serving HTTP (`--http-workers`; 1: one process). */
  httpWorkers: number;
}

export function resolveDoctorSettings(inp: DoctorInputs): { settings: DoctorSettings; checks: Check[] } {
  const checks: Check[] = [];
  const attempt = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (err) {
      checks.push({
        area: 'settings',
        status: 'fail',
        message: (err as Error).message,
        hint: 'metalboot serve refuses this setting too',
      });
      return fallback;
    }
  };
  const listen = attempt(() => parseListen(inp.listen), { host: '0.0.0.0', port: 8080 });
  const tftp =
    inp.tftpListen === 'off'
      ? null
      : attempt(() => parseListen(inp.tftpListen ?? '0.0.0.0:69', 'tftp-listen'), { host: '0.0.0.0', port: 69 });
  const events = attempt(() => parseTalosListen(inp.eventsListen ?? '0.0.0.0:4002', 'events-listen'), {
    host: '0.0.0.0',
    port: 4002,
  });
  const kmsg = attempt(() => parseTalosListen(inp.kmsgListen ?? '0.0.0.0:4001', 'kmsg-listen'), {
    host: '0.0.0.0',
    port: 4001,
  });
  const dhcpMode = attempt(() => parseDhcpMode(inp.dhcp), 'off' as DhcpModeSetting);
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  let advertiseUrl: string;
  let advertiseFrom: DoctorSettings['advertiseFrom'];
  if (inp.advertiseUrl) {
    advertiseUrl = attempt(() => normaliseAdvertiseUrl(inp.advertiseUrl!), `http://127.0.0.1:${listen.port}`);
    advertiseFrom = 'setting';
  } else if (dhcpMode !== 'off' && inp.interface && wildcard) {
    advertiseUrl = attempt(
      () => `http://${interfaceAddress(inp.interface!).address}:${listen.port}`,
      `http://127.0.0.1:${listen.port}`,
    );
    advertiseFrom = 'interface';
  } else {
    const d = deriveAdvertiseUrl(listen);
    advertiseUrl = d.url;
    advertiseFrom = d.guessed ? 'guessed' : 'listen';
  }
  const limits = attempt(() => parseConnectionLimits(inp), DEFAULT_CONNECTION_LIMITS);
  attempt(() => parseGrowthSettings(inp), undefined); // discovery and retention limits: only checked
  const binding = attempt(() => parseConfigBinding(inp.configBinding ?? 'neighbour,dhcp'), undefined);
  for (const warning of binding ? bindingWarnings(binding) : []) {
    checks.push({
      area: 'settings',
      status: 'warn',
      message: warning,
      hint: 'see README "Which request gets the config"',
    });
  }
  const httpWorkers = attempt(() => parseHttpWorkers(inp.httpWorkers), 1);
  const retry = Number(inp.discoveryRetry);
  return {
    settings: {
      listen,
      tftp,
      tftpExplicit: inp.tftpListen !== undefined,
      events,
      kmsg,
      talosExplicit: { events: inp.eventsListen !== undefined, kmsg: inp.kmsgListen !== undefined },
      dhcpMode,
      interface: inp.interface,
      advertiseUrl,
      advertiseFrom,
      dataDir: inp.dataDir,
      assetsDir: inp.assetsDir,
      templatesDir: inp.templatesDir,
      discoveryRetrySeconds: Number.isInteger(retry) && retry > 0 ? retry : 30,
      limits,
      httpWorkers,
    },
    checks,
  };
}

/** Shown, not judged: an operator who sees a 503 or a cut download can tell which limit it was. */
export function limitsCheck(settings: DoctorSettings): Check {
  return {
    area: 'settings',
    status: 'info',
    message: `connection limits: ${describeConnectionLimits(settings.limits)}`,
  };
}

/** How many processes serve HTTP, and what each may hold of the connection caps. */
export function workersCheck(settings: DoctorSettings): Check {
  const n = settings.httpWorkers;
  if (n <= 1)
    return { area: 'settings', status: 'info', message: 'HTTP workers: 1 (HTTP is served by the one process)' };
  const share = divideLimits(settings.limits.http, n);
  return {
    area: 'settings',
    status: 'info',
    message: `HTTP workers: ${n} processes share the HTTP port (each ~70 MB resident), each holding up to ${share.maxConnections} connections, ${share.maxConnectionsPerSource} per source`,
  };
}
