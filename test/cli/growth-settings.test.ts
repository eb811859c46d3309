import t from 'tap';
import { DEFAULT_DISCOVERY_LIMITS } from '../../src/core/registry/discovery.js';
import { DEFAULT_RETENTION } from '../../src/core/registry/housekeeping.js';
import { growthOptions, parseGrowthSettings } from '../../src/settings/growth-settings.js';

t.test('defaults are bounded: 10,000 discovered, 7 days, 60 a minute per source; retention on', async (t) => {
  const parsed = parseGrowthSettings({});
  t.same(parsed, { discovery: DEFAULT_DISCOVERY_LIMITS, retention: DEFAULT_RETENTION });
  t.equal(parsed.discovery.maxDiscovered, 10_000);
  t.equal(parsed.discovery.expireAfterMs, 7 * 24 * 3600_000);
  t.ok(parsed.retention.events.maxRows > 0 && parsed.retention.events.maxAgeMs > 0);
  t.ok(parsed.retention.audit.maxRows > 0 && parsed.retention.audit.maxAgeMs > 0);
  // The options' defaults (what --help shows, and what serve passes) parse to the same.
  const fromOptions = Object.fromEntries(growthOptions().map((o) => [o.attributeName(), String(o.defaultValue)]));
  t.same(parseGrowthSettings(fromOptions), parsed);
});

t.test('values parse; bad ones name their flag', async (t) => {
  const p = parseGrowthSettings({
    discoveredMax: '50',
    discoveredExpiry: '0.5',
    discoveryRate: '0',
    eventRetention: '0',
    eventMaxRows: '5000',
    auditRetention: '30',
    auditMaxRows: '0',
  });
  t.match(p, {
    discovery: { maxDiscovered: 50, expireAfterMs: 12 * 3600_000, perSourcePerMinute: 0 },
    retention: { events: { maxAgeMs: 0, maxRows: 5000 }, audit: { maxAgeMs: 30 * 24 * 3600_000, maxRows: 0 } },
  });
  t.throws(() => parseGrowthSettings({ discoveredMax: '0' }), /--discovered-max must be a whole number of at least 1/);
  t.throws(() => parseGrowthSettings({ discoveredMax: '-5' }), /--discovered-max/);
  t.throws(() => parseGrowthSettings({ discoveryRate: 'fast' }), /--discovery-rate/);
  t.throws(() => parseGrowthSettings({ discoveredExpiry: 'week' }), /--discovered-expiry must be a number of days/);
  t.throws(
    () => parseGrowthSettings({ eventMaxRows: '10' }),
    /--event-max-rows must be 0 \(no limit\) or at least 1000/,
  );
  t.throws(() => parseGrowthSettings({ auditRetention: '1e9' }), /--audit-retention/);
});
