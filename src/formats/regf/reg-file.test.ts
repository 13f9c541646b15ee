// parseRegFile / writeRegFile: regedit's syntax and layout on hand-made inputs (facts from Wine's
// Windows-run regedit tests), exact layout against a file Windows' regedit exported, a random
// write→parse round trip, and every corpus .reg checked against hivexregedit --merge.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError, InputError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { REG_TYPE } from './constants.js';
import { encodeUtf16le, parseRegFile, type RegEntry, type RegValueEntry, streamRegFile, writeRegFile } from './reg-file.js';
import { hivexExport, RegistryModel, relativeEntries, splitForHivex } from './reg-test-support.js';
import { listFiles } from './test-oracles.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const utf16bom = (s: string) => Uint8Array.from([0xff, 0xfe, ...encodeUtf16le(s)]);
const sz = (s: string) => encodeUtf16le(`${s}\0`);
const values = (entries: RegEntry[]) => entries.filter((e): e is RegValueEntry => e.kind === 'value');
const isCode = (code: string, line?: number) => (e: unknown) =>
  e instanceof FormatError && e.code === code && (line === undefined || (e.details as { line?: number }).line === line);

describe('parseRegFile', () => {
  test('reads a regedit UTF-16LE file with every value form', () => {
    const text = [
      'Windows Registry Editor Version 5.00',
      '',
      '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Test]',
      '@="default"',
      '"Path"="C:\\\\Program Files\\\\X\\\\"',
      '"Quote"="say \\"hi\\""',
      '"With=Equals"="a"',
      '"Dw"=dword:0000002a',
      '"Bin"=hex:de,ad,BE,ef',
      '"Exp"=hex(2):25,00,41,00,25,00,00,00',
      '"Multi"=hex(7):61,00,00,00,\\',
      '  62,00,00,00,00,00',
      '"Q"=hex(b):01,00,00,00,00,00,00,00',
      '"None"=hex(0):',
      '"Odd"=hex(ffff0010):01',
      '"Gone"=-',
      '@=-',
      '',
      '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Old]',
      '',
    ].join('\r\n');
    const file = parseRegFile(utf16bom(text), 'test.reg');
    assert.equal(file.version, 5);
    assert.deepEqual(file.entries[0], { kind: 'key', path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Test', deleted: false });
    assert.deepEqual(file.entries.at(-1), { kind: 'key', path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Old', deleted: true });
    const v = Object.fromEntries(values(file.entries).map((e) => [`${e.name}${e.deleted ? '-' : ''}`, e]));
    assert.deepEqual(v[''].data, sz('default'));
    assert.deepEqual(v.Path.data, sz('C:\\Program Files\\X\\'));
    assert.deepEqual(v.Quote.data, sz('say "hi"'));
    assert.ok(v['With=Equals']);
    assert.deepEqual([v.Dw.type, [...v.Dw.data]], [REG_TYPE.REG_DWORD, [0x2a, 0, 0, 0]]);
    assert.deepEqual([v.Bin.type, [...v.Bin.data]], [REG_TYPE.REG_BINARY, [0xde, 0xad, 0xbe, 0xef]]);
    assert.deepEqual([v.Exp.type, v.Exp.data], [REG_TYPE.REG_EXPAND_SZ, sz('%A%')]);
    assert.deepEqual([v.Multi.type, v.Multi.data], [REG_TYPE.REG_MULTI_SZ, encodeUtf16le('a\0b\0\0')]);
    assert.equal(v.Q.type, REG_TYPE.REG_QWORD);
    assert.deepEqual([v.None.type, v.None.data.length], [0, 0]);
    assert.equal(v.Odd.type, 0xffff0010);
    assert.equal(v['Gone-'].deleted, true);
    assert.equal(v['-'].deleted, true);
  });

  test('accepts UTF-8 with and without BOM, LF and lone CR line ends, comments and short dwords', () => {
    const body = 'Windows Registry Editor Version 5.00\r\r; comment\r[HKEY_CURRENT_USER\\Ünï]\r"Wine8a"=dword:1\r"é"="ü"\r';
    for (const bytes of [utf8(body), Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8(body.replaceAll('\r', '\n'))])]) {
      const file = parseRegFile(bytes);
      assert.equal(file.entries[0].kind === 'key' && file.entries[0].path, 'HKEY_CURRENT_USER\\Ünï');
      const [a, b] = values(file.entries);
      assert.deepEqual([...a.data], [1, 0, 0, 0]);
      assert.deepEqual([b.name, b.data], ['é', sz('ü')]);
    }
  });

  test('joins hex continuations with blanks or a comment after the backslash, and a trailing comma', () => {
    const file = parseRegFile(utf8('REGEDIT4\n\n[HKEY_CURRENT_USER\\T]\n"a"=hex:11,22,  \\\n  33,\\;comment\n\t44,\n"b"=hex:55,\\'));
    const [a, b] = values(file.entries);
    assert.deepEqual([...a.data], [0x11, 0x22, 0x33, 0x44]);
    assert.deepEqual([...b.data], [0x55]);
  });

  test('REGEDIT4 files carry hex(2) and hex(7) as ANSI, stored as UTF-16LE', () => {
    const ansi = Uint8Array.from([...utf8('REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\T]\r\n"s"="caf'), 0xe9, ...utf8('"\r\n"e"=hex(2):25,50,25,00\r\n"b"=hex:25,00\r\n')]);
    const [s, e, b] = values(parseRegFile(ansi).entries);
    assert.deepEqual(s.data, sz('café'));
    assert.deepEqual(e.data, sz('%P%'));
    assert.deepEqual([...b.data], [0x25, 0]);
  });

  test('reports the file, the line and what was expected', () => {
    const bad = (lines: string[], line: number, code = 'DF_REG_BAD_LINE') =>
      assert.throws(
        () => parseRegFile(utf8(['Windows Registry Editor Version 5.00', '', ...lines].join('\n')), 'x.reg'),
        (e: unknown) => {
          assert.ok(isCode(code, line)(e), String(e));
          assert.match((e as Error).message, new RegExp(`^x\\.reg:${line}: .*expected`));
          return true;
        },
      );
    bad(['"a"="b"'], 3);
    bad(['[HKEY_CURRENT_USER\\T', '"a"="b"'], 3);
    bad(['[HKEY_CURRENT_USER\\T]', '"a"=dword:123456789'], 4);
    bad(['[HKEY_CURRENT_USER\\T]', '"a"=hex:1,2x'], 4);
    bad(['[HKEY_CURRENT_USER\\T]', '"a"=hex(100000000):00'], 4);
    bad(['[HKEY_CURRENT_USER\\T]', '"a"=str:"x"'], 4);
    bad(['[HKEY_CURRENT_USER\\T]', '"a="b"'], 4);
    bad(['[HKEY_CURRENT_USER\\T]', '"a"="b" junk'], 4);
    bad(['[-HKEY_CURRENT_USER\\T]', '"a"="b"'], 4);
    assert.throws(() => parseRegFile(utf8('REGEDIT5\n')), isCode('DF_REG_BAD_HEADER', 1));
    assert.throws(() => parseRegFile(new Uint8Array(0)), isCode('DF_REG_BAD_HEADER'));
  });
});

describe('writeRegFile', () => {
  test('reproduces a file Windows regedit exported, byte for byte apart from its encoding', async () => {
    // windeploy-linux/sshd_service.reg was exported by regedit (its hex(7) lines wrap at regedit's
    // width) and later converted to ASCII with LF line ends.
    const original = await readFile(corpusPath('reg/windeploy-linux/sshd_service.reg'), 'utf8');
    const parsed = parseRegFile(utf8(original));
    const ours = writeRegFile(parsed);
    assert.deepEqual([...ours.subarray(0, 2)], [0xff, 0xfe]);
    assert.equal(Buffer.from(ours.subarray(2)).toString('utf16le'), original.replaceAll('\n', '\r\n'));
  });

  test('wraps hex at 77 columns with "\\" and a two-space indent, whatever the name length', () => {
    for (const nameLength of [0, 1, 10, 70, 76, 77, 78, 120]) {
      const name = 'n'.repeat(nameLength);
      const data = Uint8Array.from({ length: 100 }, (_, i) => i);
      const text = Buffer.from(
        writeRegFile(
          [
            { kind: 'key', path: 'HKEY_CURRENT_USER\\T', deleted: false },
            { kind: 'value', keyPath: 'HKEY_CURRENT_USER\\T', name, deleted: false, type: 3, data },
          ],
          { encoding: 'utf8' },
        ),
      ).toString();
      const lines = text.split('\r\n').slice(3, -2);
      for (const [i, line] of lines.entries()) {
        const last = i === lines.length - 1;
        if (i > 0) assert.ok(line.startsWith('  ') && /^ {2}[0-9a-f]{2}/.test(line));
        if (!last) {
          assert.ok(line.endsWith(',\\'));
          const withoutSlash = line.length - 1;
          // wrapped as soon as the line reaches 77; one more byte would have been written before
          assert.ok(withoutSlash >= 77 || (i === 0 && withoutSlash === (nameLength ? nameLength + 3 : 1) + 4 + 3), `${nameLength}: ${line}`);
          assert.ok(withoutSlash - 3 < 77 || (i === 0 && withoutSlash - 3 <= (nameLength ? nameLength + 3 : 1) + 4));
        }
        if (i > 0 && !last) assert.equal(line.length, 78);
      }
      assert.deepEqual(values(parseRegFile(utf8(text)).entries)[0].data, data);
    }
  });

  test('writes strings regedit cannot quote as hex(1), keeping every byte', () => {
    const cases = [new Uint8Array(0), encodeUtf16le('no nul'), encodeUtf16le('a\0b\0'), sz('line\r\nbreak'), Uint8Array.from([0x41, 0, 0])];
    for (const data of cases) {
      const entries: RegEntry[] = [
        { kind: 'key', path: 'HKEY_CURRENT_USER\\T', deleted: false },
        { kind: 'value', keyPath: 'HKEY_CURRENT_USER\\T', name: 'v', deleted: false, type: 1, data },
      ];
      const text = Buffer.from(writeRegFile(entries, { encoding: 'utf8' })).toString();
      assert.match(text, /"v"=hex\(1\):/);
      assert.deepEqual(parseRegFile(utf8(text)).entries, entries);
    }
  });

  test('refuses what a .reg file cannot hold with DF_REG_UNWRITABLE', () => {
    const base = { kind: 'value', keyPath: 'HKEY_CURRENT_USER\\T', deleted: false } as const;
    const unwritable = (e: unknown) => e instanceof InputError && e.code === 'DF_REG_UNWRITABLE';
    assert.throws(() => writeRegFile([{ ...base, name: 'a\nb', type: 4, data: new Uint8Array(4) }]), unwritable);
    assert.throws(() => writeRegFile([{ ...base, name: 'x', type: 2, data: sz('日本') }], { version: 4 }), unwritable);
    assert.throws(() => writeRegFile([{ kind: 'key', path: '', deleted: false }]), unwritable);
  });

  test('random entry lists survive write → parse in both versions and encodings; streamed writes give the same bytes', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
    const keyName = fc
      .oneof(
        text.map((s) => s.replace(/[\\]/g, '/')),
        fc.constantFrom('a]b', 'sp ace', '"q"'),
      )
      .filter((s) => s !== '');
    const keyPath = fc.array(keyName, { minLength: 1, maxLength: 3 }).map((parts) => `HKEY_LOCAL_MACHINE\\${parts.join('\\')}`);
    const valueName = fc.oneof(text, fc.constantFrom('', '\\', '"', '\\"', 'a\\\\b', '@', '=', ';x'));
    const typed = fc.oneof(
      text.map((s) => ({ type: 1, data: sz(s) })),
      text.map((s) => ({ type: 2, data: sz(s) })),
      fc
        .array(
          text.filter((s) => s !== ''),
          { maxLength: 4 },
        )
        .map((a) => ({ type: 7, data: encodeUtf16le(`${a.join('\0')}\0\0`) })),
      fc.integer({ min: 0, max: 0xffffffff }).map((n) => ({ type: 4, data: Uint8Array.of(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24) })),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => ({ type: 11, data: Uint8Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n)) })),
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 300 })).map(([type, data]) => ({ type, data })),
      fc.uint8Array({ minLength: 2000, maxLength: 70000 }).map((data) => ({ type: 3, data })),
    );
    const value = fc.tuple(valueName, fc.boolean(), typed).map(([name, deleted, t]) => ({ name, deleted, ...(deleted ? { type: 0, data: new Uint8Array(0) } : t) }));
    const section = fc.tuple(keyPath, fc.boolean(), fc.array(value, { maxLength: 5 }));
    const lists = fc
      .array(section, { maxLength: 6 })
      .map((sections) =>
        sections.flatMap(([path, deleted, vals]): RegEntry[] => [
          { kind: 'key', path, deleted },
          ...(deleted ? [] : vals.map((v): RegEntry => ({ kind: 'value', keyPath: path, ...v }))),
        ]),
      );
    // REGEDIT4 holds hex(2)/hex(7) as ANSI: keep those within code page 1252 for version 4.
    const ansiSafe = (entries: RegEntry[]) =>
      entries.every((e) => e.kind === 'key' || (e.type !== 2 && e.type !== 7) || /^[\u0000-\u00ff]*$/.test(Buffer.from(e.data).toString('utf16le')));
    // streamRegFile gives writeRegFile's bytes, in chunks of whole characters, also when the
    // lists are long enough to fill several chunks or hold a value longer than one.
    const streamed = async (entries: RegEntry[], encoding: 'utf16le' | 'utf8', version: 5 | 4) => {
      const chunks: Uint8Array[] = [];
      await streamRegFile(entries, async (chunk) => void chunks.push(chunk), { encoding, version });
      for (const chunk of chunks) if (encoding === 'utf8') assert.deepEqual(Buffer.from(Buffer.from(chunk).toString('utf8')), Buffer.from(chunk));
      return Buffer.concat(chunks);
    };
    const many = (entries: RegEntry[]) =>
      entries.concat(
        Array.from(
          { length: 30_000 },
          (_, i): RegEntry => ({ kind: 'value', keyPath: 'HKEY_CURRENT_USER\\Many', name: `välue ${i}`, deleted: false, type: 1, data: sz(`dätä ${i}`) }),
        ),
        [{ kind: 'value', keyPath: 'HKEY_CURRENT_USER\\Big', name: 'blob', deleted: false, type: 3, data: Uint8Array.from({ length: 400_000 }, (_, i) => i & 255) }],
      );
    const sameBytes = async (entries: RegEntry[]) => {
      for (const encoding of ['utf16le', 'utf8'] as const) {
        for (const version of [5, 4] as const) {
          if (version === 4 && !ansiSafe(entries)) continue;
          assert.deepEqual(await streamed(entries, encoding, version), Buffer.from(writeRegFile({ version, entries }, { encoding })));
        }
      }
    };
    await fc.assert(
      fc.asyncProperty(lists, (entries) => sameBytes(entries)),
      { numRuns: 40, seed: 20261123 },
    );
    await sameBytes(many([]));
    fc.assert(
      fc.property(lists, (entries) => {
        for (const encoding of ['utf16le', 'utf8'] as const) {
          for (const version of [5, 4] as const) {
            if (version === 4 && !ansiSafe(entries)) continue;
            const parsed = parseRegFile(writeRegFile({ version, entries }, { encoding }));
            assert.equal(parsed.version, version);
            assert.deepEqual(parsed.entries, entries);
          }
        }
      }),
      { numRuns: 150, seed: 20261122 },
    );
  });
});

