// Hostile-input fuzzing of the hive checker: thousands of corpus hives damaged by random bytes,
// boundary dwords and truncation must each get a report (never an exception, never an internal
// checker failure), and the reader must either read them fully or throw a DeployForgeError.
// It does not judge whether each report is complete; check.test.ts covers specific damage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { checkHive, formatCheckReport } from './check.js';
import { openHive } from './hive.js';
import { walkKeys } from './walk.js';

async function load(rel: string): Promise<Uint8Array> {
  const path = corpusPath(rel);
  if (path.endsWith('.xz')) {
    const { stdout } = await runTool('xz', ['-dc', path], { binary: true, maxBuffer: 64 * 1024 * 1024 });
    return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
  }
  const { readFile } = await import('node:fs/promises');
  const b = await readFile(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads everything the reader offers; true when it got through without an error. */
function readFully(bytes: Uint8Array): boolean {
  try {
    const hive = openHive(bytes, 'fuzzed');
    for (const key of walkKeys(hive)) {
      void key.className;
      void key.securityDescriptor;
      for (const value of key.values()) void value.data;
    }
    return true;
  } catch (e) {
    if (e instanceof DeployForgeError) return false;
    throw e;
  }
}

// Values that sit on the edges of what size, offset and count fields may hold.
const EDGE_DWORDS = [0, 1, 4, 8, 0x20, 0xfff, 0x1000, 0x3fd8, 0x7fffffff, 0x80000000, 0x80000004, 0xfffffff8, 0xfffffffc, 0xffffffff];

type Write = { at: number; byte: number } | { at: number; dword: number };

const mutation = (size: number) =>
  fc.record({
    writes: fc.array(
      fc.oneof(
        fc.record({ at: fc.nat({ max: size - 1 }), byte: fc.nat({ max: 255 }) }),
        fc.record({ at: fc.nat({ max: (size >> 2) - 1 }).map((n) => n * 4), dword: fc.constantFrom(...EDGE_DWORDS) }),
      ),
      { minLength: 1, maxLength: 16 },
    ),
    cut: fc.option(fc.nat({ max: size }), { freq: 6 }),
  });

function mutate(original: Uint8Array, m: { writes: Write[]; cut: number | null }): Uint8Array {
  const bytes = original.slice(0, m.cut ?? original.length);
  const view = new DataView(bytes.buffer);
  for (const w of m.writes) {
    if ('byte' in w) {
      if (w.at < bytes.length) bytes[w.at] = w.byte;
    } else if (w.at + 4 <= bytes.length) view.setUint32(w.at, w.dword, true);
  }
  return bytes;
}

let runs = 0;
let passed = 0;
let readable = 0;

function checkOne(bytes: Uint8Array): void {
  runs++;
  const report = checkHive(bytes, { maxProblems: 200 });
  const internal = report.problems.find((p) => p.code === 'DF_CHECK_INTERNAL');
  assert.equal(internal, undefined, formatCheckReport(report));
  assert.ok(report.problems.length <= 200);
  if (!report.truncated) assert.equal(report.ok, !report.problems.some((p) => p.severity === 'error'));
  const read = readFully(bytes);
  // The checker is at least as strict as the reader: a hive it passes must read completely.
  if (report.ok) assert.ok(read, `checker passed a hive the reader rejects:\n${formatCheckReport(report)}`);
  if (report.ok) passed++;
  if (read) readable++;
}

// Small hives take most runs so the whole file stays well under a minute.
const SMALL = [
  'registry/hivex/special',
  'registry/hivex/rlenvalue_test_hive',
  'registry/python-registry/UNICODE_TESTS',
  'registry/plaso/100_sub_keys.hiv',
  'registry/bcd/windeploy-linux_BCD-efi',
  'registry/regipy/SECURITY.xz',
  'registry/regipy/BCD.xz',
];

// The timeout only turns a hang into a failure; the run normally takes a few seconds.
test(
  'mutated corpus hives always get a report, and the reader reads them or throws a DeployForgeError',
  { skip: !hasCorpus() && 'corpus not found', timeout: 300_000 },
  async () => {
    for (const rel of SMALL) {
      const original = await load(rel);
      // Damage concentrated on the base block and first bins, where every structure starts …
      const focus = Math.min(original.length, 4096 + 8192);
      fc.assert(
        fc.property(mutation(focus), (m) => checkOne(mutate(original, m))),
        { numRuns: 450, seed: 0xc0ffee + rel.length },
      );
      // … and spread over the whole file.
      fc.assert(
        fc.property(mutation(original.length), (m) => checkOne(mutate(original, m))),
        { numRuns: 300, seed: 0xfacade + rel.length },
      );
    }
    const large = await load('registry/plaso/NTUSER.DAT');
    fc.assert(
      fc.property(mutation(large.length), (m) => checkOne(mutate(large, m))),
      { numRuns: 60, seed: 0x1a46e },
    );
    assert.ok(runs >= 5000, `${runs} runs`);
    // Both outcomes must be common, or the property above would test nothing.
    assert.ok(passed > 200 && runs - passed > 2000 && readable > passed, `${runs} runs, ${passed} passed the checker, ${readable} read fully`);
    console.log(`# ${runs} mutated hives: ${passed} passed the checker, ${readable} read fully`);
  },
);

test('every truncation length of a small hive gets a report', { skip: !hasCorpus() && 'corpus not found' }, async () => {
  const original = await load('registry/hivex/special');
  for (let cut = 0; cut <= original.length; cut += 4) {
    const report = checkHive(original.subarray(0, cut));
    assert.equal(report.ok, cut === original.length, `cut at ${cut}`);
    assert.ok(!report.problems.some((p) => p.code === 'DF_CHECK_INTERNAL'));
  }
});

test('hostile inputs that are not hives at all get a report', () => {
  for (const bytes of [new Uint8Array(0), new Uint8Array(3), new TextEncoder().encode('regf'), new Uint8Array(4096), new Uint8Array(4096 + 4096).fill(0xff)]) {
    const report = checkHive(bytes);
    assert.equal(report.ok, false);
    assert.ok(report.problems.length > 0 && !report.problems.some((p) => p.code === 'DF_CHECK_INTERNAL'), formatCheckReport(report));
  }
});
