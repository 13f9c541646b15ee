// Checks readMsu on MSU-like cabinets (gcab cabinets holding gcab cabinets, .xml and .txt):
// nested listings must match gcab's and 7-Zip's listings of the inner files themselves.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { readMsu } from './read-msu.js';
import { type FixtureFile, listWithGcab, listWithSevenZip, makeCab, makeTempDir, patternBytes } from './test-fixtures.js';
import type { CabInfo } from './types.js';

const when = new Date('2023-05-06T07:08:10Z');

function payload(count: number, seed: number): FixtureFile[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `amd64_microsoft-windows-${seed}_${i}/f${i}.dll`,
    bytes: patternBytes(1000 + ((i * 4099) % 50_000), seed * 1000 + i),
    mtime: when,
  }));
}

const summary = (info: CabInfo) =>
  info.files.map((f) => ({
    name: f.name,
    size: f.size,
    modified: f.modified,
    attributes: f.attributes,
  }));

describe('readMsu', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let innerZip: string;
  let innerStored: string;
  let bigStored: string;
  const outer: Record<string, string> = {};

  before(async () => {
    tmp = await makeTempDir('msu');
    innerZip = await makeCab(tmp.dir, 'Windows10.0-KB5000001-x64', payload(40, 1), { mszip: true });
    innerStored = await makeCab(tmp.dir, 'WSUSSCAN', payload(5, 2), {
      mszip: false,
    });
    bigStored = await makeCab(tmp.dir, 'big', [{ path: 'huge.bin', bytes: patternBytes(3_000_000, 5), mtime: when }], { mszip: false });
    const members: FixtureFile[] = [
      { path: 'WSUSSCAN.cab', bytes: await readFile(innerStored), mtime: when },
      {
        path: 'Windows10.0-KB5000001-x64.cab',
        bytes: await readFile(innerZip),
        mtime: when,
      },
      {
        path: 'Windows10.0-KB5000001-x64-pkgProperties.txt',
        bytes: new TextEncoder().encode('Applies to="Windows 10"\r\n'),
        mtime: when,
      },
      {
        path: 'Windows10.0-KB5000001-x64.xml',
        bytes: new TextEncoder().encode('<?xml version="1.0"?><unattend/>'),
        mtime: when,
      },
      { path: 'big.cab', bytes: await readFile(bigStored), mtime: when },
    ];
    outer.mszip = await makeCab(tmp.dir, 'outer-mszip', members, {
      mszip: true,
    });
    outer.stored = await makeCab(tmp.dir, 'outer-stored', members, {
      mszip: false,
    });
  });
  after(() => tmp.cleanup());

  for (const kind of ['mszip', 'stored']) {
    test(`lists nested cabinets as gcab lists the inner files (${kind} outer)`, async () => {
      const source = await FileSource.open(outer[kind]);
      try {
        const msu = await readMsu(source, { maxNestedBytes: 256 * 1024 });
        assert.deepEqual(
          msu.entries.map((e) => ({ name: e.name, size: e.size })),
          (await listWithGcab(outer[kind])).map((e) => ({
            name: e.name,
            size: e.size,
          })),
        );
        const byName = new Map(msu.entries.map((e) => [e.name, e]));
        for (const [member, path] of [
          ['WSUSSCAN.cab', innerStored],
          ['Windows10.0-KB5000001-x64.cab', innerZip],
          ['big.cab', bigStored],
        ] as const) {
          const entry = byName.get(member);
          assert.ok(entry?.cabinet, `${member} was not listed: ${entry?.note}`);
          assert.equal(entry.note, undefined);
          assert.deepEqual(summary(entry.cabinet), await listWithGcab(path));
          const seven = await listWithSevenZip(path);
          assert.equal(entry.cabinet.folders.length, Number(seven.archive.Blocks));
          assert.equal(entry.cabinet.totalSize, Number(seven.archive['Physical Size']));
        }
        for (const plain of msu.entries.filter((e) => !e.name.endsWith('.cab'))) {
          assert.equal(plain.cabinet, undefined);
          assert.equal(plain.note, undefined);
        }
      } finally {
        await source.close();
      }
    });
  }

  test('notes nested cabinets in an LZX outer folder instead of failing', async () => {
    const bytes = new Uint8Array(await readFile(outer.mszip));
    bytes[36 + 6] = 0x03;
    bytes[36 + 7] = 0x15;
    const msu = await readMsu(new BufferSource(bytes, 'lzx.msu'));
    const cabs = msu.entries.filter((e) => e.name.endsWith('.cab'));
    assert.equal(cabs.length, 3);
    for (const entry of cabs) {
      assert.equal(entry.cabinet, undefined);
      assert.match(entry.note ?? '', /^compressed with LZX \(window 2\^21\); not extracted$/);
    }
  });

  test('notes a nested cabinet whose tables exceed the cap and still lists the rest', async () => {
    const source = await FileSource.open(outer.mszip);
    try {
      const msu = await readMsu(source, { maxNestedBytes: 512 });
      const inner = msu.entries.find((e) => e.name === 'Windows10.0-KB5000001-x64.cab');
      assert.equal(inner?.cabinet, undefined);
      assert.match(inner?.note ?? '', /DF_CAB_TOO_LARGE/);
      assert.ok(msu.entries.find((e) => e.name === 'big.cab')?.cabinet);
    } finally {
      await source.close();
    }
  });

  test('notes that a nested cabinet holds LZX files it cannot extract', async () => {
    const inner = new Uint8Array(await readFile(innerZip));
    inner[36 + 6] = 0x03;
    inner[36 + 7] = 0x10;
    const dir = join(tmp.dir, 'lzx-inner');
    const path = await makeCab(dir, 'outer', [{ path: 'inner.cab', bytes: inner, mtime: when }], { mszip: true });
    const msu = await readMsu(new BufferSource(new Uint8Array(await readFile(path))));
    assert.equal(msu.entries[0].cabinet?.files.length, 40);
    assert.equal(msu.entries[0].note, 'files compressed with LZX; not extracted');
  });
});
