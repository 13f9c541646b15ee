import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { makeSampleMedia } from '../sample/sample-media.js';
import { runTool } from '../util/exec.js';
import { writeMediaFolder } from './folder.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

async function tree(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

test('writeMediaFolder lays out the ISO as 7-Zip extracts it, with changes applied, and swaps an old folder out', async () => {
  const tmp = await makeTempDir();
  try {
    const iso = join(tmp.path, 'sample.iso');
    await makeSampleMedia(iso, { sizeMb: 8, editions: 2, seed: 5 });
    const reference = join(tmp.path, 'ref');
    await runTool('7zz', ['x', '-y', `-o${reference}`, iso]);
    const extra = join(tmp.path, 'extra.txt');
    await writeFile(extra, 'hello\r\n');
    const target = join(tmp.path, 'usb');
    await mkdir(target);
    await writeFile(join(target, 'stale.txt'), 'old');
    await writeMediaFolder(iso, target, { add: { 'autounattend.xml': extra, 'SOURCES/extra.txt': extra }, remove: ['sources/ei.cfg'] });
    // 7-Zip also lists the El Torito boot images as [BOOT]/…; they are not files of the media.
    const expected = (await tree(reference)).filter((p) => p !== 'sources/ei.cfg' && !p.startsWith('[BOOT]/'));
    assert.deepEqual(
      await tree(target),
      [...expected, 'autounattend.xml', 'sources/extra.txt'].sort(),
      'the old folder was replaced, not merged; SOURCES/ is the media’s sources/',
    );
    for (const path of expected.slice(0, 20)) assert.equal(await sha(join(target, path)), await sha(join(reference, path)), path);
    assert.equal(await readFile(join(target, 'autounattend.xml'), 'utf8'), 'hello\r\n');
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => n.includes('.partial')),
      [],
      'no partial folder is left',
    );
  } finally {
    await tmp.cleanup();
  }
});

test('writeMediaFolder splits install.wim into install.swm parts for FAT32 and wimlib reads the set', async () => {
  const tmp = await makeTempDir();
  try {
    const iso = join(tmp.path, 'sample.iso');
    await makeSampleMedia(iso, { sizeMb: 8, editions: 2, seed: 6 });
    const target = join(tmp.path, 'usb');
    const { split } = await writeMediaFolder(iso, target, { fat32: 'always' });
    assert.deepEqual(split, ['/sources/install.swm']);
    const files = await tree(target);
    assert.ok(files.includes('sources/install.swm') && !files.includes('sources/install.wim'));
    const info = (await runTool('wimlib-imagex', ['info', join(target, 'sources', 'install.swm')])).stdout;
    assert.match(info, /Image Count:\s+2/);
  } finally {
    await tmp.cleanup();
  }
});

test('writeMediaFolder refuses to replace a path the media lacks and leaves nothing behind', async () => {
  const tmp = await makeTempDir();
  try {
    const iso = join(tmp.path, 'sample.iso');
    await makeSampleMedia(iso, { sizeMb: 8, editions: 1, seed: 7 });
    await assert.rejects(writeMediaFolder(iso, join(tmp.path, 'usb'), { replace: { 'nope.txt': iso } }), /not on the source media/);
    assert.deepEqual(await readdir(tmp.path), ['sample.iso']);
  } finally {
    await tmp.cleanup();
  }
});

test('an added install.wim (an ESD source rebuilt as a WIM) splits for FAT32 like a replaced one', async () => {
  const tmp = await makeTempDir();
  try {
    const iso = join(tmp.path, 'sample.iso');
    await makeSampleMedia(iso, { sizeMb: 8, editions: 2, seed: 8 });
    await runTool('7zz', ['e', '-y', `-o${tmp.path}`, iso, 'sources/install.wim']);
    const target = join(tmp.path, 'usb');
    const { split } = await writeMediaFolder(iso, target, { remove: ['sources/install.wim'], add: { 'sources/install.wim': join(tmp.path, 'install.wim') }, fat32: 'always' });
    assert.deepEqual(split, ['/sources/install.swm']);
    assert.match((await runTool('wimlib-imagex', ['info', join(target, 'sources', 'install.swm')])).stdout, /Image Count:\s+2/);
  } finally {
    await tmp.cleanup();
  }
});
