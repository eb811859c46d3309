import { existsSync } from 'node:fs';
import { availableParallelism, networkInterfaces } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DiscoveryLimits } from '../core/registry/discovery.js';
import type { RetentionSettings } from '../core/registry/housekeeping.js';
import type { ConfigBinding } from '../core/binding/config-binding.js';
import type { MachineState } from '../core/types.js';
import type { ConnectionLimits } from './limit-settings.js';
import type { DhcpSettings } from './network-settings.js';
import type { WakeOnLanOptions } from '../power/index.js';
import type { ListenAddress } from '../talos/index.js';

/** Everything `metalboot serve` can be told. Each has a flag and a METALBOOT_* variable. */
export interface Settings {
  dataDir: string;
  /** A postgres:// URL: the store is PostgreSQL there (parseDatabase). Absent: SQLite in <dataDir>/metalboot.db. */
  database?: string;
  assetsDir: string;
  templatesDir: string;
  listen: { host: string; port: number };
  advertiseUrl: string;
  apiToken?: string;
  configTokenTtlSeconds: number;
  /** Which requests may get an install script with a config token (absent: DEFAULT_CONFIG_BINDING). */
  configBinding?: ConfigBinding;
  discoveryRetrySeconds: number;
  logLevel: string;
  /** auto, json or pretty (HTTP workers log as the primary does). */
  logFormat?: string;
  /** Processes serving HTTP (`--http-workers`): 1 (absent) is one process; more fork workers (src/http/workers/). */
  httpWorkers?: number;
  /** Require the API token on /metrics (default: open, like most exporters). */
  metricsRequireToken?: boolean;
  dhcp: DhcpSettings;
  /** Talos's gRPC event sink and kernel-log receiver; null (or absent) is off. */
  eventsListen?: ListenAddress | null;
  kmsgListen?: ListenAddress | null;
  /** The operator asked for these listeners: failing to bind them is fatal, not a warning. */
  talosListenExplicit?: { events: boolean; kmsg: boolean };
  /** Per-state stall deadlines in ms (absent: DEFAULT_STALL_DEADLINES; a state left out has none). */
  stallDeadlines?: Partial<Record<MachineState, number>>;
  /** Wake-on-LAN target; absent: power requests are refused. */
  wol?: WakeOnLanOptions | null;
  /** null: TFTP off. `explicit`: the operator asked for it, so failing to bind is fatal. */
  tftp: { host: string; port: number; explicit: boolean } | null;
  /** HTTP timeouts and connection caps, TFTP transfers per source (absent: DEFAULT_CONNECTION_LIMITS). */
  limits?: ConnectionLimits;
  /** The bound the SQLite WAL file is kept under (`--wal-max-mb`); absent: 64 MiB. */
  walMaxBytes?: number;
  /** Discovered machines: cap, expiry, rate per source (absent: DEFAULT_DISCOVERY_LIMITS). */
  discovery?: DiscoveryLimits;
  /** Timeline and audit retention (absent: DEFAULT_RETENTION). */
  retention?: RetentionSettings;
}

/** The templates shipped with metalboot (package root/templates), for an install run elsewhere. */
export const BUNDLED_TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../templates');

/**
 * --templates-dir's default: ./templates when the working directory has one (a checkout, or an
 * operator's edited copy), else the bundled templates, so the installed `metalboot` runs from
 * anywhere (systemd units, /etc/metalboot/metalboot.yaml).
 */
export function defaultTemplatesDir(cwdHas = existsSync('templates/ipxe')): string {
  return cwdHas ? 'templates' : BUNDLED_TEMPLATES_DIR;
}

/**
 * `--database`: a `postgres://` or `postgresql://` URL selects PostgreSQL; unset or empty keeps the
 * embedded SQLite store. The value is never repeated in an error: it may carry a password.
 */
export function parseDatabase(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(v)?.[1]?.toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql')
    throw new Error(
      `--database must be a postgres:// or postgresql:// URL (got ${scheme ? `a ${scheme}: URL` : 'no URL'}); leave it unset for SQLite in the data directory`,
    );
  try {
    new URL(v);
  } catch {
    throw new Error('--database is not a valid URL (postgres://user:password@host:port/database)');
  }
  return v;
}

/** `host:port`, `[v6]:port` or `:port`. */
export function parseListen(value: string, name = 'listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--${name} "${value}" must be host:port (e.g. 0.0.0.0:8080)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * The URL machines are told to use. A wildcard listen address means nothing to a machine, so
 * pick the first non-internal IPv4 address and say so in the log; operators with several
 * networks should set --advertise-url.
 */
export function deriveAdvertiseUrl(listen: { host: string; port: number }): { url: string; guessed: boolean } {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  if (!wildcard) {
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    return { url: `http://${host}:${listen.port}`, guessed: false };
  }
  const addr = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  return { url: `http://${addr ?? '127.0.0.1'}:${listen.port}`, guessed: true };
}

export function normaliseAdvertiseUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`--advertise-url "${value}" is not a URL (e.g. http://10.0.0.5:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('--advertise-url must be http:// or https://');
  if (u.search || u.hash) throw new Error('--advertise-url must not have a query or fragment');
  return u.toString().replace(/\/+$/, '');
}

/**
 * `--http-workers`: a whole number from 1 to 64, or `auto` (one per CPU); absent or empty: 1, one
 * process. Not yet one per CPU by default: with workers, boot scripts and configs take an extra
 * local hop (0.57× the requests per second on 2 cores), and only the worker tests run that way.
 */
export function parseHttpWorkers(value: string | undefined, cpus = availableParallelism()): number {
  const v = value?.trim();
  if (!v) return 1;
  if (v === 'auto') return Math.min(cpus, MAX_HTTP_WORKERS);
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_HTTP_WORKERS)
    throw new Error(`--http-workers must be a whole number from 1 to ${MAX_HTTP_WORKERS}, got "${value}"`);
  return n;
}

export const MAX_HTTP_WORKERS = 64;
