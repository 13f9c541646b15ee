// Checks readCab's listing against gcab, cabextract and 7-Zip on cabinets gcab builds, and its
// refusals on hand-damaged ones.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FormatError } from '../../errors.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { readCab } from './read-cab.js';
import { type FixtureFile, listWithCabextract, listWithGcab, listWithSevenZip, makeCab, makeTempDir, patternBytes } from './test-fixtures.js';
import type { CabInfo } from './types.js';

const when = new Date('2021-03-04T05:06:08Z');

function sampleFiles(): FixtureFile[] {
  return [
    {
      path: 'readme.txt',
      bytes: new TextEncoder().encode('hello cabinet\n'),
      mtime: when,
    },
    {
      path: 'empty.dat',
      bytes: new Uint8Array(0),
      mtime: new Date('1999-12-31T23:59:58Z'),
    },
    {
      path: 'drivers/x64/big.sys',
      bytes: patternBytes(100_000, 7),
      mtime: new Date('2010-06-15T12:30:44Z'),
    },
    {
      path: 'drivers/ünïcödé naмe.inf',
      bytes: patternBytes(1234, 9),
      mtime: when,
    },
    {
      path: 'exactly-one-block.bin',
      bytes: patternBytes(32768, 3),
      mtime: when,
    },
  ];
}

function manyFiles(): FixtureFile[] {
  const files: FixtureFile[] = [];
  for (let i = 0; i < 300; i++) {
    const size = (i * 7919) % (i % 10 === 0 ? 70_000 : 3000);
    files.push({
      path: `d${i % 5}/sub${i % 3}/f${i}.bin`,
      bytes: patternBytes(size, i + 1),
      mtime: new Date(Date.UTC(2000 + (i % 30), i % 12, 1 + (i % 28), i % 24, i % 60, (i % 30) * 2)),
    });
  }
  return files;
}

const forward = (name: string) => name.replaceAll('\\', '/');

async function readCabAt(path: string): Promise<CabInfo> {
  const source = await FileSource.open(path);
  try {
    return await readCab(source);
  } finally {
    await source.close();
  }
}

describe('readCab against independent tools', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const cabs: Record<string, string> = {};

  before(async () => {
    tmp = await makeTempDir('read');
    cabs.stored = await makeCab(tmp.dir, 'stored', sampleFiles(), {
      mszip: false,
    });
    cabs.mszip = await makeCab(tmp.dir, 'mszip', sampleFiles(), {
      mszip: true,
    });
    cabs.many = await makeCab(tmp.dir, 'many', manyFiles(), { mszip: true });
  });
  after(() => tmp.cleanup());

  for (const kind of ['stored', 'mszip', 'many']) {
    test(`lists the same names, sizes, dates and attributes as gcab (${kind})`, async () => {
      const ours = await readCabAt(cabs[kind]);
      const theirs = await listWithGcab(cabs[kind]);
      assert.deepEqual(
        ours.files.map((f) => ({
          name: f.name,
          size: f.size,
          modified: f.modified,
          attributes: f.attributes,
        })),
        theirs,
      );
    });

    test(`lists the same names, sizes and dates as cabextract (${kind})`, async () => {
      const ours = await readCabAt(cabs[kind]);
      const theirs = await listWithCabextract(cabs[kind]);
      assert.equal(theirs.length, ours.files.length);
      assert.deepEqual(
        ours.files.map((f) => ({
          name: forward(f.name),
          size: f.size,
          modified: f.modified,
        })),
        theirs,
      );
    });

    test(`agrees with 7-Zip on folders, compression, set id and entries (${kind})`, async () => {
      const ours = await readCabAt(cabs[kind]);
      const theirs = await listWithSevenZip(cabs[kind]);
      assert.equal(Number(theirs.archive.Blocks), ours.folders.length);
      assert.equal(Number(theirs.archive.ID), ours.setId);
      assert.equal(Number(theirs.archive['Volume Index']), ours.cabinetIndex);
      assert.equal(Number(theirs.archive['Physical Size']), ours.totalSize);
      assert.equal(theirs.archive.Method, kind === 'stored' ? 'None' : 'MSZip');
      assert.deepEqual(
        ours.files.map((f) => ({
          path: forward(f.name),
          size: f.size,
          modified: f.modified?.replace('T', ' '),
          block: f.folderIndex,
        })),
        theirs.entries.map((e) => ({
          path: e.Path,
          size: Number(e.Size),
          modified: e.Modified,
          block: Number(e.Block),
        })),
      );
    });
  }

  test('reports the header, folder and path details gcab writes', async () => {
    const info = await readCabAt(cabs.mszip);
    assert.equal(info.version, '1.3');
    assert.equal(info.flags, 0);
    assert.equal(info.previous, undefined);
    assert.equal(info.next, undefined);
    assert.deepEqual(info.reserve, { header: 0, folder: 0, data: 0 });
    assert.equal(info.folders[0].compression.name, 'mszip');
    assert.equal(info.folders[0].compressionName, 'MSZIP');
    // gcab stores sub-folders with Windows separators and flags non-ASCII names as UTF-8.
    assert.ok(info.files.some((f) => f.name === 'drivers\\x64\\big.sys'));
    const utf = info.files.find((f) => f.name === 'drivers\\ünïcödé naмe.inf');
    assert.ok(utf);
    assert.equal(utf.attributes & 0x80, 0x80);
  });

  test('names the LZX and Quantum window sizes the way 7-Zip does', async () => {
    const bytes = new Uint8Array(await readFile(cabs.stored));
    const folderAt = 36; // no reserve, no prev/next names in gcab output
    for (const [raw, method, ours] of [
      [0x1503, 'LZX:21', 'LZX (window 2^21)'],
      [0x1003, 'LZX:16', 'LZX (window 2^16)'],
      [0x1572, 'Quantum:21', 'Quantum (level 7, window 2^21)'],
    ] as const) {
      const patched = bytes.slice();
      patched[folderAt + 6] = raw & 0xff;
      patched[folderAt + 7] = raw >> 8;
      const path = join(tmp.dir, `patched-${raw}.cab`);
      await writeFile(path, patched);
      const info = await readCabAt(path);
      assert.equal(info.folders[0].compressionName, ours);
      assert.equal((await listWithSevenZip(path)).archive.Method, method);
    }
  });
});

