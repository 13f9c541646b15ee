// UDF reading checked against 7-Zip and udfinfo: genisoimage's UDF 1.02 bridge images (the shape
// of Windows media) and mkudffs file systems of other revisions and block sizes.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { type IsoImage, openIso } from './index.js';
import { convertToMetadataPartition, type ListedFile, listWith7z, makeGenisoimageUdf, reportElTorito, sampleFiles, sha256, udfinfo, writeTree } from './test-support.js';

const files = sampleFiles({ deep: true });
let temp: { path: string; cleanup: () => Promise<void> };
const sources: FileSource[] = [];
let bridge: string;
let hidden: string;

async function open(path: string, tree?: 'udf' | 'iso9660'): Promise<IsoImage> {
  const source = await FileSource.open(path);
  sources.push(source);
  return openIso(source, tree ? { tree } : {});
}

async function collect(iso: IsoImage): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  for await (const e of iso.walk()) out.push({ path: e.path, isDirectory: e.isDirectory, size: e.isDirectory ? 0 : e.size });
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

before(async () => {
  temp = await makeTempDir('df-udf-');
  const src = join(temp.path, 'src');
  await writeTree(src, files);
  bridge = join(temp.path, 'bridge.iso');
  hidden = join(temp.path, 'hidden.iso');
  await makeGenisoimageUdf(src, bridge, ['-V', 'DF_UDF_LABEL']);
  await makeGenisoimageUdf(src, hidden, ['-V', 'DF_HIDDEN', '-hide', '*', '-hide-joliet', '*']);
});

after(async () => {
  for (const s of sources) await s.close();
  await temp.cleanup();
});

describe('genisoimage UDF 1.02 bridge images', () => {
  test('prefers UDF and lists the paths and sizes 7-Zip reads from UDF', async () => {
    const iso = await open(bridge);
    assert.equal(iso.tree, 'udf');
    const z = await listWith7z(bridge);
    assert.equal(z.type, 'Udf');
    assert.deepEqual(
      await collect(iso),
      [...z.files].sort((a, b) => a.path.localeCompare(b.path)),
    );
  });

  test('label, revision and file and folder counts match udfinfo', async () => {
    const iso = await open(bridge);
    const info = await udfinfo(bridge);
    assert.equal(iso.volumeLabel, info.get('lvid'));
    assert.equal(iso.trees.udf?.volumeId, info.get('vid'));
    assert.equal(iso.trees.udf?.revision, info.get('udfrev'));
    assert.equal(iso.trees.udf?.revision, '1.02');
    const all = await collect(iso);
    assert.equal(all.filter((e) => !e.isDirectory).length, Number(info.get('numfiles')));
    // udfinfo counts the root folder too.
    assert.equal(all.filter((e) => e.isDirectory).length + 1, Number(info.get('numdirs')));
    assert.ok(iso.trees.iso9660, 'the ISO 9660 bridge is reported');
  });

  test('file contents read through openFile match the source files', async () => {
    const iso = await open(bridge);
    for (const [path, bytes] of files) {
      const data = await iso.openFile(path);
      assert.equal(sha256(await data.read(0, data.size)), sha256(bytes), path);
    }
    // The bridge tree points at the same bytes.
    const plain = await open(bridge, 'iso9660');
    const a = await iso.stat('/sources/install.wim');
    const b = await plain.stat('/SOURCES/INSTALL.WIM');
    assert.deepEqual(a?.extents, b?.extents);
  });

  test('boot entries match xorriso -report_el_torito and name their images in the UDF tree', async () => {
    const iso = await open(bridge);
    const reported = await reportElTorito(bridge);
    assert.equal(iso.bootCatalog.length, reported.length);
    reported.forEach((theirs, i) => {
      const ours = iso.bootCatalog[i];
      assert.equal(ours.loadRba, theirs.lba);
      assert.equal(ours.loadSegment, theirs.loadSegment);
      assert.equal(ours.sectorCount, theirs.loadSize);
      assert.equal(ours.emulation, theirs.emulation);
    });
    assert.equal(iso.bootCatalog[0].loadSegment, 0x7c0);
    assert.equal(iso.bootCatalog[0].bootImagePath, '/boot/etfsboot.com');
    assert.equal(iso.bootCatalog[1].bootImagePath, '/efi/microsoft/boot/efisys.bin');
  });

  test("genisoimage -hide '*' hides files from UDF too: an empty root, as udfinfo counts", async () => {
    const iso = await open(hidden);
    const info = await udfinfo(hidden);
    assert.equal(iso.volumeLabel, info.get('lvid'));
    assert.equal(Number(info.get('numfiles')), 0);
    assert.deepEqual(await iso.list('/'), []);
  });
});

