// importRegFile: the HiveEditor calls it makes (checked with a recording editor), its refusal of
// entries outside the root, and a real import through hive-edit.ts compared with
// hivexregedit --merge of the same corpus file into the same starting hive.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { InputError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { editHive } from './hive-edit.js';
import { parseRegFile } from './reg-file.js';
import { importRegFile } from './reg-import.js';
import { exportLines, hivexExport, RecordingEditor, relativeEntries, splitForHivex } from './reg-test-support.js';
import { listFiles } from './test-oracles.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('importRegFile', () => {
  const file = parseRegFile(
    utf8(
      [
        'Windows Registry Editor Version 5.00',
        '',
        '[HKEY_LOCAL_MACHINE\\SOFTWARE]',
        '@="root default"',
        '',
        '[hkey_local_machine\\software\\A\\B]',
        '"v"=dword:00000001',
        '"gone"=-',
        '',
        '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Old]',
        '',
        '[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B]',
        '"v"="again"',
        '',
      ].join('\r\n'),
    ),
  );

  test('makes one editor call per entry, in file order, with paths below the prefix', () => {
    const editor = new RecordingEditor();
    editor.createKey('Old\\Sub');
    editor.calls.length = 0;
    const result = importRegFile(editor, file, { prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\' });
    assert.deepEqual(editor.calls, [
      `setValue   1 ${Buffer.from('root default\0', 'utf16le').toString('hex')}`,
      'createKey A\\B',
      'setValue A\\B v 4 01000000',
      'deleteValue A\\B gone',
      'deleteKey Old',
      'createKey A\\B',
      `setValue A\\B v 1 ${Buffer.from('again\0', 'utf16le').toString('hex')}`,
    ]);
    assert.deepEqual(result, { keysCreated: 1, keysDeleted: 1, valuesSet: 3, valuesDeleted: 0 });
  });

  test('refuses entries outside the prefix before changing anything, listing them', () => {
    const editor = new RecordingEditor();
    assert.throws(
      () => importRegFile(editor, file, { prefix: 'HKEY_LOCAL_MACHINE\\SYSTEM' }),
      (e: unknown) => e instanceof InputError && e.code === 'DF_REG_OUTSIDE_ROOT' && (e.details.outside as string[]).includes('HKEY_LOCAL_MACHINE\\SOFTWARE\\Old'),
    );
    assert.deepEqual(editor.calls, []);
    const rootDeletion = parseRegFile(utf8('REGEDIT4\n\n[-HKEY_CURRENT_USER]\n'));
    assert.throws(
      () => importRegFile(editor, rootDeletion, { prefix: 'HKEY_CURRENT_USER' }),
      (e: unknown) => e instanceof InputError && e.code === 'DF_REG_DELETE_ROOT',
    );
  });
});

const rootOf = (path: string) => {
  const parts = path.split('\\');
  return /^HKEY_LOCAL_MACHINE$/i.test(parts[0]) ? `${parts[0]}\\${parts[1]}` : parts[0];
};

describe('importRegFile into a real hive', { skip: !hasCorpus() && 'corpus not found' }, () => {
  const files = hasCorpus() ? listFiles(corpusPath('reg')).filter((f) => f.endsWith('.reg')) : [];
  for (const path of files) {
    const shortName = path.split('/').slice(-2).join('/');
    test(`${shortName}: hive-edit import equals hivexregedit --merge into hivex/minimal, root by root`, async () => {
      const text = await readFile(path, 'utf8');
      const parsed = parseRegFile(utf8(text), shortName);
      const minimal = new Uint8Array(await readFile(corpusPath('registry/hivex/minimal')));
      const tmp = await makeTempDir();
      try {
        let i = 0;
        for (const [root, hivexText] of splitForHivex(text, rootOf)) {
          const theirsPath = join(tmp.path, `theirs${i}`);
          const oursPath = join(tmp.path, `ours${i}`);
          const regPath = join(tmp.path, `in${i++}.reg`);
          await writeFile(theirsPath, minimal);
          await writeFile(regPath, hivexText);
          await runTool('hivexregedit', ['--merge', '--prefix', root, theirsPath, regPath]);

          const editor = editHive(minimal, { now: () => new Date(0) });
          const mine = parsed.entries.filter((e) => rootOf(e.kind === 'key' ? e.path : e.keyPath).toLowerCase() === root.toLowerCase());
          importRegFile(editor, { version: parsed.version, entries: mine }, { prefix: root });
          await writeFile(oursPath, editor.toBytes());

          // Both hives read back through hivex, so the comparison does not trust our reader.
          const ours = exportLines(relativeEntries((await hivexExport(oursPath, root)).entries, root));
          const theirs = exportLines(relativeEntries((await hivexExport(theirsPath, root)).entries, root));
          assert.deepEqual(ours, theirs, `${shortName} under ${root}`);
        }
      } finally {
        await tmp.cleanup();
      }
    });
  }
});