describe('readCab on damaged cabinets', () => {
  const base = async () => {
    const tmp = await makeTempDir('bad');
    try {
      return new Uint8Array(await readFile(await makeCab(tmp.dir, 'base', sampleFiles(), { mszip: true })));
    } finally {
      await tmp.cleanup();
    }
  };
  const parse = (bytes: Uint8Array) => readCab(new BufferSource(bytes, 'test.cab'));
  const rejectsWith = (bytes: Uint8Array, code: string) => assert.rejects(parse(bytes), (e: unknown) => e instanceof FormatError && e.code === code);
  const put32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
  const put16 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);

  test('rejects a file that does not start with MSCF', async () => {
    const b = await base();
    b[0] = 0x4e;
    await rejectsWith(b, 'DF_CAB_BAD_SIGNATURE');
  });

  test('rejects a cabinet cut short of its stated size', async () => {
    const b = await base();
    await rejectsWith(b.subarray(0, b.length - 1), 'DF_CAB_TRUNCATED');
    await rejectsWith(b.subarray(0, 20), 'DF_CAB_TRUNCATED');
  });

  test('rejects a file table offset that points past the end', async () => {
    const b = await base();
    put32(b, 16, b.length + 10);
    await rejectsWith(b, 'DF_CAB_BAD_HEADER');
  });

  test('rejects a file count the cabinet cannot hold', async () => {
    const b = await base();
    put16(b, 28, 0xffff);
    await rejectsWith(b, 'DF_CAB_BAD_HEADER');
  });

  test('rejects a folder whose blocks would run past the end', async () => {
    const b = await base();
    put16(b, 36 + 4, 0xffff);
    await rejectsWith(b, 'DF_CAB_BAD_FOLDER');
  });

  test('rejects a file that names a folder the cabinet lacks', async () => {
    const b = await base();
    const coffFiles = new DataView(b.buffer).getUint32(16, true);
    put16(b, coffFiles + 8, 5);
    await rejectsWith(b, 'DF_CAB_BAD_FILE');
  });

  test('rejects a file that claims more bytes than its folder holds', async () => {
    const b = await base();
    const coffFiles = new DataView(b.buffer).getUint32(16, true);
    put32(b, coffFiles, 0x7fffffff);
    await rejectsWith(b, 'DF_CAB_BAD_FILE');
  });

  test('rejects an unknown major version', async () => {
    const b = await base();
    b[25] = 2;
    await rejectsWith(b, 'DF_CAB_BAD_VERSION');
  });

  test('accepts the CONTINUED_* folder values of a cabinet set', async () => {
    const b = await base();
    const coffFiles = new DataView(b.buffer).getUint32(16, true);
    put16(b, coffFiles + 8, 0xfffe);
    const info = await parse(b);
    assert.equal(info.files[0].folderIndex, 0xfffe);
  });
});
