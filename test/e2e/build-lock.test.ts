// One build per workspace: two builds of the same inputs at once in one process (the case a pid
// check alone misses) — one finishes, the other stops with DF_BUILD_BUSY and changes nothing.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildRecipe } from '../../src/build/build.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { makeSampleMedia } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { makeTempDir } from '../helpers/corpus.js';

test('two builds of the same inputs at once: one runs, the other is refused with DF_BUILD_BUSY', async () => {
  const tmp = await makeTempDir();
  try {
    const source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 8, editions: 2, seed: 51 });
    const recipe = join(tmp.path, 'twin.yaml');
    await writeFile(
      recipe,
      [
        'version: 1',
        'name: twin',
        'editions: { keep: [ { index: 2 } ] }',
        'steps:',
        '  - { type: registry, hive: SOFTWARE, set: [ { key: Twin, name: V, type: REG_DWORD, data: 2 } ] }',
        '',
      ].join('\n'),
    );
    const loaded = await loadRecipe(recipe);
    const out = join(tmp.path, 'twin.iso');
    const options = { source, out, outDir: tmp.path, workDir: join(tmp.path, 'work') };
    const results = await Promise.allSettled([buildRecipe(loaded, options), buildRecipe(loaded, options)]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failed.length, 1, JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))));
    assert.equal((failed[0].reason as { code?: string }).code, 'DF_BUILD_BUSY');
    await runTool('7zz', ['t', out]);
  } finally {
    await tmp.cleanup();
  }
});
