// INF syntax on small hand-written files (one feature per test, following Microsoft's "General
// Syntax Rules for INF Files" and "INF Strings Section"), the limits, and every corpus INF/INX.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { getInfEntries, getInfSection, getInfValue, INF_MAX_BYTES, INF_MAX_LINE, INF_MAX_SECTIONS, type InfFile, parseInf, unquoteInf } from './parse.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const inf = (text: string, languageId?: number): InfFile => parseInf(utf8(text), 'test.inf', { languageId });
const values = (file: InfFile, section: string, key: string): string[] => getInfEntries(getInfSection(file, section), key)[0]?.values.map((v) => v.value) ?? [];

function utf16le(text: string, bom: boolean): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + text.length * 2);
  let at = 0;
  if (bom) {
    out[0] = 0xff;
    out[1] = 0xfe;
    at = 2;
  }
  for (let i = 0; i < text.length; i++) {
    out[at++] = text.charCodeAt(i) & 0xff;
    out[at++] = text.charCodeAt(i) >> 8;
  }
  return out;
}

function assertFormatError(run: () => unknown, code: string): void {
  assert.throws(run, (error: unknown) => error instanceof FormatError && error.code === code);
}

describe('parseInf sections', () => {
  test('finds sections and keys case-insensitively', () => {
    const file = inf('[version]\nSIGNATURE="$Windows NT$"\n[Strings]\n');
    assert.equal(getInfSection(file, 'VERSION')?.name, 'version');
    assert.equal(getInfValue(getInfSection(file, 'Version'), 'signature'), '$Windows NT$');
  });

  test('merges a section declared twice, keeping entries in file order', () => {
    const file = inf('[A]\none\n[B]\nx\n[a]\ntwo\n');
    assert.deepEqual(
      file.sections.map((s) => s.name),
      ['A', 'B'],
    );
    const merged = getInfSection(file, 'a');
    assert.deepEqual(merged?.headerLines, [1, 5]);
    assert.deepEqual(
      merged?.entries.map((e) => e.values[0].value),
      ['one', 'two'],
    );
  });

  test('keeps empty sections and ignores blank and comment-only lines', () => {
    const file = inf('[Empty]\n\n; nothing\n   \n[Next]\n  ; indented comment\nkey=1\n');
    assert.equal(getInfSection(file, 'Empty')?.entries.length, 0);
    assert.equal(getInfSection(file, 'Next')?.entries.length, 1);
  });

  test('trims the name, ignores a comment after the header and notes other trailing text', () => {
    const file = inf('[ Spaced Name ] ; comment\na\n[Other] junk\n');
    assert.ok(getInfSection(file, 'spaced name'));
    assert.equal(file.issues.length, 1);
    assert.equal(file.issues[0].line, 3);
  });

  test('reports text before the first section and skips it', () => {
    const file = inf('stray=1\n[A]\nb=2\n');
    assert.equal(file.sections.length, 1);
    assert.equal(file.issues[0].line, 1);
  });

  test('refuses a header without a closing bracket or with an empty name', () => {
    assertFormatError(() => inf('[Version\nSignature=x\n'), 'DF_INF_BAD_SECTION_HEADER');
    assertFormatError(() => inf('[ ]\n'), 'DF_INF_BAD_SECTION_HEADER');
  });

  test('flags a section name longer than Windows allows', () => {
    const file = inf(`[${'s'.repeat(300)}]\n`);
    assert.equal(file.sections.length, 1);
    assert.equal(file.issues.length, 1);
  });

  test('reads CRLF, LF and lone CR line ends alike', () => {
    for (const eol of ['\r\n', '\n', '\r']) {
      const file = inf(['[A]', 'k=1', '[B]', 'k=2'].join(eol));
      assert.equal(getInfValue(getInfSection(file, 'B'), 'k'), '2', JSON.stringify(eol));
      assert.equal(getInfSection(file, 'B')?.entries[0].line, 4);
    }
  });
});

