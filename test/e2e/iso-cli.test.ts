// `deployforge iso info|ls|cat|extract` on ISOs made by xorriso and genisoimage, compared with
// what 7-Zip lists and extracts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/corpus.js';
import { makeFixture } from '../helpers/fixtures.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('deployforge iso', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  for (const kind of ['iso', 'iso-udf'] as const) {
    test(`${kind}: ls -r lists what 7-Zip lists, and extract gives the same bytes`, async () => {
      const iso = await makeFixture(kind, tmp.path);
      const ls = await runCliCaptured(['iso', 'ls', '--json', '-r', iso]);
      assert.equal(ls.code, 0, ls.stderr);
      const ours = (JSON.parse(ls.stdout) as { path: string; directory: boolean; size: number }[]).filter((e) => !e.directory).map((e) => `${e.path.slice(1)} ${e.size}`);
      const slt = (await runTool('7zz', ['l', '-slt', iso])).stdout;
      const theirs = slt
        .split(/\n\n/)
        .map((b) => ({ path: /^Path = (.*)$/m.exec(b)?.[1], size: /^Size = (\d+)$/m.exec(b)?.[1], folder: /^Folder = \+$/m.test(b) }))
        .filter((e) => e.path && e.size !== undefined && !e.folder && !e.path.startsWith('[BOOT]') && e.path !== iso)
        .map((e) => `${e.path} ${e.size}`);
      assert.deepEqual([...ours].sort(), [...theirs].sort());
      const ourDir = join(tmp.path, `${kind}-ours`);
      const extract = await runCliCaptured(['iso', 'extract', iso, ourDir]);
      assert.equal(extract.code, 0, extract.stderr);
      const theirDir = join(tmp.path, `${kind}-7z`);
      await runTool('7zz', ['x', '-y', `-o${theirDir}`, iso]);
      for (const line of ours) {
        const path = line.slice(0, line.lastIndexOf(' '));
        assert.equal(await sha(join(ourDir, path)), await sha(join(theirDir, path)), path);
      }
    });
  }

  test('cat -o writes one file; info shows the boot entry; a missing path is exit 3', async () => {
    const iso = await makeFixture('iso', tmp.path);
    const out = join(tmp.path, 'install.wim');
    assert.equal((await runCliCaptured(['iso', 'cat', iso, 'SOURCES/INSTALL.WIM', '-o', out])).code, 0);
    assert.equal((await readFile(out)).subarray(0, 5).toString(), 'MSWIM');
    const info = JSON.parse((await runCliCaptured(['iso', 'info', '--json', iso])).stdout);
    assert.equal(info.bootEntries[0].bootImagePath, '/boot/etfsboot.com');
    const missing = await runCliCaptured(['iso', 'cat', iso, 'nope.txt', '-o', join(tmp.path, 'x')]);
    assert.equal(missing.code, 3);
  });
});
