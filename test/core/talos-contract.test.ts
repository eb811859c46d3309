import t from 'tap';
import { contractFor, TALOS_CONTRACTS } from '../../src/core/config/talos-contract.js';

t.test('each minor version speaks the newest contract at or below it', async (t) => {
  t.equal(contractFor('v1.11.0').contract.installSettings, 'machine.install');
  t.equal(contractFor('v1.13.9').contract.installProgress, 'install-sequence');
  t.equal(contractFor('v1.14.0-rc.1').contract.installSettings, 'UnattendedInstallConfig');
  t.equal(contractFor('v1.14.2').contract.installProgress, 'install-controller-log');
  t.equal(contractFor('v1.9.0').contract, TALOS_CONTRACTS[0], 'older than the first row: the first row');
});

t.test('a version newer than every contract uses the newest and says so', async (t) => {
  t.equal(contractFor('v1.14.3').newerThanKnown, false);
  const next = contractFor('v1.15.0');
  t.equal(next.newerThanKnown, true);
  t.equal(next.contract, TALOS_CONTRACTS[TALOS_CONTRACTS.length - 1]);
  t.equal(contractFor('v2.0.0').newerThanKnown, true);
});

t.test('a string that is not a Talos version is refused', async (t) => {
  t.throws(() => contractFor('1.14'), /not a Talos version/);
});
