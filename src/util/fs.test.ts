// The atomic-output helpers and the whole-file read: a failed producer leaves the old file, a
// finished one replaces it, and a read gives exactly the file's bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { readWholeFile, withAtomicOutput, writeFileAtomic } from './fs.js';

describe('util/fs', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('readWholeFile gives the file’s bytes, empty or several MiB, and a clear error for a missing file', async () => {
    for (const size of [0, 1, 4096, 5 * 1024 * 1024 + 3]) {
      const path = join(tmp.path, `data-${size}`);
      const bytes = randomBytes(size);
      await writeFile(path, bytes);
      assert.deepEqual(await readWholeFile(path), bytes);
    }
    await assert.rejects(readWholeFile(join(tmp.path, 'missing')), { code: 'ENOENT' });
  });

  test('withAtomicOutput keeps the old file when the producer fails and leaves no partial file', async () => {
    const target = join(tmp.path, 'out.txt');
    await writeFileAtomic(target, 'old');
    await assert.rejects(
      withAtomicOutput(target, async (partial) => {
        await writeFile(partial, 'half');
        throw new Error('producer failed');
      }),
      /producer failed/,
    );
    assert.equal(await readFile(target, 'utf8'), 'old');
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => n.includes('out.txt')),
      ['out.txt'],
    );
    await withAtomicOutput(target, (partial) => writeFile(partial, 'new'));
    assert.equal(await readFile(target, 'utf8'), 'new');
  });
});
