import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { corpusPath } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { summarizeRegText } from './reg-text-summary.js';

const files = readdirSync(corpusPath('reg'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.reg'))
  .map((e) => join(e.parentPath, e.name));

describe('summarizeRegText', () => {
  test(`counts the keys of every corpus .reg file, in UTF-8 and as regedit's UTF-16LE (${files.length} files)`, async () => {
    for (const file of files) {
      const bytes = await readFile(file);
      const text = bytes.toString('utf8');
      const keyLines = text.split(/\r?\n/).filter((l) => /^\[[^-]/.test(l.trim())).length;
      const utf8 = summarizeRegText(new Uint8Array(bytes), file);
      assert.equal(utf8.keys, keyLines, file);
      const utf16 = summarizeRegText(new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf16le')])), file);
      assert.equal(utf16.encoding, 'utf-16le');
      assert.deepEqual({ ...utf16, encoding: 'utf-8', byteOrderMark: false }, utf8);
    }
  });

  test('counts deletions and joins hex continuation lines', () => {
    const text =
      'Windows Registry Editor Version 5.00\r\n\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Old]\r\n\r\n[HKEY_CURRENT_USER\\Software\\X]\r\n"Gone"=-\r\n"Bin"=hex:01,02,\\\r\n  03,04\r\n@="default"\r\n';
    const summary = summarizeRegText(new Uint8Array(Buffer.from(text)));
    assert.deepEqual(
      { keys: summary.keys, keyDeletions: summary.keyDeletions, values: summary.values, valueDeletions: summary.valueDeletions, roots: summary.roots },
      { keys: 1, keyDeletions: 1, values: 2, valueDeletions: 1, roots: ['HKEY_CURRENT_USER', 'HKEY_LOCAL_MACHINE'] },
    );
  });

  test('refuses a file without the regedit header and a value outside a key', () => {
    assert.throws(
      () => summarizeRegText(new Uint8Array(Buffer.from('hello\r\n'))),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_REG_BAD_HEADER',
    );
    assert.throws(
      () => summarizeRegText(new Uint8Array(Buffer.from('REGEDIT4\r\n"a"="b"\r\n'))),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_REG_BAD_LINE',
    );
  });
});
