// Header validation, checked against wimlib-imagex: each corrupted header below is written to a
// file and must be refused by both wimlib and us (with our stable code), and each odd-but-legal
// one must be accepted by both with the same interpretation.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { parseWimHeader, readWimHeader } from './header.js';
import { openWim } from './wim-file.js';

const BASE = 'wim/wimlib/cyclic.wim'; // XPRESS, 32 KiB chunks, one image, no integrity table

function patch(bytes: Uint8Array, edits: Array<[offset: number, width: 2 | 4, value: number]>): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  for (const [offset, width, value] of edits) {
    if (width === 2) view.setUint16(offset, value, true);
    else view.setUint32(offset, value, true);
  }
  return out;
}

async function wimlibInfo(path: string): Promise<string | null> {
  try {
    return (await runTool('wimlib-imagex', ['info', path], { timeoutMs: 30_000 })).stdout;
  } catch {
    return null;
  }
}

async function openFile(path: string) {
  const source = await FileSource.open(path);
  try {
    return await openWim(source);
  } finally {
    await source.close();
  }
}

describe('WIM header validation agrees with wimlib-imagex', () => {
  let base: Uint8Array;
  let dir = '';
  let cleanup = async () => {};
  before(async () => {
    base = await readFile(corpusPath(BASE));
    ({ path: dir, cleanup } = await makeTempDir('deployforge-wimhdr-'));
  });
  after(() => cleanup());

  const refused: Array<[string, (b: Uint8Array) => Uint8Array, string]> = [
    ['a wrong signature', (b) => patch(b, [[0, 4, 0x5849574d]]), 'DF_WIM_BAD_MAGIC'],
    ['a header size other than 208', (b) => patch(b, [[0x08, 4, 200]]), 'DF_WIM_BAD_HEADER_SIZE'],
    ['an unknown version', (b) => patch(b, [[0x0c, 4, 0x10c00]]), 'DF_WIM_UNKNOWN_VERSION'],
    ['the compression flag without a compression kind', (b) => patch(b, [[0x10, 4, 0x82]]), 'DF_WIM_BAD_COMPRESSION'],
    ['a chunk size that is not a power of two', (b) => patch(b, [[0x14, 4, 30000]]), 'DF_WIM_BAD_CHUNK_SIZE'],
    ['an XPRESS chunk size above 64 KiB', (b) => patch(b, [[0x14, 4, 131072]]), 'DF_WIM_BAD_CHUNK_SIZE'],
    ['part 2 of 1', (b) => patch(b, [[0x28, 2, 2]]), 'DF_WIM_BAD_PART_NUMBER'],
    ['zero total parts', (b) => patch(b, [[0x2a, 2, 0]]), 'DF_WIM_BAD_PART_NUMBER'],
    ['part number 0', (b) => patch(b, [[0x28, 2, 0]]), 'DF_WIM_BAD_PART_NUMBER'],
    ['an XML resource past the end of the file', (b) => patch(b, [[0x48 + 8, 4, b.length]]), 'DF_WIM_BAD_RESOURCE'],
    ['an XML original size larger than the file', (b) => patch(b, [[0x48 + 16, 4, b.length * 4]]), 'DF_WIM_BAD_RESOURCE'],
    ['a blob table original size larger than the file', (b) => patch(b, [[0x30 + 16, 4, b.length * 4]]), 'DF_WIM_BAD_RESOURCE'],
    ['more images in the header than in the XML', (b) => patch(b, [[0x2c, 4, 2]]), 'DF_WIM_IMAGE_COUNT_MISMATCH'],
    ['an image count no file of this size can hold', (b) => patch(b, [[0x2c, 4, 1_000_000]]), 'DF_WIM_BAD_IMAGE_COUNT'],
    [
      'neither blob table nor XML',
      (b) =>
        patch(b, [
          [0x30, 4, 0],
          [0x30 + 16, 4, 0],
          [0x48, 4, 0],
          [0x48 + 16, 4, 0],
        ]),
      'DF_WIM_INCOMPLETE',
    ],
    ['a truncated header', (b) => b.subarray(0, 100), 'DF_TRUNCATED'],
  ];

  for (const [what, mutate, code] of refused) {
    test(`refuses a header with ${what} (${code}), as wimlib-imagex does`, async () => {
      const path = join(dir, `${code}-${what.replace(/\W+/g, '_')}.wim`);
      await writeFile(path, mutate(base));
      assert.equal(await wimlibInfo(path), null, 'wimlib-imagex info also refuses it');
      await assert.rejects(openFile(path), (e: unknown) => {
        assert.ok(e instanceof DeployForgeError, String(e));
        assert.equal(e.code, code);
        return true;
      });
    });
  }

  test('ignores a boot index past the last image with a warning, as wimlib-imagex does', async () => {
    const path = join(dir, 'bootindex.wim');
    await writeFile(path, patch(base, [[0x78, 4, 5]]));
    const info = await wimlibInfo(path);
    assert.ok(info);
    assert.match(info, /^Boot Index:\s+0$/m);
    const wim = await openFile(path);
    assert.equal(wim.header.rawBootIndex, 5);
    assert.equal(wim.header.bootIndex, 0);
    assert.equal(wim.header.warnings.length, 1);
  });

  test('accepts write-in-progress and read-only flags and reports them, as wimlib-imagex does', async () => {
    const path = join(dir, 'flags.wim');
    await writeFile(path, patch(base, [[0x10, 4, 0x20082 | 0x40 | 0x4]]));
    const info = await wimlibInfo(path);
    assert.ok(info);
    assert.match(info, /^Attributes:.*Readonly/m);
    const wim = await openFile(path);
    assert.ok(wim.header.flags.writeInProgress && wim.header.flags.readonly);
    assert.ok(wim.header.warnings.some((w) => w.includes('being written')));
  });

  test('reads the XPRESS_2 flag as an XPRESS variant, which wimlib-imagex reports as XPRESS', async () => {
    const path = join(dir, 'xpress2.wim');
    await writeFile(path, patch(base, [[0x10, 4, 0x200082]]));
    const info = await wimlibInfo(path);
    assert.ok(info);
    assert.match(info, /^Compression:\s+XPRESS$/m);
    assert.equal((await openFile(path)).header.compression, 'xpress2');
  });

  test('ignores compression kind bits when the compression flag is clear, as wimlib-imagex does', async () => {
    const path = join(dir, 'nocomp.wim');
    await writeFile(
      path,
      patch(base, [
        [0x10, 4, 0x20080],
        [0x14, 4, 0],
      ]),
    );
    const info = await wimlibInfo(path);
    assert.ok(info);
    assert.match(info, /^Compression:\s+None$/m);
    assert.equal((await openFile(path)).header.compression, 'none');
  });

  test('accepts a non-zero chunk size in an uncompressed WIM with a warning, where wimlib-imagex 1.13 refuses it', async () => {
    const path = join(dir, 'nocomp-chunk.wim');
    await writeFile(path, patch(base, [[0x10, 4, 0x80]]));
    assert.equal(await wimlibInfo(path), null);
    const header = (await openFile(path)).header;
    assert.equal(header.chunkSize, 32768);
    assert.ok(header.warnings.some((w) => w.includes('chunk size 32768')));
  });
});

describe('parseWimHeader', () => {
  test('formats the GUID both as wimlib prints it and as a Windows GUID string', async () => {
    const header = await readWimHeader(new BufferSource(await readFile(corpusPath(BASE))));
    assert.equal(header.guid, 'd86a5dbc7b2a84b7f9c527e6a54945a8');
    assert.equal(header.guidString, '{bc5d6ad8-2a7b-b784-f9c5-27e6a54945a8}');
  });

  test('rejects a 64-bit offset too large to be real with a FormatError, not a RangeError', async () => {
    const bytes = patch(await readFile(corpusPath(BASE)), [[0x48 + 12, 4, 0xffffffff]]);
    assert.throws(
      () => parseWimHeader(bytes, bytes.length),
      (e: unknown) => e instanceof DeployForgeError,
    );
  });
});
