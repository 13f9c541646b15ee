import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { FormatError } from '../errors.js';
import { BufferSource, ExtentSource, FileSource, PatchedSource, sliceSource } from './byte-source.js';

describe('ByteSource', () => {
  test('reads a file range and refuses reads past the end with DF_TRUNCATED', async () => {
    const tmp = await makeTempDir();
    try {
      const path = join(tmp.path, 'f.bin');
      await writeFile(path, Buffer.from('0123456789'));
      const source = await FileSource.open(path);
      assert.equal(source.size, 10);
      assert.equal(Buffer.from(await source.read(3, 4)).toString(), '3456');
      await assert.rejects(source.read(8, 4), (e: unknown) => e instanceof FormatError && e.code === 'DF_TRUNCATED');
      await assert.rejects(source.read(-1, 1), (e: unknown) => e instanceof FormatError && e.code === 'DF_BAD_OFFSET');
      await source.close();
    } finally {
      await tmp.cleanup();
    }
  });

  test('joins extents of a parent into one run of bytes', async () => {
    const parent = new BufferSource(Buffer.from('abcdefghijklmnop'));
    const joined = new ExtentSource(
      parent,
      [
        { offset: 10, length: 3 },
        { offset: 0, length: 4 },
        { offset: 5, length: 2 },
      ],
      'x',
    );
    assert.equal(joined.size, 9);
    assert.equal(Buffer.from(await joined.read(0, 9)).toString(), 'klmabcdfg');
    assert.equal(Buffer.from(await joined.read(2, 4)).toString(), 'mabc');
    assert.equal(Buffer.from(await joined.read(7, 2)).toString(), 'fg');
    const slice = sliceSource(parent, 4, 4);
    assert.equal(Buffer.from(await slice.read(0, 4)).toString(), 'efgh');
    assert.throws(
      () => sliceSource(parent, 14, 4),
      (e: unknown) => e instanceof FormatError,
    );
  });
});

describe('PatchedSource', () => {
  const base = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  const local = Uint8Array.from({ length: 1300 }, (_, i) => (i < 16 || i >= 1000 ? (i * 7 + 3) & 0xff : 0));
  const expected = Uint8Array.from({ length: 1300 }, (_, i) => (i < 16 || i >= 1000 ? local[i] : base[i]));

  test('any read gives the local head, the base middle and the local tail', async () => {
    const patched = new PatchedSource(new BufferSource(local), new BufferSource(base), 16);
    assert.equal(patched.size, 1300);
    await fc.assert(
      fc.asyncProperty(fc.nat(1300), fc.nat(1300), async (a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        assert.deepEqual([...(await patched.read(from, to - from))], [...expected.subarray(from, to)]);
      }),
      { seed: 4242, numRuns: 300 },
    );
    await assert.rejects(patched.read(1299, 2), FormatError);
  });

  test('a local file shorter than the base is refused', () => {
    assert.throws(() => new PatchedSource(new BufferSource(local.subarray(0, 999)), new BufferSource(base), 16), /not a patch/);
  });
});
