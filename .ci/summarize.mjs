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
  // A subtest's summary line comes right after its indented body, closed by "    1..N".
  const prev = lines[i - 1] ?? '';
  const closesSubtest = /^\s*1\.\.\d+/.test(prev) && prev.search(/\S/) > m[1].length;
  if (closesSubtest) continue;
  if (/# SKIP/.test(lines[i])) failed++; // CI runs everything: a skip is a failure
  else if (m[2] === 'ok') passed++;
  else failed++;
}
if (Number(status) !== 0 && failed === 0) failed = 1; // typecheck, coverage threshold or a crash
console.log(`${passed} passed, ${failed} failed`);
process.exit(Number(status) === 0 && failed === 0 ? 0 : 1);
