// streamHiveExport against the general export path (exportHiveEntries → streamRegFile,
// which reg-export.test.ts holds to hivexregedit): the same bytes for every corpus hive, for
// random hives with awkward names and data, and for mutated hives, where both must fail with a
// DeployForgeError or both give the same bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { buildHive, type HiveTreeKey, type HiveTreeValue, RegType, regDword, regSz } from './build-hive.js';
import { openHive } from './hive.js';
import { exportHiveEntries } from './reg-export.js';
import { type StreamHiveExportOptions, streamHiveExport, utf8Of } from './reg-export-stream.js';
import { streamRegFile } from './reg-file.js';
import { listFiles, loadCorpusFile } from './test-oracles.js';

type Outcome = { bytes: Buffer } | { error: string };

async function general(bytes: Uint8Array, options: StreamHiveExportOptions = {}): Promise<Outcome> {
  try {
    const chunks: Uint8Array[] = [];
    await streamRegFile(exportHiveEntries(openHive(bytes, 'h'), options), async (c) => void chunks.push(c.slice()), { encoding: options.encoding ?? 'utf16le' });
    return { bytes: Buffer.concat(chunks) };
  } catch (e) {
    if (!(e instanceof DeployForgeError)) throw e;
    return { error: e.code };
  }
}

async function fast(bytes: Uint8Array, options: StreamHiveExportOptions = {}): Promise<Outcome> {
  try {
    const chunks: Uint8Array[] = [];
    // Like a file write, the chunk is read only later, when the write ends: the exporter must not
    // touch it before then (it reuses the buffer after that).
    await streamHiveExport(
      openHive(bytes, 'h'),
      async (c) => {
        await new Promise(setImmediate);
        chunks.push(c.slice());
      },
      options,
    );
    return { bytes: Buffer.concat(chunks) };
  } catch (e) {
    if (!(e instanceof DeployForgeError)) throw e;
    return { error: e.code };
  }
}

/** Same bytes, or both refused (the codes may differ when a hive has several faults: the two
 *  paths meet them in different orders). */
function assertAgree(a: Outcome, b: Outcome, what: string): void {
  if ('bytes' in a && 'bytes' in b) {
    if (!a.bytes.equals(b.bytes)) {
      let i = 0;
      while (a.bytes[i] === b.bytes[i]) i++;
      assert.fail(
        `${what}: outputs differ at byte ${i}: ${JSON.stringify(a.bytes.subarray(Math.max(0, i - 40), i + 20).toString('utf16le'))} vs ${JSON.stringify(b.bytes.subarray(Math.max(0, i - 40), i + 20).toString('utf16le'))}`,
      );
    }
    return;
  }
  assert.ok('error' in a && 'error' in b, `${what}: one path exported (${JSON.stringify('error' in a ? a : b)}) and the other did not`);
}

const sz = (text: string) => regSz(text);
const utf16 = (text: string) => new Uint8Array(Buffer.from(text, 'utf16le'));

