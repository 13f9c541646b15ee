// The ISO writer with a file over 4 GiB (a sparse source with a few non-zero spots): several UDF
// extents (ECMA-167 caps one below 1 GiB) and, in hybrid mode, multi-extent ISO 9660 records.
// Output files are written sparse, so this stays fast and small on disk.
import assert from 'node:assert/strict';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { openIso } from './index.js';
import { writeIsoFile } from './iso-writer.js';
import { listWith7z, patternBytes } from './test-support.js';

const SIZE = 4500 * 1024 * 1024;
const FOUR_GIB = 2 ** 32;
const MARKS: [number, Uint8Array][] = [
  [0, patternBytes(1000, 11)],
  [2 ** 30 - 100, patternBytes(300, 12)],
  [FOUR_GIB - 700, patternBytes(1500, 13)],
  [SIZE - 999, patternBytes(999, 14)],
];

let temp: { path: string; cleanup: () => Promise<void> };
let big: string;
const opened: FileSource[] = [];

before(async () => {
  temp = await makeTempDir('df-isow-big-');
  big = join(temp.path, 'install.wim');
  await runTool('truncate', ['-s', '4500M', big]);
  const handle = await openFile(big, 'r+');
  try {
    for (const [at, bytes] of MARKS) await handle.write(bytes, 0, bytes.length, at);
  } finally {
    await handle.close();
  }
});

after(async () => {
  for (const s of opened) await s.close();
  await temp.cleanup();
});

function expectedAt(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const [at, bytes] of MARKS) {
    for (let i = 0; i < bytes.length; i++) {
      const p = at + i - offset;
      if (p >= 0 && p < length) out[p] = bytes[i];
    }
  }
  return out;
}

for (const mode of ['udf', 'hybrid'] as const) {
  describe(`a 4500 MiB file in ${mode} mode`, () => {
    let iso: string;
    before(async () => {
      const source = await FileSource.open(big);
      opened.push(source);
      const small = new Uint8Array([1, 2, 3]);
      const { BufferSource } = await import('../../util/byte-source.js');
      iso = join(temp.path, `${mode}.iso`);
      await writeIsoFile(
        [
          { path: 'sources/install.wim', size: SIZE, source },
          { path: 'setup.exe', size: 3, source: new BufferSource(small) },
        ],
        { mode, volumeLabel: 'DF_BIG', timestamp: new Date('2024-01-01T00:00:00Z') },
        iso,
      );
    });

    test('our reader gives the size and the bytes at the start, across 1 GiB and 4 GiB, and at the end', async () => {
      const trees = mode === 'hybrid' ? (['udf', 'joliet', 'iso9660'] as const) : (['udf'] as const);
      for (const tree of trees) {
        const source = await FileSource.open(iso);
        opened.push(source);
        const image = await openIso(source, { tree });
        const entry = await image.stat('sources/install.wim');
        assert.equal(entry?.size, SIZE, tree);
        const file = await image.openFile('sources/install.wim');
        for (const [at, length] of [
          [0, 4096],
          [2 ** 30 - 2048, 4096],
          [FOUR_GIB - 4096, 8192],
          [SIZE - 4096, 4096],
        ]) {
          assert.deepEqual(await file.read(at, length), expectedAt(at, length), `${tree} at ${at}`);
        }
      }
    });

    test('7-Zip lists the true size', async () => {
      const listed = await listWith7z(iso);
      assert.equal(listed.type, 'Udf');
      assert.equal(listed.files.find((f) => f.path === '/sources/install.wim')?.size, SIZE);
      assert.equal(listed.files.find((f) => f.path === '/setup.exe')?.size, 3);
    });

    if (mode === 'hybrid') {
      test('isoinfo sees the multi-extent ISO 9660 records', async () => {
        const { stdout } = await runTool('isoinfo', ['-l', '-i', iso]);
        const records = stdout.split('\n').filter((l) => l.includes('INSTALL.WIM;1'));
        assert.equal(records.length, 2);
      });
    }
  });
}
