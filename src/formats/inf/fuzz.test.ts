// Fuzzes parseInf and describeDriver with fast-check over every corpus INF/INX: byte flips,
// truncation, inserted INF metacharacters (quotes, backslashes, percent signs, semicolons,
// brackets, line breaks), huge lines and re-encodings. Parsing must return or throw a
// DeployForgeError, quickly; describing a parsed file must never throw.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { describeDriver, INF_ARCHITECTURES } from './driver.js';
import { INF_MAX_LINE, parseInf } from './parse.js';

const METACHARACTERS = ['"', '""', '\\', '\\\n', '%', '%%', '%VENDOR%', ';', '[', ']', '=', ',', '\n', '\r', '\r\n', '$ARCH$', '\0', '\u00e9', '\ufeff'];
/** Far below the limits, so only a hang or a blow-up could break it. */
const SLOW_MS = 1000;

interface Outcome {
  ok: number;
  rejected: number;
  slowest: number;
}

/** Parses and, if that works, describes for every architecture; only DeployForgeErrors may escape parsing. */
function exercise(bytes: Uint8Array, outcome: Outcome): void {
  const started = performance.now();
  try {
    const inf = parseInf(bytes, 'fuzz.inf');
    describeDriver(inf);
    for (const arch of INF_ARCHITECTURES) describeDriver(inf, { stampArchitecture: arch, osVersion: { major: 10, minor: 0, build: 19045 } });
    outcome.ok++;
  } catch (error) {
    if (!(error instanceof DeployForgeError)) throw error;
    assert.equal(error.kind, 'input');
    outcome.rejected++;
  }
  const elapsed = performance.now() - started;
  outcome.slowest = Math.max(outcome.slowest, elapsed);
  assert.ok(elapsed < SLOW_MS, `took ${elapsed.toFixed(0)} ms`);
}

function insert(base: Uint8Array, at: number, piece: Uint8Array): Uint8Array {
  const cut = at % (base.length + 1);
  const out = new Uint8Array(base.length + piece.length);
  out.set(base.subarray(0, cut));
  out.set(piece, cut);
  out.set(base.subarray(cut), cut + piece.length);
  return out;
}

function utf16le(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    out[2 + i * 2] = text.charCodeAt(i) & 0xff;
    out[3 + i * 2] = text.charCodeAt(i) >> 8;
  }
  return out;
}

describe('INF parser under fuzzing', { skip: !hasCorpus() && 'no corpus' }, () => {
  const bases: Uint8Array[] = [];
  const encoder = new TextEncoder();

  before(async () => {
    const folder = corpusPath('inf/virtio-win');
    for (const name of (await readdir(folder)).filter((n) => /\.in[fx]$/i.test(n)).sort()) {
      const text = await readFile(`${folder}/${name}`, 'utf8');
      bases.push(encoder.encode(text));
      bases.push(utf16le(text));
    }
  });

  test('byte flips parse or fail with a DeployForgeError', () => {
    const outcome: Outcome = { ok: 0, rejected: 0, slowest: 0 };
    const write = fc.record({ position: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.nat(), fc.array(write, { minLength: 1, maxLength: 16 }), (which, writes) => {
        const bytes = bases[which % bases.length].slice();
        for (const w of writes) bytes[w.position % bytes.length] = w.value;
        exercise(bytes, outcome);
      }),
      { numRuns: 1000, seed: 20260801 },
    );
    assert.ok(outcome.ok > 100 && outcome.rejected > 10, JSON.stringify(outcome));
  });

  test('truncated files parse or fail with a DeployForgeError', () => {
    const outcome: Outcome = { ok: 0, rejected: 0, slowest: 0 };
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (which, cut) => {
        const base = bases[which % bases.length];
        exercise(base.subarray(0, cut % (base.length + 1)), outcome);
      }),
      { numRuns: 500, seed: 20260802 },
    );
    assert.ok(outcome.ok > 100, JSON.stringify(outcome));
  });

  test('inserted quotes, backslashes, percent signs and other INF metacharacters', () => {
    const outcome: Outcome = { ok: 0, rejected: 0, slowest: 0 };
    const piece = fc.oneof(
      fc.constantFrom(...METACHARACTERS),
      fc.array(fc.constantFrom(...METACHARACTERS), { minLength: 1, maxLength: 12 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.record({ at: fc.nat(), piece }), { minLength: 1, maxLength: 10 }), (which, inserts) => {
        let bytes: Uint8Array = bases[(which % (bases.length / 2)) * 2];
        for (const { at, piece: text } of inserts) bytes = insert(bytes, at, encoder.encode(text));
        exercise(bytes, outcome);
      }),
      { numRuns: 1500, seed: 20260803 },
    );
    assert.ok(outcome.ok > 100 && outcome.rejected > 10, JSON.stringify(outcome));
  });

  test('huge lines and huge values are refused or read, never slow', () => {
    const outcome: Outcome = { ok: 0, rejected: 0, slowest: 0 };
    const filler = fc.constantFrom('x', '%', '%VENDOR%', '\\\n', '"', ',', ' ', '%%', ';');
    fc.assert(
      fc.property(fc.nat(), fc.nat(), filler, fc.integer({ min: INF_MAX_LINE - 16, max: INF_MAX_LINE * 3 }), (which, at, unit, length) => {
        const base = bases[(which % (bases.length / 2)) * 2];
        const text = unit.repeat(Math.ceil(length / unit.length));
        exercise(insert(base, at, encoder.encode(text)), outcome);
      }),
      { numRuns: 200, seed: 20260804 },
    );
    assert.ok(outcome.rejected > 50, JSON.stringify(outcome));
  });

  test('random bytes and random text parse or fail with a DeployForgeError', () => {
    const outcome: Outcome = { ok: 0, rejected: 0, slowest: 0 };
    const inf = fc.array(fc.oneof(fc.constantFrom(...METACHARACTERS, '[Version]\n', '[Manufacturer]\n', '[Strings]\n', 'CopyFiles=', 'NTamd64'), fc.string()), { maxLength: 60 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 4000 }),
          inf.map((parts) => encoder.encode(parts.join(''))),
        ),
        (bytes) => {
          exercise(bytes, outcome);
        },
      ),
      { numRuns: 1000, seed: 20260805 },
    );
    assert.ok(outcome.ok > 100, JSON.stringify(outcome));
  });
});