describe('streamHiveExport', () => {
  test('gives the general path’s bytes for every corpus hive, whole and from a key, with and without a prefix', { skip: !hasCorpus() && 'corpus not found' }, async () => {
    const tmp = await makeTempDir('df-regexp-');
    let exported = 0;
    for (const file of listFiles(corpusPath('registry'))) {
      let bytes: Uint8Array;
      try {
        bytes = (await loadCorpusFile(file, tmp.path)).bytes;
      } catch {
        continue; // not a file we can load (notes, licences)
      }
      for (const prefix of [undefined, 'HKEY_LOCAL_MACHINE\\TEST']) {
        for (const encoding of ['utf16le', 'utf8'] as const) {
          const a = await general(bytes, { prefix, encoding });
          assertAgree(a, await fast(bytes, { prefix, encoding }), `${file} (prefix ${prefix}, ${encoding})`);
          if ('bytes' in a) exported++;
        }
      }
      // From the first subkey of the root, when there is one.
      try {
        const first = openHive(bytes, 'h').root.subkeys()[0];
        if (first) assertAgree(await general(bytes, { keyPath: first.name }), await fast(bytes, { keyPath: first.name }), `${file} key ${first.name}`);
      } catch (e) {
        if (!(e instanceof DeployForgeError)) throw e;
      }
    }
    await tmp.cleanup();
    assert.ok(exported >= 40, `only ${exported} corpus exports compared`);
  });

  test('random hives: awkward names and string data, every type, big data, long subkey lists', async () => {
    // (Key names cannot hold a backslash or NUL; value names can hold a backslash.)
    const name = fc.oneof(
      fc.constantFrom('plain', 'Ünïcode', 'Ключ', '日本語', 'emoji😀', 'q"uote', '[brackets]', 'x'.repeat(255), 'ÿ'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !/[\\\0\r\n]/.test(s)),
    );
    const valueName = fc.oneof(name, fc.constant(''), fc.constantFrom('"', '\\', 'a"b\\c', 'C:\\path'));
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('', 'C:\\Windows\\"quoted"', 'line\r\nbreak', 'nul\0inside', '\ud800 lone high', 'lone low \udc00', 'pair 😀', 'end high \ud83d'),
    );
    const value: fc.Arbitrary<HiveTreeValue> = fc
      .tuple(
        valueName,
        fc.oneof(
          text.map((t) => ({ type: RegType.SZ, data: sz(t) })),
          text.map((t) => ({ type: RegType.SZ, data: utf16(t) })), // no terminating NUL: hex(1)
          fc
            .uint8Array({ maxLength: 9 })
            .map((data) => ({ type: RegType.SZ, data })), // odd sizes
          fc.nat().map((n) => ({ type: RegType.DWORD, data: regDword(n >>> 0) })),
          fc.uint8Array({ maxLength: 6 }).map((data) => ({ type: RegType.DWORD, data })),
          fc.tuple(fc.constantFrom(0, 2, 3, 5, 7, 11, 0x20001, 0xffffffff), fc.uint8Array({ maxLength: 200 })).map(([type, data]) => ({ type, data })),
          fc.integer({ min: 16_000, max: 40_000 }).map((n) => ({ type: RegType.BINARY, data: Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255) })),
        ),
      )
      .map(([n, v]) => ({ name: n, ...v }));
    const key: fc.Arbitrary<HiveTreeKey> = fc.letrec<{ key: HiveTreeKey }>((tie) => ({
      key: fc.record({
        name,
        values: fc.uniqueArray(value, { maxLength: 4, selector: (v) => v.name.toUpperCase() }),
        subkeys: fc.oneof(
          { weight: 3, arbitrary: fc.constant<HiveTreeKey[]>([]) },
          { weight: 2, arbitrary: fc.uniqueArray(tie('key'), { maxLength: 3, selector: (k) => k.name.toUpperCase() }) },
        ),
      }),
    })).key;
    await fc.assert(
      fc.asyncProperty(
        key,
        fc.option(fc.constantFrom('HKEY_CURRENT_USER', 'HKLM\\SOFTWARE\\'), { nil: undefined }),
        fc.constantFrom('utf16le', 'utf8') as fc.Arbitrary<'utf16le' | 'utf8'>,
        async (root, prefix, encoding) => {
          const bytes = buildHive(root);
          assertAgree(await general(bytes, { prefix, encoding }), await fast(bytes, { prefix, encoding }), `random hive (${encoding})`);
        },
      ),
      { numRuns: 150, seed: 0xe5907 },
    );
    // A key with 2,000 subkeys (an ri of leaves) and a value larger than an output chunk.
    const many = buildHive({
      name: 'ROOT',
      subkeys: [
        { name: 'Many', subkeys: Array.from({ length: 2000 }, (_, i) => ({ name: `Sub${i}`, values: [{ name: 'v', type: RegType.SZ, data: sz(`value ${i}`) }] })) },
        { name: 'Big', values: [{ name: 'blob', type: RegType.BINARY, data: Uint8Array.from({ length: 600_000 }, (_, i) => i & 255) }] },
      ],
    });
    const a = await general(many);
    assertAgree(a, await fast(many), 'many subkeys and a big value');
    assertAgree(await general(many, { encoding: 'utf8' }), await fast(many, { encoding: 'utf8' }), 'many subkeys and a big value, UTF-8');
    assert.ok('bytes' in a && a.bytes.length > 3_600_000, JSON.stringify('error' in a ? a : a.bytes.length));
  });

  test('values bigger than an output chunk amid many keys; a prefix longer than the path buffer; keys with empty names', async () => {
    const bytes = buildHive({
      name: 'ROOT',
      subkeys: [
        { name: 'A', values: [{ name: 'big', type: RegType.BINARY, data: Uint8Array.from({ length: 40_000 }, (_, i) => i & 255) }] },
        { name: 'B', subkeys: Array.from({ length: 3000 }, (_, i) => ({ name: `K${i}`, values: [{ name: 'v', type: RegType.SZ, data: sz(`value ${i}`) }] })) },
        {
          name: 'C',
          values: [
            { name: 'big2', type: RegType.BINARY, data: new Uint8Array(300_000).fill(7) },
            { name: 'after', type: RegType.DWORD, data: regDword(9) },
          ],
        },
        { name: 'D', subkeys: Array.from({ length: 500 }, (_, i) => ({ name: `L${i}` })) },
      ],
    });
    for (const options of [{}, { prefix: 'P'.repeat(5000) }, { prefix: 'HKLM\\X', keyPath: 'B' }, { encoding: 'utf8' as const }, { prefix: 'HKLM\\😀𝄞' }])
      assertAgree(await general(bytes, options), await fast(bytes, options), JSON.stringify(options).slice(0, 40));
    // A key whose name is empty: a path below it has no leading separator (RegistryKey.path).
    const named = buildHive({ name: 'ROOT', subkeys: [{ name: 'E', values: [{ name: 'a', type: RegType.DWORD, data: regDword(1) }], subkeys: [{ name: 'X' }] }] });
    const emptied = named.slice();
    const child = openHive(named).root.subkeys()[0].record.offset;
    new DataView(emptied.buffer).setUint16(4096 + child + 4 + 72, 0, true);
    for (const options of [{}, { prefix: 'HKLM' }]) {
      const a = await general(emptied, options);
      assert.ok('bytes' in a);
      assertAgree(a, await fast(emptied, options), `empty key name ${JSON.stringify(options)}`);
    }
  });

  test('utf8Of transcodes a chunk longer than one piece without splitting a surrogate pair', () => {
    // A pair straddles the 16 MiB piece boundary: its high half in the last unit of the piece.
    const text = `${'a'.repeat((1 << 23) - 1)}😀${'é'.repeat(1000)}\ud800 lone`;
    const chunk = new Uint8Array(Buffer.from(`\ufeff${text}`, 'utf16le'));
    // (equals, not deepEqual: a failure's diff of 16 MiB buffers would exhaust the heap)
    assert.ok(Buffer.from(utf8Of(chunk, 2)).equals(Buffer.from(text, 'utf8')), 'the transcoded chunk differs');
    assert.deepEqual(Buffer.from(utf8Of(chunk.subarray(0, 12), 0)), Buffer.from('\ufeffaaaaa', 'utf8'));
  });

  test('characters outside the BMP in the prefix and the start key', async () => {
    const bytes = buildHive({ name: 'ROOT', subkeys: [{ name: 'emoji😀', values: [{ name: 'v😀', type: RegType.SZ, data: sz('𝄞') }], subkeys: [{ name: 'sub𝄞' }] }] });
    for (const encoding of ['utf16le', 'utf8'] as const) {
      for (const options of [{ keyPath: 'emoji😀' }, { prefix: 'HKCU\\😀' }, { prefix: '😀', keyPath: 'EMOJI😀\\sub𝄞' }]) {
        const a = await general(bytes, { ...options, encoding });
        assert.ok('bytes' in a);
        assertAgree(a, await fast(bytes, { ...options, encoding }), `${JSON.stringify(options)} ${encoding}`);
      }
    }
  });

  test('a name with a line break is refused, as the general path refuses it', async () => {
    for (const root of [
      { name: 'ROOT', subkeys: [{ name: 'bad\nkey' }] },
      { name: 'ROOT', values: [{ name: 'bad\rvalue', type: RegType.DWORD, data: regDword(1) }] },
    ]) {
      const bytes = buildHive(root);
      const outcome = await fast(bytes);
      assert.deepEqual(outcome, { error: 'DF_REG_UNWRITABLE' });
      assert.deepEqual(await general(bytes), outcome);
    }
  });

  test('mutated corpus hives: both paths fail with a DeployForgeError or give the same bytes', { skip: !hasCorpus() && 'corpus not found' }, async () => {
    for (const rel of ['registry/hivex/special', 'registry/plaso/100_sub_keys.hiv', 'registry/python-registry/UNICODE_TESTS', 'registry/regipy/BCD.xz']) {
      const path = corpusPath(rel);
      const raw = rel.endsWith('.xz') ? execFileSync('xz', ['-dc', path]) : readFileSync(path);
      const original = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
      const focus = Math.min(original.length, 4096 + 8192);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ at: fc.nat({ max: focus - 1 }), byte: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 16 }),
          fc.option(fc.nat({ max: original.length }), { freq: 5 }),
          async (writes, cut) => {
            const bytes = original.slice(0, cut ?? original.length);
            for (const w of writes) if (w.at < bytes.length) bytes[w.at] = w.byte;
            assertAgree(await general(bytes), await fast(bytes), `mutated ${rel}`);
            assertAgree(await general(bytes, { encoding: 'utf8' }), await fast(bytes, { encoding: 'utf8' }), `mutated ${rel}, UTF-8`);
          },
        ),
        { numRuns: 300, seed: 0xfa57 + rel.length },
      );
    }
  });
});
