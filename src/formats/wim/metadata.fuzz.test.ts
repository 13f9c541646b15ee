// Fuzzes the metadata reader: thousands of mutated metadata resources, written back into an
// uncompressed WIM in place, must each give a tree or a FormatError, quickly and without
// unbounded allocation or recursion. Hashes are not checked (verify off) so mutations reach
// the parser instead of stopping at the SHA-1.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { openWimImage } from './image.js';
import { parseMetadataResource } from './metadata.js';
import { openWim } from './wim-file.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let wimBytes: Uint8Array;
let metaOffset = 0;
let metaSize = 0;

before(async () => {
  tmp = await makeTempDir('deployforge-wimfuzz-');
  const tree = join(tmp.path, 'tree');
  await mkdir(join(tree, 'd1', 'd2'), { recursive: true });
  await mkdir(join(tree, 'empty'));
  await writeFile(join(tree, 'd1', 'a.txt'), 'alpha');
  await writeFile(join(tree, 'd1', 'd2', 'b.txt'), 'beta'.repeat(100));
  await writeFile(join(tree, 'ü.txt'), '');
  const file = join(tmp.path, 'fuzz.wim');
  await runTool('wimlib-imagex', ['capture', tree, file, 'fuzz', '--compress=none'], { timeoutMs: 60_000 });
  wimBytes = await readFile(file);
  const wim = await openWim(new BufferSource(wimBytes));
  const meta = wim.blobTable.entries.find((e) => e.kind === 'metadata');
  assert.ok(meta);
  metaOffset = meta.resource.offset;
  metaSize = meta.size;
});

after(async () => tmp?.cleanup());

/** Runs everything a reader of the image would: walk, stat, list, read every file. */
async function exercise(bytes: Uint8Array): Promise<void> {
  const image = await openWimImage(await openWim(new BufferSource(bytes)), 1, { verify: false });
  for (const s of image.walk()) {
    image.stat(s.path);
    if (s.isDirectory) image.list(s.path);
    else if (s.reparseTag === null && s.streams.some((x) => x.type === 'data' && x.name === '' && x.size !== null)) {
      await (await image.openFile(s.path, '', { verify: false })).readAll();
    }
  }
}

const mutation = fc.oneof(
  // Random bytes anywhere in the metadata.
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), values: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  // A 64-bit field (length, subdir offset) set to an interesting value at an 8-aligned spot.
  fc.record({
    kind: fc.constant('u64' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 8, 9, 102, 0xffffffff, 2 ** 40, 2 ** 53 - 1, 0x70, 0x78, 0x100),
  }),
  // A 16-bit count or name length.
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 2, 0xfffe, 0xffff, 100) }),
);

test('2,000+ mutated metadata resources give a tree or a FormatError', async () => {
  let errors = 0;
  let ok = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), async (mutations) => {
      const bytes = Uint8Array.from(wimBytes);
      const view = new DataView(bytes.buffer);
      for (const m of mutations) {
        if (m.kind === 'bytes') bytes.set(m.values.subarray(0, metaSize - (m.at % metaSize)), metaOffset + (m.at % metaSize));
        else if (m.kind === 'u64') {
          const at = metaOffset + (m.at % Math.floor(metaSize / 8)) * 8;
          view.setBigUint64(at, BigInt(m.value), true);
        } else {
          const at = metaOffset + (m.at % (metaSize - 1));
          view.setUint16(at, m.value, true);
        }
      }
      const started = Date.now();
      try {
        await exercise(bytes);
        ok++;
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        errors++;
      }
      assert.ok(Date.now() - started < 2000, 'each case is quick');
    }),
    { numRuns: 2500, seed: 20240611 },
  );
  assert.ok(errors > 0 && ok > 0, `both outcomes occur (${ok} ok, ${errors} errors)`);
});

test('random bytes as a metadata resource give a tree or a FormatError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      try {
        parseMetadataResource(bytes);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    }),
    { numRuns: 2000, seed: 20261122 },
  );
});

test('a subdirectory offset pointing at its own parent is a loop error', () => {
  const meta = Uint8Array.from(wimBytes.subarray(metaOffset, metaOffset + metaSize));
  const parsed = parseMetadataResource(meta);
  const d1 = parsed.root.children.find((c) => c.name === 'd1');
  assert.ok(d1);
  // Point d1's children list back at the root's children list.
  new DataView(meta.buffer).setBigUint64(d1.offset + 0x10, BigInt(parsed.root.subdirOffset), true);
  assert.throws(
    () => parseMetadataResource(meta),
    (e: FormatError) => e.code === 'DF_WIM_DENTRY_LOOP',
  );
});
