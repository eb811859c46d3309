/**
 * The settings that bound what unauthenticated traffic and time can add to the store: discovered
 * machines (cap, expiry, rate per source) and the retention of timeline events and audit entries.
 */
import { Option } from 'commander';
import { DEFAULT_DISCOVERY_LIMITS, type DiscoveryLimits } from '../core/registry/discovery.js';
import { DEFAULT_RETENTION, type RetentionSettings } from '../core/registry/housekeeping.js';

const DAY_MS = 24 * 3600_000;
const days = (ms: number) => String(ms / DAY_MS);

/** serve's (and doctor's) options for these settings. */
export function growthOptions(): Option[] {
  const opt = (flags: string, description: string, env: string, def: number | string) =>
    new Option(flags, description).env(env).default(String(def));
  const d = DEFAULT_DISCOVERY_LIMITS;
  const r = DEFAULT_RETENTION;
  return [
    opt(
      '--discovered-max <n>',
      'at most this many discovered (not accepted) machines; the least recently seen go first',
      'METALBOOT_DISCOVERED_MAX',
      d.maxDiscovered,
    ),
    opt(
      '--discovered-expiry <days>',
      'forget a discovered machine not seen for this many days (0: never)',
      'METALBOOT_DISCOVERED_EXPIRY',
      days(d.expireAfterMs),
    ),
    opt(
      '--discovery-rate <n>',
      'new discovered machines per source address per minute (0: no limit)',
      'METALBOOT_DISCOVERY_RATE',
      d.perSourcePerMinute,
    ),
    opt(
      '--event-retention <days>',
      'delete timeline events older than this (0: no age limit)',
      'METALBOOT_EVENT_RETENTION',
      days(r.events.maxAgeMs),
    ),
    opt(
      '--event-max-rows <n>',
      'keep at most this many timeline events, the newest (0: no limit)',
      'METALBOOT_EVENT_MAX_ROWS',
      r.events.maxRows,
    ),
    opt(
      '--audit-retention <days>',
      'delete audit entries older than this (0: no age limit)',
      'METALBOOT_AUDIT_RETENTION',
      days(r.audit.maxAgeMs),
    ),
    opt(
      '--audit-max-rows <n>',
      'keep at most this many audit entries, the newest (0: no limit)',
      'METALBOOT_AUDIT_MAX_ROWS',
      r.audit.maxRows,
    ),
  ];
}

export interface GrowthInputs {
  discoveredMax?: string;
  discoveredExpiry?: string;
  discoveryRate?: string;
  eventRetention?: string;
  eventMaxRows?: string;
  auditRetention?: string;
  auditMaxRows?: string;
}

/** Parse growthOptions' values; a bad one throws with the flag's name. */
export function parseGrowthSettings(o: GrowthInputs): { discovery: DiscoveryLimits; retention: RetentionSettings } {
  const d = DEFAULT_DISCOVERY_LIMITS;
  const r = DEFAULT_RETENTION;
  const count = (v: string | undefined, name: string, def: number, min: number): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!/^\d{1,10}$/.test(v.trim()) || n < min)
      throw new Error(
        `--${name} must be a whole number${min > 0 ? ` of at least ${min}` : ' (0 or more)'}, got "${v}"`,
      );
    return n;
  };
  const dayMs = (v: string | undefined, name: string, defMs: number): number => {
    if (v === undefined) return defMs;
    const n = Number(v);
    if (!/^\d{1,6}(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n))
      throw new Error(`--${name} must be a number of days (0: no limit), got "${v}"`);
    return Math.round(n * DAY_MS);
  };
  // Rows: a limit of 0 is "none", anything else at least 1,000 (a smaller one is a typo that would empty the log).
  const rows = (v: string | undefined, name: string, def: number): number => {
    const n = count(v, name, def, 0);
    if (n !== 0 && n < 1000) throw new Error(`--${name} must be 0 (no limit) or at least 1000, got "${v}"`);
    return n;
  };
  return {
    discovery: {
      maxDiscovered: count(o.discoveredMax, 'discovered-max', d.maxDiscovered, 1),
      expireAfterMs: dayMs(o.discoveredExpiry, 'discovered-expiry', d.expireAfterMs),
      perSourcePerMinute: count(o.discoveryRate, 'discovery-rate', d.perSourcePerMinute, 0),
      maxSources: d.maxSources,
    },
    retention: {
      events: {
        maxAgeMs: dayMs(o.eventRetention, 'event-retention', r.events.maxAgeMs),
        maxRows: rows(o.eventMaxRows, 'event-max-rows', r.events.maxRows),
      },
      audit: {
        maxAgeMs: dayMs(o.auditRetention, 'audit-retention', r.audit.maxAgeMs),
        maxRows: rows(o.auditMaxRows, 'audit-max-rows', r.audit.maxRows),
      },
    },
  };
}
