// WindowsImage over the sample media's install.wim: hives load once and only touched ones are
// written back, dirty hives are refused, checkpoint/rollback undo a commit and the cached hives.
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { makeSampleInstallWim } from '../../test/helpers/fixtures.js';
import { REG_TYPE } from '../formats/regf/constants.js';
import { openWimEdit } from '../formats/wim/index.js';
import { openWindowsImage } from './windows-image.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let sampleWim: string;
let n = 0;

async function copyOfSample(): Promise<string> {
  const path = join(tmp.path, `install-${++n}.wim`);
  await copyFile(sampleWim, path);
  return path;
}

before(async () => {
  tmp = await makeTempDir('deployforge-image-');
  sampleWim = await makeSampleInstallWim(tmp.path);
});

after(async () => {
  await tmp?.cleanup();
});

describe('openWindowsImage', () => {
  test('loads each hive once, reads the control set, and commits nothing when nothing changed', async () => {
    const wim = await copyOfSample();
    const before = await readFile(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const a = await image.hives.get('SOFTWARE');
      assert.equal(await image.hives.get('SOFTWARE'), a, 'the same HiveEdit');
      assert.equal(await image.hives.get('/windows/system32/CONFIG/software'), a, 'paths match case-insensitively');
      for (const name of ['SYSTEM', 'DEFAULT', 'SAM', 'SECURITY', 'NTUSER'] as const) assert.ok((await image.hives.get(name)).hive.root);
      assert.equal(await image.controlSet(), 1);
      const result = await image.commit();
      assert.equal(result.changed, false);
      assert.deepEqual(result.hivesWritten, []);
    } finally {
      await image.close();
    }
    assert.ok(before.equals(await readFile(wim)));
  });

  test('refuses a dirty hive with DF_HIVE_DIRTY', async () => {
    const wim = await copyOfSample();
    const prep = await openWimEdit(wim, 1);
    const image0 = await openWindowsImage(wim, 1);
    const sam = new Uint8Array(await image0.readFile('/Windows/System32/config/SAM'));
    await image0.close();
    sam[4] ^= 1; // primary sequence number ≠ secondary: a write was in progress
    prep.replaceFile('/Windows/System32/config/SAM', sam);
    await prep.commit();
    const image = await openWindowsImage(wim, 1);
    try {
      await assert.rejects(image.hives.get('SAM'), { code: 'DF_HIVE_DIRTY' });
    } finally {
      await image.close();
    }
  });

  test('rollback to a checkpoint undoes a commit and drops cached hive edits', async () => {
    const wim = await copyOfSample();
    const original = await readFile(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const checkpoint = await image.checkpoint();
      (await image.hives.get('SOFTWARE')).setValue('DeployForge', 'x', REG_TYPE.REG_DWORD, new Uint8Array([1, 0, 0, 0]));
      image.writeFile('/hello.txt', new TextEncoder().encode('hi'));
      assert.equal(image.isDirty(), true);
      await image.commit();
      assert.equal(image.exists('/hello.txt'), true);
      await image.rollback(checkpoint);
      assert.equal(image.exists('/hello.txt'), false);
      assert.equal((await image.hives.get('SOFTWARE')).hive.key('DeployForge'), undefined, 'the hive is read again from the rolled-back WIM');
    } finally {
      await image.close();
    }
    assert.ok(original.equals(await readFile(wim)), 'byte-identical after rollback');
  });
});
