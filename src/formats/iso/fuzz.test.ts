// Fuzzes the reader with damaged copies of small real images (xorriso ISO 9660 + Joliet + Rock
// Ridge + El Torito; genisoimage UDF 1.02 bridge): byte overwrites concentrated on the metadata
// sectors, plus truncations. Opening, walking, stat and reading files must either work or throw a
// DeployForgeError, and always finish.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { openIso, type TreeKind } from './index.js';
import { makeGenisoimageUdf, makeXorrisoIso, patternBytes, writeTree } from './test-support.js';

let temp: { path: string; cleanup: () => Promise<void> };
let isoBytes: Uint8Array;
let udfBytes: Uint8Array;

const files = new Map<string, Uint8Array>([
  ['boot/etfsboot.com', patternBytes(4096, 11)],
  ['efi/microsoft/boot/efisys.bin', patternBytes(8192, 12)],
  ['sources/install.wim', patternBytes(20_000, 13)],
  ['sources/A Long Name For Joliet.txt', patternBytes(100, 14)],
  ['a/b/c/d/e/f/g/h/i/deep.txt', patternBytes(10, 15)],
  ['empty.dat', new Uint8Array(0)],
]);

before(async () => {
  temp = await makeTempDir('df-iso-fuzz-');
  const src = join(temp.path, 'src');
  await writeTree(src, files);
  await makeXorrisoIso(src, join(temp.path, 'x.iso'), ['-iso-level', '3', '-J', '-R', '-V', 'FUZZ']);
  await makeGenisoimageUdf(src, join(temp.path, 'u.iso'), ['-V', 'FUZZ']);
  isoBytes = await readFile(join(temp.path, 'x.iso'));
  udfBytes = await readFile(join(temp.path, 'u.iso'));
});

after(async () => {
  await temp.cleanup();
});

/** Exercises everything a caller would: open, walk, stat every path, read the head and tail of every file. */
async function exercise(bytes: Uint8Array, tree: TreeKind | undefined): Promise<void> {
  const iso = await openIso(new BufferSource(bytes, 'fuzzed.iso'), tree ? { tree } : {});
  let n = 0;
  for await (const entry of iso.walk()) {
    if (++n > 5000) throw new Error('walk did not stop');
    await iso.stat(entry.path);
    if (!entry.isDirectory) {
      const data = await iso.openFile(entry.path);
      if (data.size > 0) {
        await data.read(0, Math.min(64, data.size));
        await data.read(data.size - 1, 1);
      }
    }
  }
}

/** End of the metadata area: everything before the first file's data. */
async function metadataEnd(bytes: Uint8Array): Promise<number> {
  const iso = await openIso(new BufferSource(bytes));
  let end = bytes.length;
  for await (const e of iso.walk()) if (!e.isDirectory && e.extents.length > 0) end = Math.min(end, e.extents[0].offset);
  return end;
}

const mutation = fc.record({
  hot: fc.integer({ min: 0, max: 9 }),
  position: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});
const variant = fc.record({
  mutations: fc.array(mutation, { minLength: 0, maxLength: 24 }),
  truncateAt: fc.option(fc.nat(), { freq: 4 }),
});

async function fuzz(original: Uint8Array, trees: (TreeKind | undefined)[], runs: number): Promise<void> {
  await exercise(original, undefined);
  const hotStart = 16 * 2048;
  const hotEnd = await metadataEnd(original);
  let errors = 0;
  await fc.assert(
    fc.asyncProperty(variant, fc.constantFrom(...trees), async ({ mutations, truncateAt }, tree) => {
      const bytes = new Uint8Array(original);
      for (const m of mutations) {
        // Nine in ten writes land in the descriptor/directory area, where the parser's decisions are.
        const at = m.hot < 9 ? hotStart + (m.position % (hotEnd - hotStart)) : m.position % bytes.length;
        bytes[at] = m.value;
      }
      const input = truncateAt === null ? bytes : bytes.subarray(0, truncateAt % bytes.length);
      try {
        await exercise(input, tree);
      } catch (e) {
        if (!(e instanceof DeployForgeError)) throw e;
        errors++;
      }
    }),
    { numRuns: runs, seed: 0x150, endOnFailure: true },
  );
  // The mutations must actually reach the parser: a fuzz run where nothing ever fails tests nothing.
  assert.ok(errors > runs / 20, `only ${errors} of ${runs} variants were rejected`);
}

test('damaged ISO 9660 + Joliet + Rock Ridge images only ever throw DeployForgeErrors', { timeout: 60_000 }, async () => {
  await fuzz(isoBytes, [undefined, 'joliet', 'rock-ridge', 'iso9660'], 1200);
});

test('damaged UDF bridge images only ever throw DeployForgeErrors', { timeout: 60_000 }, async () => {
  await fuzz(udfBytes, [undefined, 'udf', 'iso9660'], 1200);
});
