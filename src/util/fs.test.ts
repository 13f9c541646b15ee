// The atomic-output helpers and the whole-file read: a failed producer leaves the old file, a
// finished one replaces it, and a read gives exactly the file's bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { readWholeFile, withAtomicOutput, writeFileAtomic, writerFlushingAsItGoes } from './fs.js';

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

  test('writerFlushingAsItGoes writes every chunk in order and starts a flush after each `every` bytes, one at a time', async () => {
    const path = join(tmp.path, 'flushing');
    const handle = await open(path, 'w');
    const chunks = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i));
    let flushes = 0;
    let inFlight = 0;
    const counting = {
      write: handle.write.bind(handle) as FileHandle['write'],
      datasync: async () => {
        assert.equal(inFlight++, 0, 'two flushes at once');
        flushes++;
        await handle.datasync();
        inFlight--;
      },
    };
    const writer = writerFlushingAsItGoes(counting, 10_000);
    for (const chunk of chunks) await writer.write(chunk);
    await writer.end();
    await handle.close();
    assert.deepEqual(await readFile(path), Buffer.concat(chunks));
    // 40 chunks of 1,000–1,039 bytes: the count passes 10,000 after every 10th chunk.
    assert.equal(flushes, 4);
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
