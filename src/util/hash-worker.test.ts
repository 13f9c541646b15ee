import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { sha256FileOffThread } from './hash-worker.js';

test('sha256FileOffThread agrees with node:crypto; a missing file is an error', async () => {
  const tmp = await makeTempDir();
  try {
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const expected = createHash('sha256').update(bytes).digest('hex');
    const file = join(tmp.path, 'data.bin');
    await writeFile(file, bytes);
    assert.deepEqual(await sha256FileOffThread(file), { sha256: expected, size: bytes.length });
    await assert.rejects(sha256FileOffThread(join(tmp.path, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  } finally {
    await tmp.cleanup();
  }
});
