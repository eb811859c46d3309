/**
 * The store conformance suite: what every `Store` implementation (src/core/ports/) must do, written
 * once against the interface. A store runs it from a test file of its own:
 *
 *   runStoreConformance(t, 'sqlite', async () => ({ store, another, cleanup }));
 *
 * Only what the interface promises is asserted; what one implementation does beyond it (SQLite's
 * WAL, group commit, migrations, triggers) is tested beside that implementation. Each test gets a
 * fresh, empty store from the factory.
 */
import type { Test } from 'tap';
import { auditConformance } from './audit.js';
import { bmcConformance } from './bmc.js';
import { clusterConformance } from './clusters.js';
import { durabilityConformance } from './durability.js';
import { eventConformance } from './events.js';
import type { StoreFactory } from './fixtures.js';
import { leaseServerConformance } from './lease-servers.js';
import { leaseConformance } from './leases.js';
import { machineConformance } from './machines.js';
import { paginationConformance } from './pagination.js';
import { retentionConformance } from './retention.js';
import { talosConformance } from './talos.js';
import { tokenConformance } from './tokens.js';

export type { StoreFactory, StoreUnderTest } from './fixtures.js';

const SECTIONS: Array<[string, (t: Test, factory: StoreFactory) => void]> = [
  ['clusters', clusterConformance],
  ['machines', machineConformance],
  ['events', eventConformance],
  ['audit', auditConformance],
  ['retention', retentionConformance],
  ['pagination', paginationConformance],
  ['tokens', tokenConformance],
  ['bmc', bmcConformance],
  ['leases', leaseConformance],
  ['leases of several servers', leaseServerConformance],
  ['talos events and progress', talosConformance],
  ['flushed and durability', durabilityConformance],
];

export function runStoreConformance(t: Test, name: string, factory: StoreFactory): void {
  t.test(`${name} store conformance`, async (t) => {
    for (const [section, run] of SECTIONS) t.test(section, async (t) => run(t, factory));
  });
}
