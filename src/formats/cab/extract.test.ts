// Checks readCabFile's bytes against cabextract's on gcab cabinets (stored and MSZIP), its
// checksum verification against cabextract's, and its refusals (LZX, size cap, missing name).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FormatError, ToolError } from '../../errors.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { cfdataChecksum } from './checksum.js';
import { openCabFile, readCabFile } from './extract.js';
import { readCab } from './read-cab.js';
import { type FixtureFile, makeCab, makeTempDir, patternBytes, UTC_ENV } from './test-fixtures.js';

const when = new Date('2022-02-02T02:02:02Z');
const files: FixtureFile[] = [
  {
    path: 'a.txt',
    bytes: new TextEncoder().encode('first file\n'),
    mtime: when,
  },
  { path: 'empty', bytes: new Uint8Array(0), mtime: when },
  { path: 'sub/dir/big.bin', bytes: patternBytes(200_001, 11), mtime: when },
  { path: 'sub/ñame.txt', bytes: patternBytes(40_000, 12), mtime: when },
  { path: 'zeros.bin', bytes: new Uint8Array(70_000), mtime: when },
  { path: 'tail.bin', bytes: patternBytes(33, 13), mtime: when },
];

/** cabextract's own output for one member, via its pipe mode. */
async function cabextractFile(cab: string, name: string): Promise<Buffer> {
  const { stdout } = await runTool('cabextract', ['-q', '-p', '-F', name, cab], { binary: true, env: UTC_ENV });
  return stdout;
}

describe('readCabFile', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const cabs: Record<string, string> = {};
  before(async () => {
    tmp = await makeTempDir('extract');
    cabs.stored = await makeCab(tmp.dir, 'stored', files, { mszip: false });
    cabs.mszip = await makeCab(tmp.dir, 'mszip', files, { mszip: true });
  });
  after(() => tmp.cleanup());

  for (const kind of ['stored', 'mszip']) {
    test(`extracts every file byte-for-byte as cabextract does (${kind})`, async () => {
      const source = await FileSource.open(cabs[kind]);
      try {
        const info = await readCab(source);
        assert.equal(info.files.length, files.length);
        for (const file of info.files) {
          const ours = await readCabFile(source, info, file.name);
          const theirs = await cabextractFile(cabs[kind], file.name.replaceAll('\\', '/'));
          assert.equal(ours.length, file.size, file.name);
          assert.ok(Buffer.from(ours).equals(theirs), `${file.name} differs from cabextract`);
        }
      } finally {
        await source.close();
      }
    });
  }

  test('computes the same CFDATA checksums gcab stored', async () => {
    const bytes = new Uint8Array(await readFile(cabs.mszip));
    const info = await readCab(new BufferSource(bytes));
    const dv = new DataView(bytes.buffer);
    let at = info.folders[0].firstDataOffset;
    assert.ok(info.folders[0].dataBlocks > 5);
    for (let i = 0; i < info.folders[0].dataBlocks; i++) {
      const csum = dv.getUint32(at, true);
      const cbData = dv.getUint16(at + 4, true);
      assert.notEqual(csum, 0);
      assert.equal(cfdataChecksum(bytes.subarray(at + 8, at + 8 + cbData), bytes.subarray(at + 4, at + 8)), csum, `block ${i}`);
      at += 8 + cbData;
    }
  });

  test('rejects a damaged data block when cabextract does too', async () => {
    const bytes = new Uint8Array(await readFile(cabs.mszip));
    const info = await readCab(new BufferSource(bytes));
    const at = info.folders[0].firstDataOffset + 8 + 100;
    bytes[at] ^= 0x55;
    const path = join(tmp.dir, 'damaged.cab');
    await writeFile(path, bytes);
    await assert.rejects(runTool('cabextract', ['-t', path]), ToolError);
    await assert.rejects(readCabFile(new BufferSource(bytes), info, 'a.txt'), (e: unknown) => e instanceof FormatError && e.code === 'DF_CAB_BAD_CHECKSUM');
  });

  test('inflates a damaged block whose checksum is zeroed into an error, not garbage', async () => {
    const bytes = new Uint8Array(await readFile(cabs.mszip));
    const info = await readCab(new BufferSource(bytes));
    const at = info.folders[0].firstDataOffset;
    bytes.fill(0, at, at + 4); // no checksum: damage must be caught by inflate or sizes
    bytes[at + 8 + 2] = 0xff; // first deflate header byte: reserved block type 3
    await assert.rejects(readCabFile(new BufferSource(bytes), info, 'a.txt'), (e: unknown) => e instanceof FormatError && e.code === 'DF_CAB_BAD_DATA');
  });

  test('refuses LZX folders with a clear error instead of wrong bytes', async () => {
    const bytes = new Uint8Array(await readFile(cabs.mszip));
    bytes[36 + 6] = 0x03;
    bytes[36 + 7] = 0x15;
    const source = new BufferSource(bytes, 'lzx.cab');
    const info = await readCab(source);
    await assert.rejects(readCabFile(source, info, 'a.txt'), (e: unknown) => {
      assert.ok(e instanceof FormatError);
      assert.equal(e.code, 'DF_CAB_UNSUPPORTED_COMPRESSION');
      assert.match(e.message, /compressed with LZX.*not extracted/);
      return true;
    });
  });

  test('refuses files over the size cap and names it', async () => {
    const source = await FileSource.open(cabs.mszip);
    try {
      const info = await readCab(source);
      await assert.rejects(readCabFile(source, info, 'sub/dir/big.bin', { maxBytes: 100_000 }), (e: unknown) => e instanceof FormatError && e.code === 'DF_CAB_TOO_LARGE');
      await assert.rejects(readCabFile(source, info, 'nope.txt'), (e: unknown) => e instanceof FormatError && e.code === 'DF_CAB_NO_SUCH_FILE');
    } finally {
      await source.close();
    }
  });

  test('serves random reads of a member in any order from the lazy source', async () => {
    const source = await FileSource.open(cabs.mszip);
    try {
      const info = await readCab(source);
      const member = openCabFile(source, info, 'sub\\dir\\big.bin');
      const expected = files[2].bytes;
      for (const [offset, length] of [
        [150_000, 10],
        [5, 70_000],
        [0, 1],
        [199_990, 11],
        [65_530, 40_000],
      ]) {
        assert.deepEqual(await member.read(offset, length), expected.slice(offset, offset + length));
      }
      await assert.rejects(member.read(200_000, 2), (e: unknown) => e instanceof FormatError && e.code === 'DF_TRUNCATED');
    } finally {
      await source.close();
    }
  });
});
