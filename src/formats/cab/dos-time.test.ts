// Checks the DOS date/time conversion at its edges; the everyday values are compared with
// gcab, cabextract and 7-Zip in read-cab.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dosDateTimeToIso } from './dos-time.js';

const pack = (y: number, mo: number, d: number, h: number, mi: number, s: number) => [((y - 1980) << 9) | (mo << 5) | d, (h << 11) | (mi << 5) | (s >> 1)] as const;

test('converts the first and last representable DOS instants', () => {
  assert.equal(dosDateTimeToIso(...pack(1980, 1, 1, 0, 0, 0)), '1980-01-01T00:00:00');
  assert.equal(dosDateTimeToIso(...pack(2107, 12, 31, 23, 59, 58)), '2107-12-31T23:59:58');
});

test('accepts 29 February only in leap years', () => {
  assert.equal(dosDateTimeToIso(...pack(2024, 2, 29, 12, 0, 0)), '2024-02-29T12:00:00');
  assert.equal(dosDateTimeToIso(...pack(2023, 2, 29, 12, 0, 0)), null);
});

test('returns null for out-of-range fields rather than a shifted date', () => {
  assert.equal(dosDateTimeToIso(0, 0), null); // month 0, day 0: writers that leave the date empty
  assert.equal(dosDateTimeToIso(...pack(2001, 13, 1, 0, 0, 0)), null);
  assert.equal(dosDateTimeToIso(...pack(2001, 4, 31, 0, 0, 0)), null);
  assert.equal(dosDateTimeToIso(...pack(2001, 4, 30, 24, 0, 0)), null);
  assert.equal(dosDateTimeToIso(...pack(2001, 4, 30, 23, 60, 0)), null);
  assert.equal(dosDateTimeToIso(pack(2001, 4, 30, 0, 0, 0)[0], 30), null); // 60 seconds
});
