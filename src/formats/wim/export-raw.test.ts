// exportImagesRaw against wimlib: the WIM it writes from install.wim inside a sample ISO (read
// through the ISO's extents) passes `wimlib-imagex verify`, lists the kept images in the asked
// order, and every file wimlib extracts from it equals what wimlib extracts from the source.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { makeSampleMedia } from '../../sample/sample-media.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { openIso } from '../iso/index.js';
import { exportImagesRaw } from './export-raw.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let iso: string;
let esdIso: string;

before(async () => {
  tmp = await makeTempDir();
  iso = join(tmp.path, 'sample.iso');
  esdIso = join(tmp.path, 'sample-esd.iso');
  await makeSampleMedia(iso, { sizeMb: 10, editions: 3, seed: 71 });
  await makeSampleMedia(esdIso, { sizeMb: 8, editions: 2, seed: 72, esd: true });
});
after(async () => {
  await tmp?.cleanup();
});

async function withInstallImage<T>(path: string, inner: string, run: (source: Awaited<ReturnType<Awaited<ReturnType<typeof openIso>>['openFile']>>) => Promise<T>): Promise<T> {
  const file = await FileSource.open(path);
  try {
    return await run(await (await openIso(file)).openFile(inner));
  } finally {
    await file.close();
  }
}

test('exports chosen images in the asked order; wimlib verifies the result and extracts the same files', async () => {
  const out = join(tmp.path, 'raw.wim');
  await withInstallImage(iso, 'sources/install.wim', (source) => exportImagesRaw(source, [3, 1], out));
  await runTool('wimlib-imagex', ['verify', out]);
  const info = (await runTool('wimlib-imagex', ['info', out])).stdout;
  assert.match(info, /Image Count:\s+2/);
  await runTool('7zz', ['e', '-y', `-o${tmp.path}`, iso, 'sources/install.wim']);
  const source = join(tmp.path, 'install.wim');
  const names = async (wim: string) => [...(await runTool('wimlib-imagex', ['info', wim])).stdout.matchAll(/^Name:\s+(.*)$/gm)].map((m) => m[1]);
  const sourceNames = await names(source);
  assert.deepEqual(await names(out), [sourceNames[2], sourceNames[0]]);
  for (const [ours, theirs] of [
    [1, 3],
    [2, 1],
  ]) {
    // Where a blob sits and how many images use it differ by design; everything else must not.
    const listing = (w: string, i: number) =>
      runTool('wimlib-imagex', ['dir', w, String(i), '--detailed']).then((r) => r.stdout.replace(/^(Offset in WIM|Reference Count)\s+=.*$/gm, ''));
    assert.equal(await listing(out, ours), await listing(source, theirs), `image ${ours} lists like the source's image ${theirs}`);
    const a = join(tmp.path, `a${ours}`);
    const b = join(tmp.path, `b${ours}`);
    await runTool('wimlib-imagex', ['extract', out, String(ours), '/Windows/System32/config/SOFTWARE', `--dest-dir=${a}`, '--no-acls']);
    await runTool('wimlib-imagex', ['extract', source, String(theirs), '/Windows/System32/config/SOFTWARE', `--dest-dir=${b}`, '--no-acls']);
    assert.deepEqual(await readFile(join(a, 'SOFTWARE')), await readFile(join(b, 'SOFTWARE')));
  }
});

test('a chosen GUID lands in the header; a solid ESD and a repeated index are refused', async () => {
  const out = join(tmp.path, 'guid.wim');
  const guid = new Uint8Array(16).map((_, i) => i + 1);
  await withInstallImage(iso, 'sources/install.wim', (source) => exportImagesRaw(source, [2], out, { guid }));
  assert.match((await runTool('wimlib-imagex', ['info', out])).stdout, /GUID:\s+0x0102030405060708090a0b0c0d0e0f10/i);
  await withInstallImage(esdIso, 'sources/install.esd', (source) =>
    assert.rejects(exportImagesRaw(source, [1], join(tmp.path, 'x.wim')), (e: Error & { code?: string }) => e.code === 'DF_WIM_RAW_EXPORT' && /solid/.test(e.message)),
  );
  await withInstallImage(iso, 'sources/install.wim', (source) =>
    assert.rejects(exportImagesRaw(source, [1, 1], join(tmp.path, 'y.wim')), (e: Error & { code?: string }) => e.code === 'DF_WIM_RAW_EXPORT'),
  );
});

test('an aborted signal stops the raw export and leaves nothing at the target', async () => {
  const out = join(tmp.path, 'aborted.wim');
  const controller = new AbortController();
  controller.abort(new Error('stopped by the user'));
  await withInstallImage(iso, 'sources/install.wim', (source) => assert.rejects(exportImagesRaw(source, [1], out, { signal: controller.signal }), /stopped by the user/));
  const { readdir } = await import('node:fs/promises');
  assert.deepEqual(
    (await readdir(tmp.path)).filter((n) => n.includes('aborted')),
    [],
  );
});