describe('parseInf entries', () => {
  test('splits key = value, value and plain entries, keeping empty values in place', () => {
    const file = inf('[S]\nfile.sys = 1,,, 2 \nplain.sys,,,2\nonlykey =\n');
    const [keyed, plain, bare] = getInfSection(file, 'S')?.entries ?? [];
    assert.equal(keyed.key?.value, 'file.sys');
    assert.deepEqual(
      keyed.values.map((v) => v.value),
      ['1', '', '', '2'],
    );
    assert.equal(plain.key, undefined);
    assert.deepEqual(
      plain.values.map((v) => v.value),
      ['plain.sys', '', '', '2'],
    );
    assert.deepEqual(
      bare.values.map((v) => v.value),
      [''],
    );
  });

  test('only the first "=" outside quotes separates the key', () => {
    const file = inf('[S]\nk = a=b, "c=d"\n');
    assert.deepEqual(values(file, 'S', 'k'), ['a=b', 'c=d']);
  });

  test('a semicolon starts a comment only outside quotes and %strkey% tokens', () => {
    const file = inf('[S]\nk = "a;b", c ; comment, d\nt = %x;y%, e\n[Strings]\n"x;y" = "semi"\n');
    assert.deepEqual(values(file, 'S', 'k'), ['a;b', 'c']);
    assert.deepEqual(values(file, 'S', 't'), ['semi', 'e']);
  });

  test('quotes keep commas, spaces and semicolons, and "" inside quotes is one quote', () => {
    const file = inf('[S]\nHKR,,Example,,"Display an ""example"" string"\nk = "  padded  " , "x,y"\n');
    const [line] = getInfSection(file, 'S')?.entries ?? [];
    assert.equal(line.values[4].value, 'Display an "example" string');
    assert.equal(line.values[4].raw, '"Display an ""example"" string"');
    assert.deepEqual(values(file, 'S', 'k'), ['  padded  ', 'x,y']);
  });

  test('unquotes tripled quotes the way the Strings documentation describes', () => {
    assert.equal(unquoteInf('"""some string"""'), '"some string"');
    assert.equal(unquoteInf('ab"c d"e'), 'abc de');
    assert.equal(unquoteInf('no quotes'), 'no quotes');
  });

  test('notes a quote left open and closes it at the end of the line', () => {
    const file = inf('[S]\nk = "open, still ; open\nnext = 1\n');
    assert.deepEqual(values(file, 'S', 'k'), ['open, still ; open']);
    assert.equal(getInfValue(getInfSection(file, 'S'), 'next'), '1');
    assert.equal(file.issues.length, 1);
    assert.equal(file.issues[0].line, 2);
  });

  test('joins lines ending in a backslash, even with a comment after it', () => {
    const file = inf('[S]\nCopyFiles = a,\\\n   b, \\ ; comment\n c\nafter = 1\n');
    assert.deepEqual(values(file, 'S', 'CopyFiles'), ['a', 'b', 'c']);
    assert.equal(getInfSection(file, 'S')?.entries[0].line, 2);
    assert.equal(getInfSection(file, 'S')?.entries[1].line, 5);
  });

  test("a quoted path ending in a backslash is not a continuation (Microsoft's CopyFiles example)", () => {
    const file = inf('[S]\nCopyFiles = "SomeDirectory\\"\\ ; comment\n,SomeFile\n');
    assert.deepEqual(values(file, 'S', 'CopyFiles'), ['SomeDirectory\\', 'SomeFile']);
  });

  test('of two trailing backslashes only the last continues the line', () => {
    const file = inf('[S]\nCopyFiles = SomeDirectory\\\\\n,SomeFile\n');
    assert.deepEqual(values(file, 'S', 'CopyFiles'), ['SomeDirectory\\', 'SomeFile']);
  });

  test('a backslash inside quotes at the end of a line does not continue it', () => {
    const file = inf('[S]\nk = "ends\\\nnext = 1\n');
    assert.equal(getInfSection(file, 'S')?.entries.length, 2);
  });

  test('a continuation on the last line ends the entry', () => {
    const file = inf('[S]\nk = a,\\');
    assert.deepEqual(values(file, 'S', 'k'), ['a', '']);
  });
});