describe('UDF 2.50 metadata partition', () => {
  test('reads the tree through the metadata partition; udfinfo agrees on label, revision and counts', async () => {
    const converted = convertToMetadataPartition(await readFile(bridge));
    const path = join(temp.path, 'metadata.iso');
    await writeFile(path, converted);
    const info = await udfinfo(path);
    const iso = await open(path);
    assert.equal(iso.trees.udf?.revision, info.get('udfrev'));
    assert.equal(iso.trees.udf?.revision, '2.50');
    assert.equal(iso.volumeLabel, info.get('lvid'));
    const all = await collect(iso);
    assert.equal(all.filter((e) => !e.isDirectory).length, Number(info.get('numfiles')));
    assert.equal(all.filter((e) => e.isDirectory).length + 1, Number(info.get('numdirs')));
    assert.deepEqual(all, await collect(await open(bridge)));
    for (const [file, bytes] of files) {
      const data = await iso.openFile(file);
      assert.equal(sha256(await data.read(0, data.size)), sha256(bytes), file);
    }
  });

  test('falls back to the metadata mirror file when the metadata file entry is damaged', async () => {
    const converted = convertToMetadataPartition(await readFile(bridge));
    // The metadata file entry is the second-to-last block; break its tag checksum.
    converted[converted.length - 2 * 2048 + 4] ^= 0xff;
    const iso = await openIso(new BufferSource(converted));
    assert.deepEqual(await collect(iso), await collect(await open(bridge)));
    // With the mirror broken too, opening fails with a typed error.
    converted[converted.length - 2048 + 4] ^= 0xff;
    await assert.rejects(openIso(new BufferSource(converted)), (e: DeployForgeError) => e instanceof DeployForgeError);
  });
});

describe('mkudffs file systems', () => {
  const cases: [string, string[], string][] = [
    ['UDF 1.02, 2048-byte blocks', ['--media-type=hd', '--udfrev=1.02', '--blocksize=2048'], '1.02'],
    ['UDF 2.01, 512-byte blocks, extended file entries', ['--media-type=hd', '--udfrev=2.01'], '2.01'],
    ['UDF 2.01, 4096-byte blocks, short_ad root', ['--media-type=hd', '--udfrev=2.01', '--blocksize=4096', '--ad=short'], '2.01'],
    ['UDF 2.00, 1024-byte blocks, long_ad root', ['--media-type=hd', '--udfrev=2.00', '--blocksize=1024', '--ad=long'], '2.00'],
  ];
  for (const [name, args, revision] of cases) {
    test(`opens the empty root of ${name} and reports udfinfo's label and revision`, async () => {
      const image = join(temp.path, `mkudffs-${revision}-${args.length}.img`);
      await runTool('truncate', ['-s', '8M', image]);
      await runTool('mkudffs', [...args, '--label=DF MKUDF', image], { timeoutMs: 60_000 });
      const iso = await open(image);
      const info = await udfinfo(image);
      assert.equal(iso.tree, 'udf');
      assert.equal(iso.volumeLabel, info.get('lvid'));
      assert.equal(iso.volumeLabel, 'DF MKUDF');
      assert.equal(iso.trees.udf?.revision, info.get('udfrev'));
      assert.equal(iso.trees.udf?.revision, revision);
      assert.equal(iso.trees.iso9660, undefined);
      assert.deepEqual(await iso.list('/'), []);
      assert.equal((await iso.stat('/'))?.isDirectory, true);
    });
  }

  test('refuses an unfinalised write-once UDF 2.50 disc (virtual partition) with a typed error', async () => {
    const image = join(temp.path, 'bdr.img');
    await runTool('truncate', ['-s', '8M', image]);
    await runTool('mkudffs', ['--media-type=bdr', '--udfrev=2.50', image], { timeoutMs: 60_000 });
    const source = await FileSource.open(image);
    sources.push(source);
    await assert.rejects(openIso(source), (e: DeployForgeError) => e.code === 'DF_UDF_UNSUPPORTED');
  });
});
