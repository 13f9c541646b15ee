// exportImagesAsPatch against wimlib: the patch over install.wim inside a sample ISO holds only a
// header and new tables (a sparse file), reads through a PatchedSource like a whole WIM, takes an
// edit commit (with checkpoint and rollback) over its base, and once materialized passes
// `wimlib-imagex verify` and lists and extracts like the source's images.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { makeSampleMedia } from '../../sample/sample-media.js';
import { type ByteSource, FileSource, PatchedSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { openIso } from '../iso/index.js';
import { openWimEdit } from './edit.js';
import { exportImagesAsPatch, materializePatch } from './export-patch.js';
import { WIM_HEADER_SIZE } from './header.js';
import { openWim } from './wim-file.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let iso: string;
let sourceWim: string;
const opened: FileSource[] = [];

/** install.wim inside the sample ISO, read through its extents. */
async function installImage(): Promise<ByteSource> {
  const file = await FileSource.open(iso);
  opened.push(file);
  return (await openIso(file)).openFile('sources/install.wim');
}
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

before(async () => {
  tmp = await makeTempDir('df-wim-patch-');
  iso = join(tmp.path, 'sample.iso');
  await makeSampleMedia(iso, { sizeMb: 10, editions: 3, seed: 73 });
  await runTool('7zz', ['e', '-y', `-o${tmp.path}`, iso, 'sources/install.wim']);
  sourceWim = join(tmp.path, 'install.wim');
});
after(async () => {
  for (const f of opened) await f.close();
  await tmp?.cleanup();
});

test('the patch is a sparse header + tables; read over its base it is a WIM of the kept images, renamed', async () => {
  const out = join(tmp.path, 'patch.wim');
  const base = await installImage();
  const result = await exportImagesAsPatch(base, [3, 1], out, { names: { 2: 'Renamed <1>' } });
  const info = await stat(out);
  assert.equal(info.size, result.size);
  assert.equal(result.baseSize, base.size);
  assert.ok(info.blocks * 512 < 256 * 1024, `only the header and tables take disk space (${info.blocks * 512} bytes)`);
  const patched = new PatchedSource(await FileSource.open(out), await installImage(), WIM_HEADER_SIZE);
  const wim = await openWim(patched);
  assert.equal(wim.header.imageCount, 2);
  const source = await openWim(await installImage());
  assert.equal(wim.xml.images[0].name, source.xml.images[2].name);
  assert.equal(wim.xml.images[1].name, 'Renamed <1>');
  await patched.close();
});

test('an edit commits over the base, rolls back exactly, and the materialized WIM passes wimlib verify', async () => {
  const out = join(tmp.path, 'edited.wim');
  await exportImagesAsPatch(await installImage(), [2], out);
  const overBase = { base: installImage };
  const edit = await openWimEdit(out, 1, overBase);
  const before = await edit.checkpoint();
  const beforeBytes = await readFile(out);
  edit.addFile('/DeployForge/added.txt', Buffer.from('added over the base\r\n'));
  edit.replaceFile('/Windows/System32/config/SOFTWARE', new Uint8Array(8192).fill(0x41));
  edit.delete('/Windows/System32/DriverStore');
  const committed = await edit.commit();
  assert.ok(committed.changed && committed.bytesAppended > 0);
  // Roll back, check the bytes, and commit the same edit again.
  await edit.rollback(before);
  assert.equal(sha(await readFile(out)), sha(beforeBytes));
  const again = await openWimEdit(out, 1, overBase);
  again.addFile('/DeployForge/added.txt', Buffer.from('added over the base\r\n'));
  again.replaceFile('/Windows/System32/config/SOFTWARE', new Uint8Array(8192).fill(0x41));
  await again.commit();

  const patched = new PatchedSource(await FileSource.open(out), await installImage(), WIM_HEADER_SIZE);
  const viaPatch = await patched.read(0, patched.size);
  await patched.close();
  await materializePatch(out, await installImage());
  assert.equal(sha(await readFile(out)), sha(viaPatch), 'materializing gives the bytes read through the patch');
  await runTool('wimlib-imagex', ['verify', out]);
  const dest = join(tmp.path, 'x');
  await runTool('wimlib-imagex', ['extract', out, '1', '/DeployForge/added.txt', '/Windows/System32/config/SOFTWARE', `--dest-dir=${dest}`, '--no-acls']);
  assert.equal(await readFile(join(dest, 'added.txt'), 'utf8'), 'added over the base\r\n');
  assert.deepEqual(await readFile(join(dest, 'SOFTWARE')), Buffer.alloc(8192, 0x41));
  // Everything else lists as the source's image 2 does (offsets and reference counts aside).
  const listing = async (wim: string, index: number) =>
    (await runTool('wimlib-imagex', ['dir', wim, String(index)])).stdout
      .split('\n')
      .filter((l) => !l.startsWith('/DeployForge') && l !== '/Windows/System32/config/SOFTWARE')
      .sort();
  assert.deepEqual(await listing(out, 1), await listing(sourceWim, 2));
  const { stdout } = await runTool('7zz', ['t', out]);
  assert.match(stdout, /Everything is Ok/);
});

test('a local file that is not a patch over the base is refused', async () => {
  const out = join(tmp.path, 'short.wim');
  await exportImagesAsPatch(await installImage(), [1], out);
  const { truncate } = await import('node:fs/promises');
  await truncate(out, 4096);
  await assert.rejects(openWimEdit(out, 1, { base: installImage }), /not a patch/);
});