describe('parseInf strings', () => {
  test('replaces %strkey% tokens case-insensitively and keeps raw text', () => {
    const file = inf('[Version]\nProvider = %Vendor%\n[Strings]\nVENDOR = "Red Hat, Inc."\n');
    const [entry] = getInfEntries(getInfSection(file, 'Version'), 'Provider');
    assert.equal(entry.values[0].value, 'Red Hat, Inc.');
    assert.equal(entry.values[0].raw, '%Vendor%');
    assert.equal(file.strings.get('vendor'), 'Red Hat, Inc.');
  });

  test('expands tokens in keys, inside quotes and next to other text', () => {
    const file = inf('[M]\n%Mfg% = Models\n[S]\nNotice = "%A% and %B%", pre%A%post\n[Strings]\nMfg=Contoso\nA=alpha\nB="beta"\n');
    assert.equal(getInfSection(file, 'M')?.entries[0].key?.value, 'Contoso');
    assert.equal(getInfSection(file, 'M')?.entries[0].key?.raw, '%Mfg%');
    assert.deepEqual(values(file, 'S', 'Notice'), ['alpha and beta', 'prealphapost']);
  });

  test('turns %% into one percent sign and never re-expands substituted text', () => {
    const file = inf('[S]\nHKR,,EventMessageFile,0x00020000,"%%SystemRoot%%\\System32\\IoLogMsg.dll"\nk = %Loop%\n[Strings]\nLoop = "%Loop%%%"\n');
    assert.equal(getInfSection(file, 'S')?.entries[0].values[4].value, '%SystemRoot%\\System32\\IoLogMsg.dll');
    // The string is "%Loop%" plus a literal percent; it is substituted once and not scanned again.
    assert.deepEqual(values(file, 'S', 'k'), ['%Loop%%']);
  });

  test('leaves undefined tokens as written, listing them except numeric DIRIDs', () => {
    const file = inf('[S]\nServiceBinary = %12%\\x.sys\nk = %Missing%, 100% sure, %\n');
    assert.deepEqual(values(file, 'S', 'ServiceBinary'), ['%12%\\x.sys']);
    assert.deepEqual(values(file, 'S', 'k'), ['%Missing%', '100% sure', '%']);
    assert.deepEqual(file.unresolvedTokens, ['Missing']);
  });

  test('keeps a whole Strings value, commas included, and uses the first of two definitions', () => {
    const file = inf('[Strings]\nCo = Contoso, Ltd.\nCo = later\nQ = """quoted"""\n');
    assert.equal(file.strings.get('co'), 'Contoso, Ltd.');
    assert.equal(file.strings.get('q'), '"quoted"');
    assert.equal(file.issues.length, 1);
    assert.equal(getInfSection(file, 'Strings')?.entries[0].values.length, 1);
  });

  const localized = [
    '[S]\nk = %Name%',
    '[Strings]\nName = "plain"',
    '[Strings.0407]\nName = "German (Germany)"',
    '[Strings.0807]\nName = "German (Switzerland)"',
    '[Strings.000C]\nName = "French (neutral)"',
    '[Strings.040C]\nName = "French (France)"',
  ].join('\n');

  test('chooses the Strings.LLLL section for the language like Windows does', () => {
    const pick = (languageId?: number): [string | undefined, string | undefined] => {
      const file = inf(localized, languageId);
      return [file.stringsSection, values(file, 'S', 'k')[0]];
    };
    assert.deepEqual(pick(0x0407), ['Strings.0407', 'German (Germany)']);
    assert.deepEqual(pick(0x0c07), ['Strings.0407', 'German (Germany)'], 'same primary language, no neutral section');
    assert.deepEqual(pick(0x080c), ['Strings.000C', 'French (neutral)'], 'SUBLANG_NEUTRAL before another sublanguage');
    assert.deepEqual(pick(0x0411), ['Strings', 'plain']);
    assert.deepEqual(pick(), ['Strings', 'plain'], 'default 0x0409 falls back to [Strings]');
  });

  test('does not mix keys from [Strings] into a chosen Strings.LLLL section', () => {
    const file = inf('[S]\nk = %OnlyPlain%\n[Strings]\nOnlyPlain = x\n[Strings.0409]\nOther = y\n');
    assert.equal(file.stringsSection, 'Strings.0409');
    assert.deepEqual(values(file, 'S', 'k'), ['%OnlyPlain%']);
  });
});

