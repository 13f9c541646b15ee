// Hostile-input fuzzing: random byte overwrites and truncations of real corpus hives and logs
// must open and fully walk (every key, value and data byte) or fail with a DeployForgeError,
// never another exception and never a hang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { openHive } from './hive.js';
import { summarizeHive } from './summary.js';
import { summarizeTransactionLog } from './transaction-log.js';
import { walkKeys } from './walk.js';

function load(rel: string): Uint8Array {
  const path = corpusPath(rel);
  // Fuzz inputs are small; decompressing synchronously keeps the property body simple.
  const b = rel.endsWith('.xz') ? execFileSync('xz', ['-dc', path], { maxBuffer: 64 << 20 }) : readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Everything a consumer can ask of a hive. */
function exerciseHive(bytes: Uint8Array): void {
  const hive = openHive(bytes, 'fuzzed');
  summarizeHive(hive);
  for (const key of walkKeys(hive)) {
    void key.name;
    void key.lastWritten;
    void key.className;
    void key.securityDescriptor;
    for (const value of key.values()) {
      void value.typeName;
      void value.data;
    }
    key.value('');
    key.subkey('a');
  }
}

function expectOnlyOurErrors(run: () => void): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof DeployForgeError)) throw e;
  }
}

const HIVES = [
  'registry/hivex/special',
  'registry/python-registry/UNICODE_TESTS',
  'registry/plaso/100_sub_keys.hiv',
  'registry/bcd/windeploy-linux_BCD-efi',
  'registry/regipy/SECURITY.xz',
  'registry/regipy/BCD.xz',
  'registry/plaso/NTUSER.DAT',
];

const mutation = (size: number) =>
  fc.record({
    writes: fc.array(fc.record({ at: fc.nat({ max: size - 1 }), byte: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 24 }),
    // Most runs keep the full length; some cut the file short.
    cut: fc.option(fc.nat({ max: size }), { freq: 4 }),
  });

function mutate(original: Uint8Array, m: { writes: { at: number; byte: number }[]; cut: number | null }): Uint8Array {
  const bytes = original.slice(0, m.cut ?? original.length);
  for (const w of m.writes) if (w.at < bytes.length) bytes[w.at] = w.byte;
  return bytes;
}

test('mutated and truncated corpus hives open and walk completely or throw a DeployForgeError', { skip: !hasCorpus() && 'corpus not found' }, () => {
  for (const rel of HIVES) {
    const original = load(rel);
    exerciseHive(original);
    // Bias writes toward the structures (header, first cells) where damage is most interesting.
    const focus = Math.min(original.length, 4096 + 8192);
    fc.assert(
      fc.property(mutation(focus), (m) => expectOnlyOurErrors(() => exerciseHive(mutate(original, m)))),
      { numRuns: 250, seed: 0x5eed + rel.length },
    );
    fc.assert(
      fc.property(mutation(original.length), (m) => expectOnlyOurErrors(() => exerciseHive(mutate(original, m)))),
      { numRuns: 150, seed: 0xbeef + rel.length },
    );
  }
});

test('every truncation length of a small hive is handled', { skip: !hasCorpus() && 'corpus not found' }, () => {
  const original = load('registry/hivex/special');
  for (let cut = 0; cut <= original.length; cut += 7) expectOnlyOurErrors(() => exerciseHive(original.subarray(0, cut)));
});

test('mutated transaction logs summarize or throw a DeployForgeError', { skip: !hasCorpus() && 'corpus not found' }, () => {
  for (const rel of ['registry/plaso/ntuser.dat.LOG', 'registry/regipy/transactions_ntuser.dat.log2.xz']) {
    const original = load(rel);
    fc.assert(
      fc.property(mutation(Math.min(original.length, 2048)), (m) => expectOnlyOurErrors(() => summarizeTransactionLog(mutate(original, m)))),
      { numRuns: 200, seed: 0x106 },
    );
  }
});

test('a self-referencing subkey list is reported as corruption, not followed forever', { skip: !hasCorpus() && 'corpus not found' }, () => {
  const bytes = load('registry/plaso/100_sub_keys.hiv').slice();
  const hive = openHive(bytes);
  const child = hive.root.subkeys()[0];
  // Point the root's whole subkey list at a list that holds the root itself.
  const rootOffset = hive.header.rootCellOffset;
  const listOffset = hive.root.record.subkeyListOffset;
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const listFile = 4096 + listOffset + 4;
  dv.setUint32(listFile + 4, rootOffset, true);
  assert.ok(child);
  const damaged = openHive(bytes);
  assert.throws(
    () => [...walkKeys(damaged)],
    (e: unknown) => e instanceof DeployForgeError && e.code === 'DF_HIVE_KEY_CYCLE',
  );
});
