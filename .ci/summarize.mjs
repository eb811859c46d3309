// Reads tap's TAP output and prints "N passed, N failed" (CI reads only this last line).
// Counts leaf test points (assertions), not the subtest summary lines that wrap them.
import { readFileSync } from 'node:fs';

const [file, status] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
let passed = 0;
let failed = 0;
for (let i = 0; i < lines.length; i++) {
  const m = /^(\s*)(not ok|ok) \d+/.exec(lines[i]);
  if (!m) continue;
  // A subtest's summary line comes right after its more-indented body, which ends with its plan
  // ("    1..N") or, for a test file, its "    # time=…" line.
  let j = i - 1;
  while (j >= 0 && lines[j].trim() === '') j--;
  const prev = lines[j] ?? '';
  const closesSubtest = /^\s*(1\.\.\d+|# time=)/.test(prev) && prev.search(/\S/) > m[1].length;
  if (closesSubtest) continue;
  // CI runs everything: a skipped test, or a failing one marked TODO, counts as failed.
  if (/# SKIP/i.test(lines[i]) || (m[2] === 'not ok' && /# TODO/i.test(lines[i]))) failed++;
  else if (m[2] === 'ok') passed++;
  else failed++;
}
if (Number(status) !== 0 && failed === 0) failed = 1; // typecheck, coverage threshold or a crash
console.log(`${passed} passed, ${failed} failed`);
process.exit(Number(status) === 0 && failed === 0 ? 0 : 1);
