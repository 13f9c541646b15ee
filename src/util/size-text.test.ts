import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shortSize } from './size-text.js';

test('shortSize gives KiB below a MiB and MiB from there, one decimal', () => {
  assert.equal(shortSize(1536), '1.5 KiB');
  assert.equal(shortSize(1024 * 1024), '1.0 MiB');
  assert.equal(shortSize(5 * 1024 * 1024 + 512 * 1024), '5.5 MiB');
});
