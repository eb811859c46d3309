import t from 'tap';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadSecretBox, SECRETS_KEY_FILE, SecretBox } from '../../src/support/secret-box.js';

t.test('seal and open: bound to its key and its machine, tampering detected', async (t) => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal('pa55word', 'aa:bb:cc:00:11:22');
  t.notMatch(sealed, 'pa55word');
  t.not(box.seal('pa55word', 'aa:bb:cc:00:11:22'), sealed, 'a fresh nonce each time');
  t.equal(box.open(sealed, 'aa:bb:cc:00:11:22'), 'pa55word');
  t.throws(() => box.open(sealed, 'aa:bb:cc:00:11:33'), /did not open/, "another machine's row");
  t.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'aa:bb:cc:00:11:22'), /did not open/, 'another key');
  const parts = sealed.split('.');
  const flipped = Buffer.from(parts[3]!, 'base64url');
  flipped[0] = flipped[0]! ^ 1;
  t.throws(
    () => box.open([...parts.slice(0, 3), flipped.toString('base64url')].join('.'), 'aa:bb:cc:00:11:22'),
    /did not open/,
    'tampered',
  );
  t.throws(() => box.open('v2.a.b.c', 'x'), /not a sealed secret/);
  t.throws(() => box.open('garbage', 'x'), /not a sealed secret/);
  t.throws(() => new SecretBox(randomBytes(16)), /32 bytes/);
});

t.test('the key file: made 0600 on first use, the same key after, refused when others can read it', async (t) => {
  const dir = t.testdir({});
  const first = loadSecretBox(dir);
  const file = join(dir, SECRETS_KEY_FILE);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.equal(readFileSync(file).length, 32);
  const sealed = first.seal('x', 'm');
  t.equal(loadSecretBox(dir).open(sealed, 'm'), 'x', 'reloaded: the same key');
  chmodSync(file, 0o644);
  t.throws(() => loadSecretBox(dir), /readable by others.*chmod 600/);
  const other = t.testdir({});
  writeFileSync(join(other, SECRETS_KEY_FILE), 'short', { mode: 0o600 });
  t.throws(() => loadSecretBox(other), /not a metalboot secrets key/);
});