// Roots as hivexregedit --merge needs them: HKLM\<hive>, otherwise the top-level key.
const rootOf = (path: string) => {
  const parts = path.split('\\');
  return /^HKEY_LOCAL_MACHINE$/i.test(parts[0]) ? `${parts[0]}\\${parts[1]}` : parts[0];
};

describe('corpus .reg files', { skip: !hasCorpus() && 'corpus not found' }, () => {
  const files = hasCorpus() ? listFiles(corpusPath('reg')).filter((f) => f.endsWith('.reg')) : [];

  test('the corpus has .reg files', () => assert.ok(files.length >= 6));

  for (const path of files) {
    const shortName = path.split('/').slice(-2).join('/');
    test(`${shortName}: values and data match hivexregedit --merge, root by root`, async () => {
      const bytes = new Uint8Array(await readFile(path));
      const parsed = parseRegFile(bytes, shortName);
      assert.ok(values(parsed.entries).length > 0);
      const tmp = await makeTempDir();
      try {
        const byRoot = splitForHivex(Buffer.from(bytes).toString('utf8'), rootOf);
        const seenRoots = new Set(parsed.entries.map((e) => rootOf(e.kind === 'key' ? e.path : e.keyPath).toLowerCase()));
        assert.deepEqual(new Set([...byRoot.keys()].map((r) => r.toLowerCase())), seenRoots);
        let i = 0;
        for (const [root, text] of byRoot) {
          const hive = join(tmp.path, `h${i}`);
          const reg = join(tmp.path, `r${i++}.reg`);
          await writeFile(hive, await readFile(corpusPath('registry/hivex/minimal')));
          await writeFile(reg, text);
          await runTool('hivexregedit', ['--merge', '--prefix', root, hive, reg]);
          const theirs = new RegistryModel().apply(relativeEntries((await hivexExport(hive, root)).entries, root)).lines();
          const mine = parsed.entries.filter((e) => rootOf(e.kind === 'key' ? e.path : e.keyPath).toLowerCase() === root.toLowerCase());
          const ours = new RegistryModel().apply(relativeEntries(mine, root)).lines();
          assert.deepEqual(ours, theirs, `${shortName} under ${root}`);
        }
      } finally {
        await tmp.cleanup();
      }
    });
  }
});
