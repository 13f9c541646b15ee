// exportHive on every readable corpus hive: export → write → parse gives the same entries, and
// the entries equal hivexregedit --export of the same hive. Normalisation for hivex (see
// reg-test-support.ts): hivex sorts values and subkeys by name and writes the root as
// `[PREFIX\]`, so both sides are compared as sorted key/value lines with the prefix stripped;
// hivex exports REG_SZ as hex(1) and never wraps, which parsing removes. Raw value bytes are
// compared as they are (hivex's export keeps REG_MULTI_SZ's trailing empty strings too).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError, InputError } from '../../errors.js';
import { buildHive, RegType, regDword, regSz } from './build-hive.js';
import { type Hive, openHive } from './hive.js';
import { exportHive } from './reg-export.js';
import { parseRegFile, writeRegFile } from './reg-file.js';
import { exportLines, hivexExport, relativeEntries } from './reg-test-support.js';
import { displayName, listFiles, loadCorpusFile } from './test-oracles.js';

const PREFIX = 'HKEY_LOCAL_MACHINE\\TEST';

describe('exportHive', () => {
  test('names keys under the prefix, or from "\\" without one, and refuses a missing key', () => {
    const hive = openHive(
      buildHive({
        name: 'ROOT',
        subkeys: [
          {
            name: 'A',
            values: [
              { name: 's', type: RegType.SZ, data: regSz('x') },
              { name: 'd', type: RegType.DWORD, data: regDword(5) },
            ],
            subkeys: [{ name: 'B' }],
          },
        ],
      }),
    );
    const paths = exportHive(hive, { prefix: 'HKEY_CURRENT_USER\\' }).entries.map((e) => (e.kind === 'key' ? e.path : `${e.keyPath}:${e.name}`));
    assert.deepEqual(paths, ['HKEY_CURRENT_USER', 'HKEY_CURRENT_USER\\A', 'HKEY_CURRENT_USER\\A:s', 'HKEY_CURRENT_USER\\A:d', 'HKEY_CURRENT_USER\\A\\B']);
    assert.deepEqual(
      exportHive(hive, { keyPath: 'a' })
        .entries.filter((e) => e.kind === 'key')
        .map((e) => e.kind === 'key' && e.path),
      ['\\A', '\\A\\B'],
    );
    assert.throws(
      () => exportHive(hive, { keyPath: 'nope' }),
      (e: unknown) => e instanceof InputError && e.code === 'DF_REG_KEY_NOT_FOUND',
    );
  });
});

describe('exportHive on corpus hives', { skip: !hasCorpus() && 'corpus not found' }, () => {
  const files = hasCorpus() ? listFiles(corpusPath('registry')).filter((f) => !/\.log\d?(\.xz)?$/i.test(f)) : [];
  const readable: string[] = [];

  for (const path of files) {
    test(`${displayName(path)}: export → write → parse is lossless and equals hivexregedit --export`, async (t) => {
      const tmp = await makeTempDir();
      try {
        const { bytes, diskPath } = await loadCorpusFile(path, tmp.path);
        let hive: Hive;
        let file: ReturnType<typeof exportHive>;
        try {
          hive = openHive(bytes, displayName(path));
          file = exportHive(hive, { prefix: PREFIX });
        } catch (error) {
          // Damaged hives (corrupt_sub_key_list, corrupted_system_hive) are the reader's
          // business; the export only has to fail with a FormatError, never anything else.
          assert.ok(error instanceof FormatError, String(error));
          t.diagnostic(`unreadable: ${(error as FormatError).code}`);
          return;
        }
        readable.push(path);
        for (const encoding of ['utf16le', 'utf8'] as const) {
          assert.deepEqual(parseRegFile(writeRegFile(file, { encoding })).entries, file.entries);
        }
        const theirs = await hivexExport(diskPath, PREFIX);
        assert.deepEqual(exportLines(relativeEntries(file.entries, PREFIX)), exportLines(relativeEntries(theirs.entries, PREFIX)));
      } finally {
        await tmp.cleanup();
      }
    });
  }

  test('most corpus hives were readable', () => assert.ok(readable.length >= 12, `${readable.length} readable`));
});
