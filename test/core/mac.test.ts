import t from 'tap';
import { ValidationError } from '../../src/core/errors.js';
import { macFromBytes, parseMac, tryParseMac } from '../../src/core/registry/mac.js';
import { normaliseUuid, uuidFromSmbiosBytes } from '../../src/core/registry/uuid.js';

t.test('accepted spellings normalise to lower-case colon form', async (t) => {
  for (const s of ['AA:BB:CC:DD:EE:FF', 'aa-bb-cc-dd-ee-ff', 'aabb.ccdd.eeff', 'AABBCCDDEEFF', ' aa:bb:cc:dd:ee:ff ']) {
    t.equal(parseMac(s), 'aa:bb:cc:dd:ee:ff', s);
  }
});

t.test('everything else is rejected naming the field', async (t) => {
  for (const s of [
    '',
    'aa:bb:cc:dd:ee',
    'aa:bb:cc:dd:ee:ff:00',
    'aa:bb-cc:dd:ee:ff',
    'gg:bb:cc:dd:ee:ff',
    'aabb.ccdd.eef',
    'aa.bb.cc.dd.ee.ff',
    'aabbccddeeff0',
    12 as unknown as string,
  ]) {
    let caught: unknown;
    try {
      parseMac(s, 'mac');
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof ValidationError && caught.field === 'mac', `rejects ${JSON.stringify(s)}`);
  }
  t.equal(tryParseMac('nope'), undefined);
  t.equal(macFromBytes(Uint8Array.from([0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0])), '52:54:00:12:34:56');
});

t.test('SMBIOS UUID byte order', async (t) => {
  // option 97 bytes for 4c4c4544-0042-3510-8057-b4c04f4d4e31: first three fields little-endian
  const raw = Uint8Array.from([
    0x44, 0x45, 0x4c, 0x4c, 0x42, 0x00, 0x10, 0x35, 0x80, 0x57, 0xb4, 0xc0, 0x4f, 0x4d, 0x4e, 0x31,
  ]);
  t.equal(uuidFromSmbiosBytes(raw), '4c4c4544-0042-3510-8057-b4c04f4d4e31');
  t.equal(uuidFromSmbiosBytes(raw.subarray(1)), undefined);
  t.equal(normaliseUuid('4C4C4544004235108057B4C04F4D4E31'), '4c4c4544-0042-3510-8057-b4c04f4d4e31');
  t.equal(normaliseUuid('nope'), undefined);
});
