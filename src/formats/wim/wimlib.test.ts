// The wimlib-imagex driver, run for real on small trees; results are checked with our own
// readers (openWim, openWimSet, openWimImage), not with wimlib. The NTFS apply test runs when
// mkntfs/ntfscat (Debian ntfs-3g) are installed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError, EnvironmentError, FormatError, InputError } from '../../errors.js';
import type { ProgressEvent } from '../../progress.js';
import { FileSource } from '../../util/byte-source.js';
import { hasTool, runTool } from '../../util/exec.js';
import { openWimImage, openWimSet } from './image.js';
import { openWim, type WimFile } from './wim-file.js';
import {
  applyImage,
  applyToNtfsImage,
  captureImage,
  compressionArgs,
  exportImages,
  MICROSOFT_SOLID_CHUNK_SIZE,
  optimizeWim,
  parseWimlibFailure,
  parseWimlibProgressLine,
  setImageProperties,
  splitWim,
  verifyWim,
  wimlibVersion,
} from './wimlib.js';

const haveWimlib = await hasTool('wimlib-imagex');
const haveNtfs = (await hasTool('mkntfs')) && (await hasTool('ntfscat'));

/** Opens a WIM with our reader, runs `fn`, closes it. */
async function withWim<T>(path: string, fn: (wim: WimFile) => Promise<T> | T): Promise<T> {
  const source = await FileSource.open(path);
  try {
    return await fn(await openWim(source));
  } finally {
    await source.close();
  }
}

async function readImageFile(wimPath: string, index: number, path: string): Promise<Buffer> {
  return withWim(wimPath, async (wim) => Buffer.from(await (await (await openWimImage(wim, index)).openFile(path)).readAll()));
}

