/**
 * README's "Talos versions" table is written from TALOS_CONTRACTS: one row per contract, naming it
 * and the place its install settings are rendered in, plus the row for unknown newer versions.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';

import { TALOS_CONTRACTS } from '../../src/core/config/talos-contract.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

t.test('every contract has its row in README’s Talos versions table', async (t) => {
  const section = readme.split('\n### Talos versions\n')[1]?.split('\n## ')[0] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('| v') || line.startsWith('| newer'));
  t.equal(rows.length, TALOS_CONTRACTS.length + 1, 'one row per contract, and one for newer versions');
  for (const contract of TALOS_CONTRACTS) {
    const row = rows.find((r) => r.includes(`(contract ${contract.since})`));
    t.ok(row, `a row for the ${contract.since} contract`);
    t.ok(
      row?.includes(`\`${contract.installSettings}\``) || row?.includes(`\`.${contract.installSettings}\``),
      `${contract.since}: rendered in ${contract.installSettings}`,
    );
  }
});