describe('parseInf encodings', () => {
  const text = '[Version]\nSignature="$Windows NT$"\n[Strings]\nName="Caf\u00e9 \u20ac \u4e2d"\n';

  test('reads UTF-16LE with a BOM', () => {
    const file = parseInf(utf16le(text, true));
    assert.equal(file.encoding, 'utf-16le');
    assert.equal(file.hasBom, true);
    assert.equal(file.strings.get('name'), 'Caf\u00e9 \u20ac \u4e2d');
  });

  test('reads UTF-16LE without a BOM when it starts with ASCII', () => {
    const file = parseInf(utf16le(text, false));
    assert.equal(file.encoding, 'utf-16le');
    assert.equal(file.hasBom, false);
    assert.equal(file.strings.get('name'), 'Caf\u00e9 \u20ac \u4e2d');
  });

  test('reads UTF-16BE with a BOM and notes an odd trailing byte', () => {
    const le = utf16le(text, false);
    const be = new Uint8Array(le.length + 3);
    be.set([0xfe, 0xff]);
    for (let i = 0; i < le.length; i += 2) {
      be[2 + i] = le[i + 1];
      be[3 + i] = le[i];
    }
    const file = parseInf(be);
    assert.equal(file.encoding, 'utf-16be');
    assert.equal(file.strings.get('name'), 'Caf\u00e9 \u20ac \u4e2d');
    assert.equal(file.issues.length, 1);
  });

  test('reads UTF-8 with and without a BOM', () => {
    const plain = utf8(text);
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...plain]);
    for (const [bytes, bom] of [
      [plain, false],
      [withBom, true],
    ] as const) {
      const file = parseInf(bytes);
      assert.equal(file.encoding, 'utf-8');
      assert.equal(file.hasBom, bom);
      assert.equal(getInfSection(file, 'Version')?.name, 'Version');
      assert.equal(file.strings.get('name'), 'Caf\u00e9 \u20ac \u4e2d');
    }
  });

  test('falls back to Windows-1252 for bytes that are not UTF-8', () => {
    const bytes = new Uint8Array([...utf8('[Strings]\nName="Caf'), 0xe9, 0x20, 0x80, 0x20, 0x9f, 0x20, 0x81, 0x22, 0x0a]);
    const file = parseInf(bytes);
    assert.equal(file.encoding, 'windows-1252');
    assert.equal(file.strings.get('name'), 'Caf\u00e9 \u20ac \u0178 \u0081');
  });

  test('reads an empty file as an INF without sections', () => {
    const file = parseInf(new Uint8Array(0));
    assert.equal(file.sections.length, 0);
    assert.equal(file.encoding, 'utf-8');
  });
});

describe('parseInf limits', () => {
  test('refuses files over 16 MiB before decoding them', () => {
    assertFormatError(() => parseInf(new Uint8Array(INF_MAX_BYTES + 1)), 'DF_INF_TOO_LARGE');
  });

  test('refuses a physical line over 64 KiB', () => {
    assertFormatError(() => inf(`[S]\nk=${'x'.repeat(INF_MAX_LINE)}\n`), 'DF_INF_LINE_TOO_LONG');
    assert.equal(inf(`[S]\nk=${'x'.repeat(INF_MAX_LINE - 2)}\n`).sections.length, 1);
  });

  test('refuses continued lines that add up past 64 KiB', () => {
    const piece = `${'y'.repeat(1000)}\\\n`;
    assertFormatError(() => inf(`[S]\nk=${piece.repeat(70)}end\n`), 'DF_INF_LINE_TOO_LONG');
  });

  test('refuses more sections than the limit', () => {
    let text = '';
    for (let i = 0; i <= INF_MAX_SECTIONS; i++) text += `[s${i}]\n`;
    assertFormatError(() => inf(text), 'DF_INF_TOO_MANY_SECTIONS');
  });

  test('refuses string substitution that would blow up a value', () => {
    const tokens = '%big%'.repeat(200);
    assertFormatError(() => inf(`[S]\nk=${tokens}\n[Strings]\nbig="${'b'.repeat(4000)}"\n`), 'DF_INF_TOO_LARGE');
  });

  test('refuses substitution whose total runs past the budget', () => {
    // Each value stays under the per-field cap, but 600 lines of 60,000 characters do not.
    const line = `k=${'%big%,'.repeat(15)}\n`;
    assertFormatError(() => inf(`[S]\n${line.repeat(600)}[Strings]\nbig="${'b'.repeat(4000)}"\n`), 'DF_INF_TOO_LARGE');
  });
});

