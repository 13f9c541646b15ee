import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { checkFreeSpace, checkTools, freeBytes } from './preflight.js';

test('freeBytes reads the nearest existing folder', async () => {
  const tmp = await makeTempDir();
  try {
    const here = await freeBytes(tmp.path);
    const below = await freeBytes(`${tmp.path}/not/yet/made`);
    assert.ok(here.free > 0);
    assert.ok(Math.abs(here.free - below.free) < 1024 * 1024 * 64, 'the same file system');
  } finally {
    await tmp.cleanup();
  }
});

test('checkFreeSpace passes small needs and names the folders of needs that do not fit', async () => {
  const tmp = await makeTempDir();
  try {
    await checkFreeSpace([{ folder: tmp.path, bytes: 1024, what: 'workspace' }]);
    const { free } = await freeBytes(tmp.path);
    await assert.rejects(
      checkFreeSpace([
        { folder: tmp.path, bytes: free / 2, what: 'workspace' },
        { folder: `${tmp.path}/out`, bytes: free / 2, what: 'output ISO' },
      ]),
      (error: Error & { code?: string }) => error.code === 'DF_NO_SPACE' && /workspace ~\d+ MiB in .*output ISO ~\d+ MiB/.test(error.message),
    );
  } finally {
    await tmp.cleanup();
  }
});

test('checkTools accepts installed programs and names the package of a missing one', async () => {
  await checkTools(['wimlib-imagex']);
  await assert.rejects(checkTools(['wimlib-imagex', 'deployforge-no-such-tool']), /needs deployforge-no-such-tool: run 'apt-get install deployforge-no-such-tool'/);
});
