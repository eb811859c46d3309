import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { negotiateOptions } from '../../src/tftp/options.js';
import { normalizeRequestPath, openInsideRoot } from '../../src/tftp/paths.js';

const limits = { maxBlksize: 1468, maxWindowsize: 64, defaultTimeoutMs: 1000 };
const opts = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));

t.test('option negotiation', async (t) => {
  const none = negotiateOptions(new Map(), 10, limits);
  t.equal(none.oack, undefined, 'no options: no OACK, plain DATA 1');
  t.same(none.negotiated, { blksize: 512, windowsize: 1, timeoutMs: 1000, requested: {} });

  const all = negotiateOptions(
    opts({ blksize: '65464', tsize: '0', timeout: '3', windowsize: '500', foo: 'bar' }),
    1234,
    limits,
  );
  t.same(
    Object.fromEntries(all.oack ?? []),
    { blksize: '1468', tsize: '1234', timeout: '3', windowsize: '64' },
    'clamped, unknown dropped',
  );
  t.same(all.negotiated, {
    blksize: 1468,
    windowsize: 64,
    timeoutMs: 3000,
    tsize: 1234,
    requested: { blksize: '65464', tsize: '0', timeout: '3', windowsize: '500', foo: 'bar' },
  });
  t.equal(
    negotiateOptions(opts({ blksize: '100000' }), 1, { ...limits, maxBlksize: 100000 }).negotiated.blksize,
    65464,
    'RFC cap',
  );
  t.equal(negotiateOptions(opts({ blksize: '8' }), 1, limits).negotiated.blksize, 8, 'smallest legal blksize');
  const big = negotiateOptions(opts({ blksize: '65464', windowsize: '1024' }), 1, {
    ...limits,
    maxBlksize: 65464,
    maxWindowsize: 1024,
  });
  t.equal(big.negotiated.windowsize, 16, 'window memory capped at 1 MiB');

  for (const [name, value] of [
    ['blksize', '7'],
    ['blksize', 'abc'],
    ['blksize', '1e3'],
    ['blksize', ''],
    ['blksize', '99999999999'],
    ['timeout', '0'],
    ['timeout', '256'],
    ['windowsize', '0'],
    ['windowsize', '65536'],
    ['tsize', 'x'],
  ] as const) {
    t.equal(
      negotiateOptions(opts({ [name]: value }), 1, limits).oack,
      undefined,
      `${name}=${JSON.stringify(value)} declined`,
    );
  }
});

t.test('request path normalization', async (t) => {
  const ok = (name: string): string | undefined => {
    const r = normalizeRequestPath(name);
    return r.ok ? r.relative : undefined;
  };
  t.equal(ok('undionly.kpxe'), 'undionly.kpxe');
  t.equal(ok('/undionly.kpxe'), 'undionly.kpxe', 'leading slash means the TFTP root');
  t.equal(ok('//a//b/./c/'), 'a/b/c');
  for (const bad of [
    '../etc/passwd',
    'a/../../b',
    '..',
    'a/..',
    '/../x',
    '..\\x',
    'a\\b',
    'a\0b',
    '',
    '/',
    './',
    '.',
  ]) {
    t.equal(ok(bad), undefined, `refused: ${JSON.stringify(bad)}`);
  }
});

t.test('openInsideRoot', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tftp-paths-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'sub', 'file.bin'), 'hello');
  fs.writeFileSync(path.join(dir, 'secret'), 'outside');
  fs.symlinkSync(path.join(dir, 'secret'), path.join(root, 'escape'));
  fs.symlinkSync(path.join(root, 'sub', 'file.bin'), path.join(root, 'inside-link'));
  fs.symlinkSync(dir, path.join(root, 'dirlink'));
  fs.symlinkSync('loop', path.join(root, 'loop'));
  const realRoot = fs.realpathSync(root);

  const good = await openInsideRoot(realRoot, '/sub/file.bin');
  t.match(good, { ok: true, size: 5, relative: 'sub/file.bin' });
  if (good.ok) fs.closeSync(good.fd);
  const viaLink = await openInsideRoot(realRoot, 'inside-link');
  t.match(viaLink, { ok: true, size: 5 }, 'symlink staying inside root is followed');
  if (viaLink.ok) fs.closeSync(viaLink.fd);

  t.match(await openInsideRoot(realRoot, 'escape'), { ok: false, kind: 'ACCESS_VIOLATION' }, 'symlink out of root');
  t.match(
    await openInsideRoot(realRoot, 'dirlink/secret'),
    { ok: false, kind: 'ACCESS_VIOLATION' },
    'dir symlink out of root',
  );
  t.match(await openInsideRoot(realRoot, '../secret'), { ok: false, kind: 'ACCESS_VIOLATION' });
  t.match(await openInsideRoot(realRoot, 'missing'), { ok: false, kind: 'NOT_FOUND' });
  t.match(await openInsideRoot(realRoot, 'sub/file.bin/x'), { ok: false, kind: 'NOT_FOUND' }, 'ENOTDIR');
  t.match(await openInsideRoot(realRoot, 'loop'), { ok: false, kind: 'NOT_FOUND' }, 'ELOOP');
  t.match(await openInsideRoot(realRoot, 'sub'), { ok: false, kind: 'NOT_FOUND', message: 'not a regular file' });
});
