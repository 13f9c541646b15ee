// Checks our CRC-32C against the published test vectors of RFC 3720 appendix B.4 (iSCSI uses the
// same Castagnoli CRC as VHDX). Real VHDX headers written by Windows are checked in corpus.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from './crc32c.js';

test('matches the RFC 3720 B.4 vectors', () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('continues a running checksum from a seed', () => {
  const bytes = new TextEncoder().encode('vhdxfile and more');
  assert.equal(crc32c(bytes.subarray(5), crc32c(bytes.subarray(0, 5))), crc32c(bytes));
});
