import type { Test } from 'tap';
import { at, mac, machine, open, token, type StoreFactory } from './fixtures.js';

export function tokenConformance(t: Test, factory: StoreFactory): void {
  t.test('config tokens: one per machine; issuing replaces, revoking clears', async (t) => {
    const { store } = await open(t, factory);
    await store.machines.insert(machine(mac(1)));
    await store.machines.insert(machine(mac(2)));
    t.equal(await store.tokens.forMachine(mac(1)), undefined, 'none before a boot');
    const first = token(mac(1), 'a');
    await store.tokens.issue(first);
    t.same(await store.tokens.forMachine(mac(1)), first);
    t.equal(await store.tokens.forMachine(mac(2)), undefined, 'another machine has none');
    const expired = token(mac(2), 'c', { expiresAt: at(-1) });
    await store.tokens.issue(expired);
    t.same(
      await store.tokens.forMachine(mac(2)),
      expired,
      'an expired token is still returned (the caller says why it refuses)',
    );
    const second = token(mac(1), 'b', { createdAt: at(120), sourceIp: '10.0.0.22' });
    await store.tokens.issue(second);
    t.same(await store.tokens.forMachine(mac(1)), second, 'the latest boot replaces the earlier token');
    await store.tokens.revokeForMachine(mac(1));
    t.equal(await store.tokens.forMachine(mac(1)), undefined, 'revoked');
    t.same(await store.tokens.forMachine(mac(2)), expired, "another machine's token stays");
    await store.tokens.revokeForMachine(mac(1));
    await store.tokens.revokeForMachine(mac(9));
    t.pass('revoking nothing, or for an unknown machine, is harmless');
  });

  t.test(
    'config tokens: none for an unknown machine; machine edits keep it; a re-registered machine starts without',
    async (t) => {
      const { store } = await open(t, factory);
      await store.tokens.issue(token(mac(9), 'a'));
      t.equal(
        await store.tokens.forMachine(mac(9)),
        undefined,
        'issuing for a machine that is not stored does nothing',
      );
      await store.machines.insert(machine(mac(9)));
      t.equal(await store.tokens.forMachine(mac(9)), undefined, 'nor does it wait for the machine');
      const tok = token(mac(9), 'b');
      await store.tokens.issue(tok);
      const m = (await store.machines.get(mac(9)))!;
      await store.machines.update({ ...m, hostname: 'edited' });
      await store.machines.noteSeen({ ...m, lastSeen: { ip: '10.0.0.9', at: at(200) } });
      t.same(await store.tokens.forMachine(mac(9)), tok, 'an update and a noted boot leave the token alone');
      t.equal((await store.machines.get(mac(9)))?.hostname, 'edited', 'and issuing left the machine alone');
      await store.machines.delete(mac(9));
      t.equal(await store.tokens.forMachine(mac(9)), undefined, 'gone with its machine');
      await store.machines.insert(machine(mac(9)));
      t.equal(
        await store.tokens.forMachine(mac(9)),
        undefined,
        'a deleted and re-registered machine starts without one',
      );
    },
  );
}
