import type { Test } from 'tap';
import type { StoredBmc } from '../../../src/core/ports/types.js';
import { at, mac, machine, open, type StoreFactory } from './fixtures.js';

const bmc = (address: string, extra: Partial<StoredBmc> = {}): StoredBmc => ({
  driver: 'ipmi',
  address,
  username: 'admin',
  systemId: null,
  insecureTls: false,
  passwordSealed: `sealed:${address}`,
  updatedAt: at(1),
  ...extra,
});

export function bmcConformance(t: Test, factory: StoreFactory): void {
  t.test('BMC: one per registered machine; replaced, deleted, and gone with its machine', async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(machine(mac(1)));
    await store.machines.insert(machine(mac(2)));
    t.equal(await store.bmc.get(mac(1)), undefined, 'none at first');
    t.equal(await store.bmc.put(mac(9), bmc('10.0.0.9')), false, 'not for an unknown machine');
    t.equal(await store.bmc.get(mac(9)), undefined, 'and nothing was written');
    const first = bmc('10.0.0.21:623');
    t.equal(await store.bmc.put(mac(1), first), true);
    t.same(await store.bmc.get(mac(1)), first);
    const redfish = bmc('[fd00::21]:8443', { driver: 'redfish', systemId: 'System.Embedded.1', insecureTls: true });
    t.equal(await store.bmc.put(mac(1), redfish), true, 'replaced');
    t.same(await store.bmc.get(mac(1)), redfish);
    t.equal(await store.bmc.get(mac(2)), undefined, "another machine's is untouched");
    await store.bmc.put(mac(2), bmc('10.0.0.22'));
    t.equal(await store.bmc.delete(mac(2)), true);
    t.equal(await store.bmc.delete(mac(2)), false, 'deleting nothing says so');
    t.equal(await store.machines.delete(mac(1)), true);
    t.equal(await store.bmc.get(mac(1)), undefined, 'deleting the machine deleted its BMC');
  });
}