/** Every regular file under `dir`, by relative path, with its contents. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  async function walk(d: string) {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p));
    }
  }
  await walk(dir);
  return out;
}

function recorder(): { events: ProgressEvent[]; emit(e: ProgressEvent): void } {
  const events: ProgressEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}

function assertCode(code: string, cls?: new (...args: never[]) => DeployForgeError) {
  return (e: unknown) => {
    assert.ok(e instanceof DeployForgeError, `expected a DeployForgeError, got ${String(e)}`);
    if (cls) assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.name}: ${e.message}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

describe('parseWimlibProgressLine', () => {
  test('byte lines in KiB/MiB/GiB, split parts, scanning, and other text', () => {
    assert.deepEqual(parseWimlibProgressLine('Archiving file data: 12 MiB of 40 MiB (30%) done'), { label: 'archiving file data', done: 12 * 2 ** 20, total: 40 * 2 ** 20 });
    assert.deepEqual(parseWimlibProgressLine('Splitting WIM: 32 KiB of 3034 KiB (1%) written, part 2 of 3'), { label: 'splitting wim', done: 32 * 1024, total: 3034 * 1024 });
    assert.deepEqual(parseWimlibProgressLine('Verifying integrity of "/tmp/x y.wim": 1 GiB of 2 GiB (50%) done'), { label: 'verifying integrity', done: 2 ** 30, total: 2 ** 31 });
    assert.deepEqual(parseWimlibProgressLine('Calculating integrity table for WIM: 0 KiB of 3034 KiB (0%) done'), {
      label: 'calculating integrity table',
      done: 0,
      total: 3034 * 1024,
    });
    assert.deepEqual(parseWimlibProgressLine('Archiving file data: 0 bytes of 0 bytes (0%) done'), { label: 'archiving file data', done: 0, total: 0 });
    assert.deepEqual(parseWimlibProgressLine('4188 KiB scanned (3 files, 2 directories)    '), { label: 'scanning', done: 4188 * 1024 });
    assert.equal(parseWimlibProgressLine('Using LZX compression with 2 threads'), null);
    assert.equal(parseWimlibProgressLine('Verifying metadata for image 1 of 1'), null);
  });

  test('failure text: code, description, first message and corruption details', () => {
    const f = parseWimlibFailure(
      '[ERROR] A WIM resource is corrupted!\n        WIM file: "/t/bad.wim"\n        Resource offset in WIM: 208\n        Expected SHA-1: a8e3444a3453daa00aad17ecad0df3bbba102ae1\n        Actual SHA-1: 7fca71339ab238d2924cb50524449df4a305f64b\nERROR: Exiting with error code 28:\n       The SHA-1 message digest of a WIM resource did not match the expected value.\n',
      28,
    );
    assert.equal(f.code, 28);
    assert.equal(f.message, 'A WIM resource is corrupted');
    assert.equal(f.file, '/t/bad.wim');
    assert.equal(f.resourceOffset, 208);
    assert.equal(f.expectedSha1, 'a8e3444a3453daa00aad17ecad0df3bbba102ae1');
  });
});

describe('chunk-size guard (compressionArgs)', () => {
  test("Microsoft's defaults pass and are passed explicitly", () => {
    assert.deepEqual(compressionArgs({ compress: 'lzx' }), ['--compress=lzx', '--chunk-size=32768']);
    assert.deepEqual(compressionArgs({ solid: true }), ['--compress=lzms', '--chunk-size=131072', '--solid', '--solid-compress=lzms', '--solid-chunk-size=67108864']);
    assert.deepEqual(compressionArgs({ compress: 'xpress', chunkSize: 32768 }), ['--compress=xpress', '--chunk-size=32768']);
    assert.deepEqual(compressionArgs({}), []);
  });

  test('other sizes are refused with the reason, unless allowNonStandardChunks', () => {
    assert.throws(
      () => compressionArgs({ compress: 'lzx', chunkSize: 65536 }),
      (e: unknown) => {
        assertCode('DF_WIM_NONSTANDARD_CHUNK_SIZE', InputError)(e);
        assert.match((e as Error).message, /Windows Setup.*32 KiB/);
        return true;
      },
    );
    assert.throws(
      () => compressionArgs({ solid: true, solidChunkSize: 128 * 2 ** 20 }),
      (e: unknown) => {
        assertCode('DF_WIM_NONSTANDARD_CHUNK_SIZE', InputError)(e);
        assert.match((e as Error).message, /larger than 64 MiB/);
        return true;
      },
    );
    assert.throws(() => compressionArgs({ solid: true, solidChunkSize: 32 * 2 ** 20 }), assertCode('DF_WIM_NONSTANDARD_CHUNK_SIZE'));
    assert.throws(() => compressionArgs({ solid: true, compress: 'lzx' }), assertCode('DF_WIM_NONSTANDARD_COMPRESSION'));
    assert.deepEqual(compressionArgs({ compress: 'lzx', chunkSize: 65536, allowNonStandardChunks: true }), ['--compress=lzx', '--chunk-size=65536']);
    // Sizes wimlib itself cannot write are refused even when allowed.
    assert.throws(() => compressionArgs({ compress: 'lzx', chunkSize: 12345, allowNonStandardChunks: true }), assertCode('DF_WIM_BAD_CHUNK_SIZE'));
    assert.throws(() => compressionArgs({ compress: 'xpress', chunkSize: 1 << 20, allowNonStandardChunks: true }), assertCode('DF_WIM_BAD_CHUNK_SIZE'));
    assert.throws(() => compressionArgs({ compress: 'none', chunkSize: 32768 }), assertCode('DF_WIM_BAD_OPTION'));
    assert.throws(() => compressionArgs({ solidChunkSize: MICROSOFT_SOLID_CHUNK_SIZE }), assertCode('DF_WIM_BAD_OPTION'));
  });
});

describe('wimlib-imagex driver', { skip: haveWimlib ? false : 'wimlib-imagex (wimtools) is not installed' }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let treeA: string;
  let treeB: string;
  let twoImages: string; // Alpha (tree A) + Beta (tree B), LZX

  before(async () => {
    tmp = await makeTempDir('deployforge-wimlib-');
    treeA = join(tmp.path, 'treeA');
    treeB = join(tmp.path, 'treeB');
    await mkdir(join(treeA, 'Windows', 'System32'), { recursive: true });
    await writeFile(join(treeA, 'Windows', 'System32', 'random.bin'), randomBytes(300_000));
    await writeFile(join(treeA, 'Windows', 'text.txt'), Array.from({ length: 20000 }, (_, i) => `line ${i}\n`).join(''));
    await writeFile(join(treeA, 'hello.txt'), 'hello from A\n');
    await mkdir(join(treeB, 'Users', 'Public'), { recursive: true });
    await writeFile(join(treeB, 'Users', 'Public', 'b.txt'), 'only in B\n');
    await writeFile(join(treeB, 'hello.txt'), 'hello from A\n'); // shared with A: deduplicated
    twoImages = join(tmp.path, 'two.wim');
    await captureImage(treeA, twoImages, 'Alpha', { description: 'first' });
    await captureImage(treeB, twoImages, 'Beta', {
      append: true,
      flags: 'Professional',
      imageProperties: { DISPLAYNAME: 'Beta Display', 'WINDOWS/EDITIONID': 'Professional' },
    });
  });
  after(async () => tmp.cleanup());

  test('wimlibVersion parses program and library versions', async () => {
    const v = await wimlibVersion();
    assert.match(v.program, /^\d+\.\d+\.\d+/);
    assert.match(v.library, /^\d+\.\d+\.\d+/);
  });

  test('capture + append: two images with names, description, flags and properties, LZX 32 KiB', async () => {
    await withWim(twoImages, (wim) => {
      assert.equal(wim.kind, 'wim');
      assert.equal(wim.header.compression, 'lzx');
      assert.equal(wim.header.chunkSize, 32768);
      assert.deepEqual(
        wim.images.map((i) => [i.index, i.name]),
        [
          [1, 'Alpha'],
          [2, 'Beta'],
        ],
      );
      assert.equal(wim.images[0].description, 'first');
      assert.equal(wim.images[1].flags, 'Professional');
      assert.equal(wim.images[1].displayName, 'Beta Display');
      assert.equal(wim.images[1].windows?.editionId, 'Professional');
    });
    assert.equal((await readImageFile(twoImages, 2, '/Users/Public/b.txt')).toString(), 'only in B\n');
    await assert.rejects(captureImage(treeA, twoImages, 'Again'), assertCode('DF_FILE_EXISTS', InputError));
    await assert.rejects(captureImage(treeA, twoImages, 'Alpha', { append: true }), assertCode('DF_WIM_IMAGE_NAME_IN_USE', InputError));
    await assert.rejects(captureImage(join(tmp.path, 'nope'), join(tmp.path, 'x.wim'), 'X'), assertCode('DF_NOT_FOUND', InputError));
  });

  test('export by index, by name, several, and "all"', async () => {
    const byIndex = join(tmp.path, 'by-index.wim');
    await exportImages(twoImages, [2], byIndex);
    await withWim(byIndex, (wim) =>
      assert.deepEqual(
        wim.images.map((i) => i.name),
        ['Beta'],
      ),
    );
    const byName = join(tmp.path, 'by-name.wim');
    await exportImages(twoImages, ['Alpha'], byName, { destName: 'Renamed', destDescription: 'desc' });
    await withWim(byName, (wim) => {
      assert.deepEqual(
        wim.images.map((i) => [i.name, i.description]),
        [['Renamed', 'desc']],
      );
    });
    assert.equal((await readImageFile(byName, 1, '/hello.txt')).toString(), 'hello from A\n');
    const several = join(tmp.path, 'several.wim');
    await exportImages(twoImages, ['Beta', 1], several, { boot: 1 });
    await withWim(several, (wim) => {
      assert.deepEqual(
        wim.images.map((i) => i.name),
        ['Beta', 'Alpha'],
      );
      assert.equal(wim.header.bootIndex, 2);
    });
    const all = join(tmp.path, 'all.wim');
    await exportImages(twoImages, 'all', all);
    await withWim(all, (wim) => assert.equal(wim.images.length, 2));
    await assert.rejects(exportImages(twoImages, ['Gamma'], join(tmp.path, 'gamma.wim')), (e: unknown) => {
      assertCode('DF_WIM_NO_SUCH_IMAGE', InputError)(e);
      assert.match((e as Error).message, /Gamma/);
      return true;
    });
    await assert.rejects(stat(join(tmp.path, 'gamma.wim')), { code: 'ENOENT' }); // no partial output left
    await assert.rejects(exportImages(twoImages, [9], join(tmp.path, 'nine.wim')), assertCode('DF_WIM_NO_SUCH_IMAGE'));
    await assert.rejects(exportImages(twoImages, [1], byIndex), assertCode('DF_FILE_EXISTS'));
    await exportImages(twoImages, [1], byIndex, { append: true });
    await withWim(byIndex, (wim) =>
      assert.deepEqual(
        wim.images.map((i) => i.name),
        ['Beta', 'Alpha'],
      ),
    );
    await assert.rejects(exportImages(twoImages, [1, 2], join(tmp.path, 'x.wim'), { boot: true }), assertCode('DF_WIM_BAD_OPTION'));
  });

  test('ESD round trip: WIM → solid LZMS ESD (64 MiB solid chunks) → LZX WIM (32 KiB)', async () => {
    const esd = join(tmp.path, 'install.esd');
    await exportImages(twoImages, 'all', esd);
    await withWim(esd, (wim) => {
      assert.equal(wim.kind, 'esd');
      assert.equal(wim.solid, true);
      assert.equal(wim.header.compression, 'lzms');
      assert.equal(wim.header.chunkSize, 131072);
      assert.ok(wim.blobTable.solidResources.length > 0);
      for (const r of wim.blobTable.solidResources) {
        assert.equal(r.compression, 'lzms');
        assert.equal(r.chunkSize, MICROSOFT_SOLID_CHUNK_SIZE);
      }
    });
    const back = join(tmp.path, 'install.wim');
    await exportImages(esd, ['Alpha'], back);
    await withWim(back, (wim) => {
      assert.equal(wim.kind, 'wim');
      assert.equal(wim.solid, false);
      assert.equal(wim.header.compression, 'lzx');
      assert.equal(wim.header.chunkSize, 32768);
      assert.deepEqual(
        wim.images.map((i) => i.name),
        ['Alpha'],
      );
    });
    const original = await readFile(join(treeA, 'Windows', 'System32', 'random.bin'));
    assert.deepEqual(await readImageFile(back, 1, '/Windows/System32/random.bin'), original);
    assert.deepEqual(await readImageFile(esd, 1, '/Windows/System32/random.bin'), original);
  });

  test('export refuses non-standard chunk sizes before running, and allows them when asked', async () => {
    const dest = join(tmp.path, 'chunks.esd');
    await assert.rejects(exportImages(twoImages, [1], dest, { solidChunkSize: 256 * 2 ** 20 }), (e: unknown) => {
      assertCode('DF_WIM_NONSTANDARD_CHUNK_SIZE', InputError)(e);
      assert.match((e as Error).message, /64 MiB/);
      return true;
    });
    await assert.rejects(stat(dest), { code: 'ENOENT' });
    const big = join(tmp.path, 'chunks64k.wim');
    await exportImages(twoImages, [1], big, { chunkSize: 65536, recompress: true, allowNonStandardChunks: true });
    await withWim(big, (wim) => assert.equal(wim.header.chunkSize, 65536));
  });

  test('progress events arrive in bytes and every phase ends at 100%', async () => {
    const sink = recorder();
    await exportImages(twoImages, 'all', join(tmp.path, 'progress.wim'), { compress: 'xpress', progress: sink });
    assert.ok(sink.events.length >= 2, `only ${sink.events.length} events`);
    const archiving = sink.events.filter((e) => e.phase === 'export: archiving file data');
    assert.ok(archiving.length >= 2);
    for (const e of sink.events) assert.equal(e.unit, 'bytes');
    for (let i = 1; i < archiving.length; i++) assert.ok(archiving[i].done >= archiving[i - 1].done);
    const last = archiving[archiving.length - 1];
    assert.ok(last.total !== undefined && last.total > 300_000);
    assert.equal(last.done, last.total);
    const capture = recorder();
    await captureImage(treeA, join(tmp.path, 'progress2.wim'), 'P', { progress: capture });
    assert.ok(capture.events.some((e) => e.phase === 'capture: scanning' && e.total === undefined));
    const phases = new Map<string, ProgressEvent>();
    for (const e of capture.events) phases.set(e.phase, e);
    for (const e of phases.values()) if (e.total !== undefined) assert.equal(e.done, e.total, e.phase);
  });

  test('split: parts no larger than asked, readable as a set by openWimSet', async () => {
    const tree = join(tmp.path, 'splittree');
    await mkdir(tree);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 8; i++) {
      const data = randomBytes(300_000);
      files.set(`f${i}.bin`, data);
      await writeFile(join(tree, `f${i}.bin`), data);
    }
    const wim = join(tmp.path, 'split-src.wim');
    await captureImage(tree, wim, 'Split');
    const sink = recorder();
    const { parts } = await splitWim(wim, join(tmp.path, 'install.swm'), { partSizeMiB: 1, progress: sink });
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    assert.deepEqual(parts.slice(0, 2), [join(tmp.path, 'install.swm'), join(tmp.path, 'install2.swm')]);
    for (const p of parts) assert.ok((await stat(p)).size <= 2 ** 20, `${p} is ${(await stat(p)).size} bytes`);
    assert.ok(sink.events.some((e) => e.phase === 'split: splitting wim'));
    const sources = await Promise.all(parts.map((p) => FileSource.open(p)));
    try {
      const set = openWimSet(await Promise.all(sources.map((s) => openWim(s))));
      assert.equal(set.parts.length, parts.length);
      const image = await openWimImage(set, 1);
      for (const [name, data] of files) assert.deepEqual(Buffer.from(await (await image.openFile(name)).readAll()), data);
    } finally {
      await Promise.all(sources.map((s) => s.close()));
    }
    const refs = [join(tmp.path, 'install*.swm')];
    await verifyWim(parts[0], { refs });
    // A damaged part is named, with its part number and the file whose data it holds.
    const part2 = await open(parts[1], 'r+');
    await part2.write(Buffer.from('CORRUPTION'), 0, 10, 5000);
    await part2.close();
    await assert.rejects(verifyWim(parts[0], { refs }), (e: unknown) => {
      assertCode('DF_WIM_HASH_MISMATCH', FormatError)(e);
      const err = e as FormatError;
      assert.equal(err.details.file, parts[1]);
      assert.equal(err.details.part, 2);
      assert.equal((err.details.paths as string[]).length, 1);
      assert.match(err.message, /install2\.swm \(part 2\): the data of image 1:\/f\d\.bin/);
      return true;
    });
    await assert.rejects(splitWim(wim, parts[0]), assertCode('DF_FILE_EXISTS'));
    await assert.rejects(splitWim(wim, join(tmp.path, 'zero.swm'), { partSizeMiB: 0 }), assertCode('DF_WIM_BAD_OPTION'));
  });

  test('verify: a good WIM passes; a corrupted copy fails with a FormatError naming the file inside', async () => {
    const good = join(tmp.path, 'plain.wim');
    await captureImage(treeA, good, 'Plain', { compress: 'none' });
    const ok = await verifyWim(good);
    assert.equal(ok.integrityChecked, false);
    const bad = join(tmp.path, 'corrupt.wim');
    await copyFile(good, bad);
    const target = await withWim(good, (wim) => wim.blobTable.entries.filter((e) => e.kind === 'file').sort((a, b) => b.resource.originalSize - a.resource.originalSize)[0]);
    const handle = await open(bad, 'r+');
    await handle.write(Buffer.from('CORRUPTION'), 0, 10, target.resource.offset + 1000);
    await handle.close();
    await assert.rejects(verifyWim(bad), (e: unknown) => {
      assertCode('DF_WIM_HASH_MISMATCH', FormatError)(e);
      const err = e as FormatError;
      assert.equal(err.details.file, bad);
      assert.deepEqual(err.details.paths, ['image 1:/Windows/System32/random.bin']);
      assert.match(err.message, /corrupt\.wim.*random\.bin/);
      return true;
    });
    // With an integrity table, the table catches it first.
    const checked = join(tmp.path, 'checked.wim');
    await captureImage(treeA, checked, 'Checked', { compress: 'none', integrity: true });
    assert.equal((await verifyWim(checked)).integrityChecked, true);
    const handle2 = await open(checked, 'r+');
    await handle2.write(Buffer.from('CORRUPTION'), 0, 10, 5000);
    await handle2.close();
    await assert.rejects(verifyWim(checked), assertCode('DF_WIM_INTEGRITY_MISMATCH', FormatError));
  });

  test('not a WIM, and a missing file, are InputErrors', async () => {
    const text = join(tmp.path, 'not-a-wim.wim');
    await writeFile(text, 'this is not a WIM file, just text that is long enough'.repeat(10));
    await assert.rejects(verifyWim(text), assertCode('DF_WIM_BAD_MAGIC', InputError));
    await assert.rejects(exportImages(text, [1], join(tmp.path, 'y.wim')), assertCode('DF_WIM_BAD_MAGIC', InputError));
    await assert.rejects(verifyWim(join(tmp.path, 'missing.wim')), assertCode('DF_NOT_FOUND', InputError));
  });

  test('setImageProperties: values read back with our XML reader', async () => {
    const wim = join(tmp.path, 'props.wim');
    await copyFile(twoImages, wim);
    await setImageProperties(wim, 1, {
      NAME: 'Windows 11 Pro',
      DESCRIPTION: 'Windows 11 Pro',
      DISPLAYNAME: 'Windows 11 Pro (display)',
      FLAGS: 'Professional',
      'WINDOWS/EDITIONID': 'Professional',
    });
    await setImageProperties(wim, 'Beta', { DISPLAYDESCRIPTION: 'second one' });
    await withWim(wim, (w) => {
      const [a, b] = w.images;
      assert.equal(a.name, 'Windows 11 Pro');
      assert.equal(a.description, 'Windows 11 Pro');
      assert.equal(a.displayName, 'Windows 11 Pro (display)');
      assert.equal(a.flags, 'Professional');
      assert.equal(a.windows?.editionId, 'Professional');
      assert.equal(b.displayDescription, 'second one');
    });
    await assert.rejects(setImageProperties(wim, 2, { NAME: 'Windows 11 Pro' }), assertCode('DF_WIM_IMAGE_NAME_IN_USE'));
    await assert.rejects(setImageProperties(wim, 1, { 'bad name=': 'x' }), assertCode('DF_WIM_BAD_PROPERTY'));
    await assert.rejects(setImageProperties(wim, 7, { NAME: 'x' }), assertCode('DF_WIM_NO_SUCH_IMAGE'));
  });

  test('optimize: recompress to XPRESS 32 KiB and back, contents intact', async () => {
    const wim = join(tmp.path, 'optimize.wim');
    await copyFile(twoImages, wim);
    const sink = recorder();
    await optimizeWim(wim, { compress: 'xpress', recompress: true, progress: sink });
    await withWim(wim, (w) => {
      assert.equal(w.header.compression, 'xpress');
      assert.equal(w.header.chunkSize, 32768);
      assert.equal(w.images.length, 2);
    });
    assert.ok(sink.events.some((e) => e.phase === 'optimize: archiving file data'));
    await optimizeWim(wim, { compress: 'lzx' });
    await withWim(wim, (w) => assert.equal(w.header.compression, 'lzx'));
    assert.deepEqual(await readImageFile(wim, 1, '/Windows/text.txt'), await readFile(join(treeA, 'Windows', 'text.txt')));
    await assert.rejects(optimizeWim(wim, { compress: 'lzx', chunkSize: 2 ** 20 }), assertCode('DF_WIM_NONSTANDARD_CHUNK_SIZE'));
  });

  test('apply to a folder reproduces the files', async () => {
    const out = join(tmp.path, 'applied');
    const sink = recorder();
    await applyImage(twoImages, 1, out, { progress: sink });
    const want = await readTree(treeA);
    const got = await readTree(out);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [path, data] of want) assert.deepEqual(got.get(path), data, path);
    const last = sink.events.filter((e) => e.phase === 'apply: extracting file data').pop();
    assert.ok(last && last.done === last.total);
    const file = join(tmp.path, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(applyImage(twoImages, 1, file), assertCode('DF_NOT_A_DIRECTORY', InputError));
    await assert.rejects(applyImage(twoImages, 'Nope', join(tmp.path, 'nope')), assertCode('DF_WIM_NO_SUCH_IMAGE', InputError));
  });

  test('apply to an NTFS volume image through libntfs-3g', { skip: haveNtfs ? false : 'mkntfs/ntfscat (ntfs-3g) are not installed' }, async () => {
    const img = join(tmp.path, 'volume.ntfs');
    const handle = await open(img, 'w');
    await handle.truncate(16 * 2 ** 20);
    await handle.close();
    await runTool('mkntfs', ['-F', '-Q', img], { timeoutMs: 60_000 });
    await applyToNtfsImage(twoImages, 'Alpha', img);
    const { stdout } = await runTool('ntfsls', ['-p', '/Windows', img]);
    assert.deepEqual(
      stdout
        .split('\n')
        .filter((n) => n && n !== '.' && n !== '..')
        .sort(),
      ['System32', 'text.txt'],
    );
    const { stdout: data } = await runTool('ntfscat', [img, '/Windows/System32/random.bin'], { binary: true });
    assert.deepEqual(data, await readFile(join(treeA, 'Windows', 'System32', 'random.bin')));
    const notNtfs = join(tmp.path, 'zeros.img');
    await writeFile(notNtfs, Buffer.alloc(2 ** 20));
    await assert.rejects(applyToNtfsImage(twoImages, 1, notNtfs), assertCode('DF_NOT_NTFS', InputError));
  });

  test('a missing wimlib-imagex is an EnvironmentError naming the package', async () => {
    const empty = join(tmp.path, 'empty-bin');
    await mkdir(empty, { recursive: true });
    await assert.rejects(wimlibVersion({ env: { PATH: empty } }), (e: unknown) => {
      assertCode('DF_TOOL_MISSING', EnvironmentError)(e);
      assert.equal((e as EnvironmentError).details.package, 'wimtools');
      return true;
    });
    await assert.rejects(exportImages(twoImages, [1], join(tmp.path, 'never.wim'), { env: { PATH: empty } }), assertCode('DF_TOOL_MISSING', EnvironmentError));
  });

  test('an aborted signal cancels the run', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(exportImages(twoImages, [1], join(tmp.path, 'cancel.wim'), { signal: controller.signal }), assertCode('DF_CANCELLED'));
  });
});