describe('parseInf on the corpus', { skip: !hasCorpus() && 'no corpus' }, () => {
  const folder = corpusPath('inf/virtio-win');

  test('parses every corpus .inf and .inx without issues or undefined strings beyond build placeholders', async () => {
    const names = (await readdir(folder)).filter((name) => /\.in[fx]$/i.test(name)).sort();
    assert.equal(names.length, 11);
    for (const name of names) {
      const file = parseInf(new Uint8Array(await readFile(`${folder}/${name}`)), name);
      assert.equal(file.encoding, 'utf-8', name);
      assert.deepEqual(file.issues, [], name);
      assert.equal(file.stringsSection, 'Strings', name);
      assert.ok(getInfSection(file, 'Version'), name);
      assert.ok(getInfSection(file, 'Manufacturer'), name);
      // The virtio-win build replaces INX_ words; %INX_PLATFORM_DRIVERS_DIR% is the one used as a token.
      assert.ok(
        file.unresolvedTokens.every((token) => token === 'INX_PLATFORM_DRIVERS_DIR'),
        `${name}: ${file.unresolvedTokens}`,
      );
    }
  });

  test('reads viorng.inf section by section as written', async () => {
    const file = parseInf(new Uint8Array(await readFile(`${folder}/viorng_viorng_viorng.inf`)), 'viorng.inf');
    assert.deepEqual(
      file.sections.map((s) => s.name),
      [
        'Version',
        'DestinationDirs',
        'SourceDisksNames',
        'SourceDisksFiles',
        'Manufacturer',
        'Standard.NT$ARCH$',
        'VirtRng_Device.NT',
        'VirtRng_Device.NT.HW',
        'VirtRng_CopyFiles',
        'VirtRng_AddReg',
        'VirtRng_Device.NT.Services',
        'VirtRng_Service_Install',
        'DmaRemappingCompatible.Reg',
        'VirtRng_Provider_CopyFiles',
        'VirtRng_Provider_AddReg',
        'VirtRng_Device.NT.Wdf',
        'VirtRng_wdfsect',
        'Strings',
      ],
    );
    const version = getInfSection(file, 'version');
    assert.equal(getInfValue(version, 'DriverVer'), '01/01/2008', 'the comment after DriverVer is dropped');
    assert.deepEqual(
      getInfEntries(getInfSection(file, 'VirtRng_Device.NT'), 'CopyFiles').map((e) => e.values[0].value),
      ['VirtRng_CopyFiles', 'VirtRng_Provider_CopyFiles'],
    );
    const provider = getInfSection(file, 'VirtRng_Provider_AddReg')?.entries[0];
    assert.equal(provider?.values[1].value, 'SYSTEM\\CurrentControlSet\\Control\\Cryptography\\Providers\\QEMU VirtIO RNG Provider\\UM');
    const typeFlags = getInfSection(file, 'VirtRng_Provider_AddReg')?.entries[1].values[3];
    assert.deepEqual(typeFlags, { raw: '%REG_DWORD%', value: '0x00010001' });
  });

  test('expands %%SystemRoot%% and case-mismatched keys in vioscsi.inx', async () => {
    const file = parseInf(new Uint8Array(await readFile(`${folder}/vioscsi_vioscsi.inx`)), 'vioscsi.inx');
    const eventLog = getInfSection(file, 'scsi_EventLog_AddReg')?.entries[0];
    assert.equal(eventLog?.values[3].value, '0x00020000');
    assert.equal(eventLog?.values[4].value, '%SystemRoot%\\System32\\IoLogMsg.dll');
    // [SourceDisksNames] uses %DiskId1%, [Strings] defines diskId1.
    assert.equal(getInfSection(file, 'SourceDisksNames')?.entries[0].values[0].value, 'INX_PREFIX_VENDORVirtIO SCSI pass-through controller Installation Disk');
    assert.equal(getInfValue(getInfSection(file, 'scsi_Service_Inst'), 'StartType'), '0');
  });
});
