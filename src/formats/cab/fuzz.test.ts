// Fuzzes the cabinet readers with fast-check: random byte overwrites (mostly in the header,
// folder and file tables) and truncations of real gcab cabinets. Every variant must parse or
// fail with a DeployForgeError, within a time limit; extraction and readMsu run on survivors.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { DeployForgeError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { readCabFile } from './extract.js';
import { readCab } from './read-cab.js';
import { readMsu } from './read-msu.js';
import { combineGcabCabinets, type FixtureFile, makeCab, makeTempDir, patternBytes } from './test-fixtures.js';

const when = new Date('2020-01-02T03:04:06Z');

interface Base {
  bytes: Uint8Array;
  /** End of the file table: where CFDATA starts. */
  tablesEnd: number;
  /** Offsets of each CFDATA checksum, to zero them so damage reaches the inflater. */
  checksumAt: number[];
}

async function describeBase(path: string): Promise<Base> {
  const bytes = new Uint8Array(await readFile(path));
  const info = await readCab(new BufferSource(bytes));
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const checksumAt: number[] = [];
  for (const folder of info.folders) {
    let at = folder.firstDataOffset;
    for (let i = 0; i < folder.dataBlocks; i++) {
      checksumAt.push(at);
      at += 8 + info.reserve.data + dv.getUint16(at + 4, true);
    }
  }
  return {
    bytes,
    tablesEnd: Math.min(...info.folders.map((f) => f.firstDataOffset)),
    checksumAt,
  };
}

/** Parses, extracts every file and reads it as an MSU; only DeployForgeErrors may escape. */
async function exercise(bytes: Uint8Array, counts?: { extracted: number }): Promise<'ok' | 'rejected'> {
  try {
    const source = new BufferSource(bytes, 'fuzz.cab');
    const info = await readCab(source);
    for (const file of info.files) {
      try {
        await readCabFile(source, info, file.name, { maxBytes: 1 << 20 });
        if (counts) counts.extracted++;
      } catch (error) {
        if (!(error instanceof DeployForgeError)) throw error;
      }
    }
    await readMsu(source, { maxNestedBytes: 1 << 20 });
    return 'ok';
  } catch (error) {
    if (error instanceof DeployForgeError) return 'rejected';
    throw error;
  }
}

describe('cabinet readers under fuzzing', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const bases: Base[] = [];

  before(async () => {
    tmp = await makeTempDir('fuzz');
    const files: FixtureFile[] = [
      {
        path: 'a.txt',
        bytes: new TextEncoder().encode('alpha\n'),
        mtime: when,
      },
      { path: 'dir/sub/b.bin', bytes: patternBytes(40_000, 1), mtime: when },
      { path: 'dir/ç.txt', bytes: patternBytes(300, 2), mtime: when },
      { path: 'empty', bytes: new Uint8Array(0), mtime: when },
    ];
    const zipped = await makeCab(tmp.dir, 'zipped', files, { mszip: true });
    const stored = await makeCab(tmp.dir, 'stored', files, { mszip: false });
    const nested = await makeCab(
      tmp.dir,
      'nested',
      [
        { path: 'inner.cab', bytes: await readFile(zipped), mtime: when },
        {
          path: 'update.xml',
          bytes: new TextEncoder().encode('<x/>'),
          mtime: when,
        },
      ],
      { mszip: true },
    );
    for (const path of [zipped, stored, nested]) bases.push(await describeBase(path));
    // Reserved areas and set links exercise the optional header fields too.
    const joined = combineGcabCabinets(
      [await readFile(zipped), await readFile(stored)].map((b) => new Uint8Array(b)),
      {
        reserve: { header: 8, folder: 2, data: 3 },
        previous: { cabinet: 'a.cab', disk: 'A' },
        next: { cabinet: 'c.cab', disk: 'C' },
      },
    );
    const joinedPath = join(tmp.dir, 'joined.cab');
    await writeFile(joinedPath, joined);
    bases.push(await describeBase(joinedPath));
  });
  after(() => tmp.cleanup());

  test('mutated cabinets parse or fail with a DeployForgeError, never anything else', async () => {
    const outcomes = { ok: 0, rejected: 0, extracted: 0 };
    const mutation = fc.record({
      // Four in five writes land in the header, folder and file tables.
      inTables: fc.integer({ min: 0, max: 4 }).map((n) => n < 4),
      position: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.boolean(), async (which, writes, zeroChecksums) => {
        const base = bases[which];
        const bytes = base.bytes.slice();
        if (zeroChecksums) for (const at of base.checksumAt) bytes.fill(0, at, at + 4);
        for (const w of writes) {
          const span = w.inTables ? base.tablesEnd : bytes.length;
          bytes[w.position % span] = w.value;
        }
        outcomes[await exercise(bytes, outcomes)]++;
      }),
      { numRuns: 1000, seed: 20261122, timeout: 5000, markInterruptAsFailure: true },
    );
    // A fuzzer that rejects everything or nothing is not exploring both paths.
    assert.ok(outcomes.ok > 20 && outcomes.rejected > 20 && outcomes.extracted > 20, JSON.stringify(outcomes));
  });

  test('truncated cabinets, with or without a matching size field, fail cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), fc.nat(), fc.boolean(), async (which, cut, fixSize) => {
        const base = bases[which];
        const bytes = base.bytes.slice(0, cut % base.bytes.length);
        if (fixSize && bytes.length >= 12) new DataView(bytes.buffer).setUint32(8, bytes.length, true);
        const outcome = await exercise(bytes);
        // With its size field intact, a cut cabinet must be refused outright; with the field
        // patched the tables may survive, and then only extraction of lost files may fail.
        if (!fixSize) assert.equal(outcome, 'rejected');
      }),
      { numRuns: 400, seed: 20261123, timeout: 5000, markInterruptAsFailure: true },
    );
  });
});
