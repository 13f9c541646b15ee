// Feeds mutated and truncated copies of the real corpus VHDs and VHDXs to openVirtualDisk, then
// reads the first sectors and the partition table through the result: every outcome must be a
// value or a DeployForgeError, and every run must finish. Mutations cluster on the footer,
// headers, region tables, metadata, BAT and log, and checksums are sometimes recomputed so the
// damage reaches the structures behind them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { u32be, u32le, u64be, u64le } from '../../util/binary.js';
import { readPartitionTable } from '../disk/index.js';
import { crc32c } from './crc32c.js';
import { openVirtualDisk } from './index.js';
import { PatchedSource } from './test-fixtures.js';
import { vhdChecksum } from './vhd-footer.js';

type Span = [offset: number, length: number];
type Fixer = (view: (offset: number, length: number) => Uint8Array, set: (offset: number, value: number) => void) => void;

function load(path: string): Uint8Array {
  const bytes = readFileSync(corpusPath(path));
  return path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

function vhdSpots(b: Uint8Array): { spans: Span[]; fix: Fixer } {
  const size = b.length;
  const spans: Span[] = [
    [size - 512, 512],
    [0, 512],
  ];
  const dynamic = u32be(b, size - 512 + 60) !== 2;
  let headerAt = -1;
  if (dynamic) {
    headerAt = u64be(b, size - 512 + 16);
    const table = u64be(b, headerAt + 16);
    spans.push([headerAt, 1024], [table, Math.min(4096, u32be(b, headerAt + 28) * 4)], [table + 4096, 1024]);
  }
  const fix: Fixer = (view, set) => {
    const put = (at: number, value: number) =>
      [24, 16, 8, 0].forEach((shift, i) => {
        set(at + i, (value >>> shift) & 0xff);
      });
    put(size - 512 + 64, vhdChecksum(view(size - 512, 512), 64));
    if (dynamic) {
      put(64, vhdChecksum(view(0, 512), 64));
      put(headerAt + 36, vhdChecksum(view(headerAt, 1024), 36));
    }
  };
  return { spans, fix };
}

function vhdxSpots(b: Uint8Array): { spans: Span[]; fix: Fixer } {
  const K = 1024;
  const spans: Span[] = [
    [0, 520],
    [64 * K, 80],
    [128 * K, 80],
    [192 * K, 16 + 32 * 3],
    [256 * K, 16 + 32 * 3],
  ];
  for (let i = 0; i < u32le(b, 192 * K + 8); i++) {
    const o = 192 * K + 16 + i * 32;
    const offset = u64le(b, o + 16);
    spans.push([offset, 32 + 32 * 8], [offset + 64 * K, 1024]);
  }
  const logOffset = u64le(b, 128 * K + 72);
  spans.push([logOffset, 4096]);
  const fix: Fixer = (view, set) => {
    const put = (at: number, value: number) =>
      [0, 8, 16, 24].forEach((shift, i) => {
        set(at + i, (value >>> shift) & 0xff);
      });
    for (const [at, length] of [
      [64 * K, 4 * K],
      [128 * K, 4 * K],
      [192 * K, 64 * K],
      [256 * K, 64 * K],
    ]) {
      const copy = Uint8Array.from(view(at, length));
      copy.fill(0, 4, 8);
      put(at + 4, crc32c(copy));
    }
  };
  return { spans, fix };
}

const mutation = fc.record({
  spot: fc.nat(),
  position: fc.nat(),
  value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x80, 0x7f, 1)),
});
const variant = fc.record({
  mutations: fc.array(mutation, { minLength: 1, maxLength: 12 }),
  // One variant in four is truncated, at a uniformly chosen fraction of the file.
  truncateTo: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 1_000_000), weight: 1 }),
  fixChecksums: fc.boolean(),
  ignoreChecksums: fc.boolean(),
  readAt: fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 1_000_000),
});

function runFuzz(label: string, paths: string[], spotsOf: (b: Uint8Array) => { spans: Span[]; fix: Fixer }, numRuns: number): void {
  test(`${label}: ${numRuns} mutated or truncated real images open, read and partition, or fail with a DeployForgeError`, { timeout: 60_000 }, async () => {
    const inputs = paths.map((path) => {
      const bytes = load(path);
      return { bytes, spots: spotsOf(bytes) };
    });
    let opened = 0;
    let failed = 0;
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat(inputs.length - 1), variant, async (which, v) => {
        const { bytes, spots } = inputs[which];
        const patches = new Map<number, number>();
        for (const m of v.mutations) {
          // One in five mutations lands anywhere; the rest hit the structures that matter.
          const [start, length] = m.spot % 5 === 4 ? [0, bytes.length] : spots.spans[m.spot % spots.spans.length];
          const at = start + (m.position % Math.max(1, length));
          if (at < bytes.length) patches.set(at, m.value);
        }
        if (v.fixChecksums) {
          const view = (offset: number, length: number) => {
            const out = Uint8Array.from(bytes.subarray(offset, offset + length));
            for (const [at, value] of patches) if (at >= offset && at < offset + length) out[at - offset] = value;
            return out;
          };
          spots.fix(view, (at, value) => patches.set(at, value));
        }
        const size = v.truncateTo === null ? bytes.length : Math.floor(bytes.length * v.truncateTo);
        const source = new PatchedSource(bytes, patches, size);
        try {
          const disk = await openVirtualDisk(source, { ignoreChecksums: v.ignoreChecksums });
          opened++;
          await disk.read(0, Math.min(4096, disk.virtualSize));
          const at = Math.floor((disk.virtualSize - 1) * v.readAt);
          await disk.read(at, Math.min(65536, disk.virtualSize - at));
          await readPartitionTable(disk.asSource());
        } catch (error) {
          failed++;
          if (process.env.DF_FUZZ_VERBOSE) codes.set((error as DeployForgeError).code, (codes.get((error as DeployForgeError).code) ?? 0) + 1);
          if (!(error instanceof DeployForgeError)) throw error;
        }
      }),
      { numRuns, seed: 20240611 },
    );
    if (process.env.DF_FUZZ_VERBOSE) console.log(label, { opened, failed }, codes);
    // The fuzzer must reach both outcomes, or it is not testing what it claims.
    assert.ok(opened > numRuns / 20, `only ${opened} variants opened`);
    assert.ok(failed > numRuns / 20, `only ${failed} variants failed`);
  });
}

describe('fuzzing the virtual disk readers', { skip: !hasCorpus() }, () => {
  runFuzz('VHD', ['vhd/dissect/dynamic.vhd.gz', 'vhd/dissect/fixed.vhd.gz', 'vhd/plaso/image.vhd'], vhdSpots, 2000);
  runFuzz('VHDX', ['vhd/dissect/fixed.vhdx.gz', 'vhd/dissect/dynamic.vhdx.gz', 'vhd/dissect/differencing.avhdx.gz'], vhdxSpots, 2000);
});
