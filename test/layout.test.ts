/**
 * The tree keeps the shape issue 13 gave it: small files, a room guide in every folder, and the
 * README's Layout section naming every folder under src/ (so a newcomer's map matches the tree).
 */
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const SRC = join(ROOT, 'src');
const MAX_LINES = 300;

function walk(dir: string, out: { dirs: string[]; files: string[] } = { dirs: [], files: [] }) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      out.dirs.push(p);
      walk(p, out);
    } else out.files.push(p);
  }
  return out;
}

const tree = walk(SRC);

t.test(`no source file is over ${MAX_LINES} lines`, async (t) => {
  const sources = tree.files.filter((f) => /\.(ts|mjs|js)$/.test(f));
  t.ok(sources.length > 100, 'the sources were found');
  const long = sources
    .map((f) => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > MAX_LINES);
  t.same(long, [], 'split what grew past the limit into files that do one thing');
});

t.test('every folder under src/ has a README.md room guide', async (t) => {
  t.ok(tree.dirs.length > 10, 'the folders were found');
  const missing = tree.dirs.filter((d) => !tree.files.includes(join(d, 'README.md'))).map((d) => relative(ROOT, d));
  t.same(missing, []);
});

t.test("the README's Layout section names every top-level folder under src/ and every room of the core", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Layout');
  t.ok(start >= 0, 'README has a Layout section');
  const layout = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const top = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  const rooms = readdirSync(join(SRC, 'core')).filter((n) => statSync(join(SRC, 'core', n)).isDirectory());
  t.same(
    top.filter((n) => !layout.includes(`src/${n}/`)),
    [],
    'top-level folders',
  );
  t.same(
    rooms.filter((n) => !new RegExp(`^\\s+${n}/\\s`, 'm').test(layout)),
    [],
    'core rooms',
  );
  const named = [...layout.matchAll(/^src\/([a-z-]+)\/\s/gm)].map((m) => m[1]!);
  t.same(
    named.filter((n) => !top.includes(n)),
    [],
    'and no folder that is gone',
  );
});
