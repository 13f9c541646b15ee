// Checks our CRC-32 against the standard check value and against zlib, whose gzip trailer
// carries the CRC-32 of the data it compressed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { crc32 } from './crc32.js';

test('gives the standard check value for "123456789"', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('agrees with the CRC-32 zlib writes into gzip trailers, including when continued from a seed', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(2048), (bytes, cut) => {
      const expected = gzipSync(bytes).readUInt32LE(gzipSync(bytes).length - 8);
      assert.equal(crc32(bytes), expected);
      const at = Math.min(cut, bytes.length);
      assert.equal(crc32(bytes.subarray(at), crc32(bytes.subarray(0, at))), expected);
    }),
    { numRuns: 300, seed: 20261122 },
  );
});
