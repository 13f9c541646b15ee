// Feeds mutated and truncated copies of a real file to `deployforge inspect` (the CLI, in
// process, on real files) and checks the contract: exit 0 (the damage missed anything that
// matters) or exit 3 with exactly one line on stderr naming a DF_ code — never a crash (exit 1),
// a hang or another exit code.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { runCliCaptured } from './cli.js';
import { makeTempDir } from './corpus.js';
import { type FixtureKind, makeFixture } from './fixtures.js';

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

/** Declares one fuzz test per fixture kind: RUNS (default 1,000; DEPLOYFORGE_FUZZ_RUNS)
 *  mutated or truncated files through `deployforge inspect`. */
export function defineInspectFuzzSuite(kinds: FixtureKind[], seedBase: number): void {
  const runs = Number(process.env.DEPLOYFORGE_FUZZ_RUNS ?? 1000);
  describe('inspect survives malformed input', () => {
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;
    before(async () => {
      tmp = await makeTempDir('deployforge-fuzz-');
    });
    after(async () => {
      await tmp.cleanup();
    });
    for (const [i, kind] of kinds.entries()) {
      test(`${kind}: ${runs} mutated or truncated files give exit 0 or a one-line exit-3 error`, async () => {
        const seedFile = await makeFixture(kind, tmp.path);
        const outcome = await fuzzInspect(seedFile, tmp.path, runs, seedBase + i);
        assert.equal(outcome.runs, runs);
        // The mutations must break things often, or the test proves little. A transaction log is
        // read up to its first bad entry by design, so most damage there is reported, not refused.
        const share = kind === 'hive-log' ? 0.02 : 0.1;
        assert.ok(outcome.rejected > runs * share, `only ${outcome.rejected} of ${runs} variants were rejected`);
      });
    }
  });
}
