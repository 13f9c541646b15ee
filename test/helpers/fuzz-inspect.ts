// Feeds mutated and truncated copies of a real file to `deployforge inspect` (the CLI, in
// process, on real files) and checks the contract: exit 0 (the damage missed anything that
// matters) or exit 3 with exactly one line on stderr naming a DF_ code — never a crash (exit 1),
// a hang or another exit code.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { runCliCaptured } from './cli.js';

export interface FuzzOutcome {
  runs: number;
  rejected: number;
  accepted: number;
}

/** Offsets biased toward where formats keep their structures: the first 64 KiB, the ISO volume
 *  descriptors at 32 KiB, the last 64 KiB (VHD footers, WIM XML) and anywhere else. */
function offsetArb(size: number): fc.Arbitrary<number> {
  const clamp = (n: number) => Math.max(0, Math.min(size - 1, n));
  return fc.oneof(
    fc.integer({ min: 0, max: Math.min(size, 65536) - 1 }),
    fc.integer({ min: 32768, max: 40959 }).map(clamp),
    fc.integer({ min: Math.max(0, size - 65536), max: size - 1 }),
    fc.integer({ min: 0, max: size - 1 }),
  );
}

export async function fuzzInspect(seedPath: string, dir: string, runs: number, seed: number): Promise<FuzzOutcome> {
  const original = new Uint8Array(await readFile(seedPath));
  const size = original.length;
  const mutation = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('bytes' as const), edits: fc.array(fc.tuple(offsetArb(size), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: fc.oneof(fc.integer({ min: 0, max: Math.min(size, 70000) }), fc.integer({ min: 0, max: size - 1 })) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('words' as const),
        edits: fc.array(fc.tuple(offsetArb(size), fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 1, size, size + 1)), { minLength: 1, maxLength: 4 }),
      }),
    },
  );
  const outcome: FuzzOutcome = { runs: 0, rejected: 0, accepted: 0 };
  const path = join(dir, `fuzz-${seed}.bin`);
  await fc.assert(
    fc.asyncProperty(mutation, async (m) => {
      let bytes: Uint8Array;
      if (m.kind === 'truncate') bytes = original.slice(0, m.length);
      else {
        bytes = original.slice();
        const view = new DataView(bytes.buffer);
        for (const [offset, value] of m.edits) {
          if (m.kind === 'bytes') bytes[offset] = value;
          else if (offset + 4 <= bytes.length) view.setUint32(offset, value, true);
        }
      }
      await writeFile(path, bytes);
      const run = await withTimeout(runCliCaptured(['inspect', '--json', path]), 20_000);
      outcome.runs++;
      if (run.code === 0) {
        outcome.accepted++;
        JSON.parse(run.stdout);
        return;
      }
      outcome.rejected++;
      assert.equal(run.code, 3, `exit ${run.code}: ${run.stderr}`);
      const lines = run.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
      assert.match(JSON.parse(lines[0]).error.code, /^DF_/);
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  await rm(path, { force: true });
  return outcome;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`inspect did not finish within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
