// Checks the header features gcab never writes (reserved areas, previous/next cabinet names,
// several folders, set id and index) on cabinets joined from gcab output, against 7-Zip's and
// cabextract's reading of the same bytes.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BufferSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { readCabFile } from './extract.js';
import { readCab } from './read-cab.js';
import { combineGcabCabinets, listWithCabextract, listWithSevenZip, makeCab, makeTempDir, patternBytes, UTC_ENV } from './test-fixtures.js';

const when = new Date('2019-09-09T09:09:10Z');

describe('cabinets with reserves, set links and several folders', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let reserved: string;
  let linked: string;
  let reservedBytes: Uint8Array;
  let sources: Uint8Array[];

  before(async () => {
    tmp = await makeTempDir('set');
    const first = await makeCab(
      tmp.dir,
      'first',
      [
        { path: 'one/a.bin', bytes: patternBytes(80_000, 21), mtime: when },
        {
          path: 'one/b.txt',
          bytes: new TextEncoder().encode('bee\n'),
          mtime: when,
        },
      ],
      { mszip: true },
    );
    const second = await makeCab(
      tmp.dir,
      'second',
      [
        { path: 'two/c.bin', bytes: patternBytes(50_000, 22), mtime: when },
        { path: 'two/d.txt', bytes: new Uint8Array(0), mtime: when },
      ],
      { mszip: false },
    );
    const parts = [new Uint8Array(await readFile(first)), new Uint8Array(await readFile(second))];
    sources = parts;
    reservedBytes = combineGcabCabinets(parts, {
      reserve: { header: 20, folder: 3, data: 5 },
      setId: 4242,
      cabinetIndex: 2,
    });
    reserved = join(tmp.dir, 'reserved.cab');
    await writeFile(reserved, reservedBytes);
    linked = join(tmp.dir, 'linked.cab');
    await writeFile(
      linked,
      combineGcabCabinets(parts, {
        reserve: { header: 6, folder: 0, data: 0 },
        previous: { cabinet: 'prev.cab', disk: 'Disk 1' },
        next: { cabinet: 'next.cab', disk: 'Disk 3' },
        setId: 7,
        cabinetIndex: 1,
      }),
    );
  });
  after(() => tmp.cleanup());

  test('skips header, folder and data reserves and agrees with 7-Zip on the layout', async () => {
    const info = await readCab(new BufferSource(reservedBytes));
    assert.deepEqual(info.reserve, { header: 20, folder: 3, data: 5 });
    const seven = await listWithSevenZip(reserved);
    assert.equal(info.folders.length, Number(seven.archive.Blocks));
    assert.equal(info.setId, Number(seven.archive.ID));
    assert.equal(info.cabinetIndex, Number(seven.archive['Volume Index']));
    assert.equal(seven.archive.Method, 'None MSZip');
    assert.deepEqual(
      info.folders.map((f) => f.compressionName),
      ['MSZIP', 'none'],
    );
    assert.deepEqual(
      info.files.map((f) => ({
        path: f.name.replaceAll('\\', '/'),
        size: f.size,
        block: f.folderIndex,
      })),
      seven.entries.map((e) => ({
        path: e.Path,
        size: Number(e.Size),
        block: Number(e.Block),
      })),
    );
    assert.deepEqual(
      info.files.map((f) => ({
        name: f.name.replaceAll('\\', '/'),
        size: f.size,
        modified: f.modified,
      })),
      await listWithCabextract(reserved),
    );
  });

  test('extracts from both folders past the data reserves, matching 7-Zip byte for byte', async () => {
    await runTool('7zz', ['t', reserved], { env: UTC_ENV }); // the checksums hold for 7-Zip
    const source = new BufferSource(reservedBytes);
    const info = await readCab(source);
    for (const file of info.files) {
      const { stdout } = await runTool('7zz', ['e', '-so', reserved, file.name.replaceAll('\\', '/')], { binary: true, env: UTC_ENV });
      const ours = await readCabFile(source, info, file.name);
      assert.equal(ours.length, file.size);
      assert.ok(Buffer.from(ours).equals(stdout), `${file.name} differs from 7-Zip`);
    }
  });

  test('also accepts data-reserve checksums in the form cabextract checks', async () => {
    const dir = await makeTempDir('libmspack');
    try {
      const bytes = combineGcabCabinets(sources, {
        reserve: { header: 0, folder: 0, data: 9 },
        checksumStyle: 'libmspack',
      });
      const path = join(dir.dir, 'libmspack.cab');
      await writeFile(path, bytes);
      await runTool('cabextract', ['-t', path], { env: UTC_ENV });
      const source = new BufferSource(bytes);
      const info = await readCab(source);
      for (const file of info.files) {
        const { stdout } = await runTool('cabextract', ['-q', '-p', '-F', file.name.replaceAll('\\', '/'), path], { binary: true, env: UTC_ENV });
        assert.ok(Buffer.from(await readCabFile(source, info, file.name)).equals(stdout), file.name);
      }
    } finally {
      await dir.cleanup();
    }
  });

  test('reports previous and next cabinet names that cabextract goes looking for', async () => {
    const info = await readCab(new BufferSource(new Uint8Array(await readFile(linked))));
    assert.deepEqual(info.previous, { cabinet: 'prev.cab', disk: 'Disk 1' });
    assert.deepEqual(info.next, { cabinet: 'next.cab', disk: 'Disk 3' });
    assert.equal(info.flags, 0x7);
    const { stderr } = await runTool('cabextract', ['-l', linked], {
      env: UTC_ENV,
    });
    assert.match(stderr, /can't find prev\.cab\n.*can't find next\.cab/s);
    assert.deepEqual(
      info.files.map((f) => ({
        name: f.name.replaceAll('\\', '/'),
        size: f.size,
        modified: f.modified,
      })),
      await listWithCabextract(linked),
    );
  });
});
