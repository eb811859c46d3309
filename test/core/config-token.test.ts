import t from 'tap';
import { createHash } from 'node:crypto';
import { hashToken, newToken } from '../../src/core/boot/boot-service.js';

t.test('config tokens: 256 bits each, base64url, never handed out twice across pool refills', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(newToken()); // ~8 refills of the 4 KiB pool
  t.equal(seen.size, 1000, 'all distinct');
  const odd = [...seen].filter((s) => !/^[A-Za-z0-9_-]{43}$/.test(s) || Buffer.from(s, 'base64url').length !== 32);
  t.same(odd, [], '43 base64url characters, 32 bytes each');
  const bytes = Buffer.concat([...seen].map((s) => Buffer.from(s, 'base64url')));
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]!++;
  t.ok(
    Math.min(...counts) > 0 && Math.max(...counts) < (bytes.length / 256) * 2,
    'bytes spread over all values (not a zero-filled pool)',
  );
});

t.test('the stored hash is SHA-256 hex of the token', async (t) => {
  t.equal(hashToken('abc'), createHash('sha256').update('abc').digest('hex'));
});
