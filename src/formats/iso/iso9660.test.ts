// ISO 9660 / Joliet / Rock Ridge / El Torito reading, checked against xorriso and 7-Zip on images
// that xorriso builds from a sample tree shaped like Windows install media.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import type { DeployForgeError } from '../../errors.js';
import { FileSource } from '../../util/byte-source.js';
import { type IsoEntry, type IsoImage, openIso } from './index.js';
import { type ListedFile, listWith7z, listWithXorriso, makeXorrisoIso, reportElTorito, sampleFiles, sha256, writeTree } from './test-support.js';

const files = sampleFiles({ deep: true });
let temp: { path: string; cleanup: () => Promise<void> };
const sources: FileSource[] = [];
let full: string; // -iso-level 3 -J -R
let level1: string; // plain ISO 9660 level 1
let rockRidgeOnly: string; // -iso-level 2 -R, no Joliet

async function open(path: string, tree?: 'joliet' | 'rock-ridge' | 'iso9660'): Promise<IsoImage> {
  const source = await FileSource.open(path);
  sources.push(source);
  return openIso(source, tree ? { tree } : {});
}

async function collect(iso: IsoImage): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  for await (const e of iso.walk()) out.push({ path: e.path, isDirectory: e.isDirectory, size: e.isDirectory ? 0 : e.size });
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

const sorted = (list: ListedFile[]) => [...list].sort((a, b) => a.path.localeCompare(b.path));

before(async () => {
  temp = await makeTempDir('df-iso9660-');
  const src = join(temp.path, 'src');
  await writeTree(src, files);
  full = join(temp.path, 'full.iso');
  level1 = join(temp.path, 'level1.iso');
  rockRidgeOnly = join(temp.path, 'rr.iso');
  await makeXorrisoIso(src, full, ['-iso-level', '3', '-J', '-joliet-long', '-R', '-V', 'DF_FULL']);
  await makeXorrisoIso(src, level1, ['-iso-level', '1', '--norock', '-V', 'DF_L1'], false);
  await makeXorrisoIso(src, rockRidgeOnly, ['-iso-level', '2', '-R', '-V', 'DF_RR']);
});

after(async () => {
  for (const s of sources) await s.close();
  await temp.cleanup();
});

describe('xorriso images', () => {
  test('reads the Joliet tree with the paths and sizes 7-Zip lists', async () => {
    const iso = await open(full);
    assert.equal(iso.tree, 'joliet');
    const z = await listWith7z(full);
    assert.equal(z.type, 'Iso');
    assert.deepEqual(await collect(iso), sorted(z.files));
  });

  test('reads Rock Ridge names with the paths and sizes xorriso lists', async () => {
    const iso = await open(rockRidgeOnly);
    assert.equal(iso.tree, 'rock-ridge');
    assert.equal(iso.trees.rockRidge, true);
    assert.equal(iso.trees.joliet, false);
    assert.deepEqual(await collect(iso), sorted(await listWithXorriso(rockRidgeOnly)));
    // The same names come out of the Rock Ridge tree of the Joliet image when asked for it.
    assert.deepEqual(await collect(await open(full, 'rock-ridge')), sorted(await listWithXorriso(full)));
  });

  test('reads plain level-1 names (version and trailing dot stripped) as 7-Zip lists them', async () => {
    const iso = await open(level1);
    assert.equal(iso.tree, 'iso9660');
    const ours = await collect(iso);
    assert.deepEqual(ours, sorted((await listWith7z(level1)).files));
    assert.ok(ours.some((e) => e.path === '/SOURCES/INSTALL.WIM'));
    assert.ok(ours.every((e) => !e.path.includes(';')));
  });

  test('reports labels, trees and the interchange level the tree uses', async () => {
    const iso = await open(full);
    assert.equal(iso.volumeLabel, 'DF_FULL');
    assert.equal(iso.trees.joliet, true);
    assert.equal(iso.trees.rockRidge, true);
    assert.equal(iso.trees.udf, undefined);
    // No file needs several extents, so the long names make it level 2 even though -iso-level 3 was asked.
    assert.equal(iso.trees.iso9660?.level, 2);
    assert.equal(iso.trees.iso9660?.volumeSpaceSize, iso.size / 2048);
    const l1 = await open(level1);
    assert.equal(l1.volumeLabel, 'DF_L1');
    assert.equal(l1.trees.iso9660?.level, 1);
    assert.equal(l1.trees.joliet, false);
    assert.equal(l1.trees.rockRidge, false);
  });

  test('file contents read through openFile match the source files in every tree', async () => {
    for (const [image, tree] of [
      [full, 'joliet'],
      [full, 'rock-ridge'],
      [rockRidgeOnly, 'rock-ridge'],
    ] as const) {
      const iso = await open(image, tree);
      for (const [path, bytes] of files) {
        const data = await iso.openFile(path);
        assert.equal(data.size, bytes.length, path);
        assert.equal(sha256(await data.read(0, data.size)), sha256(bytes), `${tree} ${path}`);
      }
    }
  });

  test('stat is case-insensitive, accepts both separators and keeps the stored spelling', async () => {
    const iso = await open(full);
    const e = (await iso.stat('SUPPORT\\mixed case folder/LOWERCASE-NAME.INF')) as IsoEntry;
    assert.equal(e.path, '/support/Mixed Case Folder/lowercase-name.inf');
    assert.equal(e.size, 777);
    assert.equal(e.isDirectory, false);
    assert.equal((await iso.stat('/'))?.isDirectory, true);
    assert.equal(await iso.stat('/sources/missing.wim'), null);
    assert.equal(await iso.stat('/setup.exe/child'), null);
    assert.deepEqual(
      (await iso.list('/boot')).map((x) => x.name),
      ['etfsboot.com'],
    );
  });

  test('list and openFile refuse missing paths and the wrong kind with typed errors', async () => {
    const iso = await open(full);
    await assert.rejects(iso.list('/nope'), (e: DeployForgeError) => e.code === 'DF_NOT_FOUND');
    await assert.rejects(iso.list('/setup.exe'), (e: DeployForgeError) => e.code === 'DF_ISO_NOT_A_DIRECTORY');
    await assert.rejects(iso.openFile('/sources'), (e: DeployForgeError) => e.code === 'DF_IS_DIRECTORY');
    await assert.rejects(iso.openFile('/nope.bin'), (e: DeployForgeError) => e.code === 'DF_NOT_FOUND');
  });

  test('El Torito entries match xorriso -report_el_torito (BIOS and UEFI, no emulation)', async () => {
    const iso = await open(full);
    const reported = await reportElTorito(full);
    assert.equal(reported.length, 2);
    assert.equal(iso.bootCatalog.length, 2);
    for (let i = 0; i < 2; i++) {
      const ours = iso.bootCatalog[i];
      const theirs = reported[i];
      assert.equal(ours.platformName, theirs.platform === 'BIOS' ? 'x86' : theirs.platform === 'UEFI' ? 'efi' : theirs.platform);
      assert.equal(ours.bootable, theirs.bootable);
      assert.equal(ours.emulation, theirs.emulation);
      assert.equal(ours.loadSegment, theirs.loadSegment);
      assert.equal(ours.sectorCount, theirs.loadSize);
      assert.equal(ours.loadRba, theirs.lba);
      assert.equal(ours.bootImagePath, theirs.path);
    }
    assert.deepEqual(
      iso.bootCatalog.map((e) => e.platform),
      [0, 0xef],
    );
    assert.equal(iso.bootCatalog[0].sectorCount, 8);
    assert.deepEqual((await open(level1)).bootCatalog, []);
  });
});
