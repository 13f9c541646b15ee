import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { FormatError } from '../errors.js';
import { BufferSource, ExtentSource, FileSource, sliceSource } from './byte-source.js';

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
