import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { makeSampleMedia } from '../sample/sample-media.js';
import { remasterIso } from './remaster.js';

test('remasterIso stops when its signal aborts mid-write and leaves nothing at the output path', async () => {
  const tmp = await makeTempDir();
  try {
    const source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 16, editions: 1, seed: 61 });
    const controller = new AbortController();
    let seen = 0;
    const out = join(tmp.path, 'out.iso');
    await assert.rejects(
      remasterIso(source, out, {
        signal: controller.signal,
        // Abort once a few MiB are written: the write is well under way, far from done.
        onChunk: (chunk) => {
          seen += chunk.length;
          if (seen > 4 * 1024 * 1024) controller.abort();
        },
      }),
      (error: Error) => error.name === 'AbortError',
    );
    assert.deepEqual(await readdir(tmp.path), ['sample.iso'], 'no output and no partial file');
  } finally {
    await tmp.cleanup();
  }
});
