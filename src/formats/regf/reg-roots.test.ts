// resolveRegPath and friends: every supported root, CurrentControlSet rewriting from the real
// SYSTEM hive's Select\Current, and refusals for roots with no offline hive file.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError, InputError } from '../../errors.js';
import { openHive } from './hive.js';
import { parseRegFile } from './reg-file.js';
import { readCurrentControlSet, resolveRegPath, splitRegFileByHive } from './reg-roots.js';
import { loadCorpusFile } from './test-oracles.js';

const r = (path: string, n = 1) => {
  const { hiveFile, keyPath } = resolveRegPath(path, { currentControlSet: () => n });
  return `${hiveFile} | ${keyPath}`;
};
const unknownRoot = (e: unknown) => e instanceof InputError && e.code === 'DF_REG_UNKNOWN_ROOT';

describe('resolveRegPath', () => {
  test('maps every supported root to its image hive file', () => {
    assert.equal(r('HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows'), 'Windows/System32/config/SOFTWARE | Microsoft\\Windows');
    assert.equal(r('hklm\\Software'), 'Windows/System32/config/SOFTWARE | ');
    assert.equal(r('HKLM\\SYSTEM\\CurrentControlSet\\Services\\sshd', 2), 'Windows/System32/config/SYSTEM | ControlSet002\\Services\\sshd');
    assert.equal(r('HKLM\\SYSTEM\\ControlSet001\\Control'), 'Windows/System32/config/SYSTEM | ControlSet001\\Control');
    assert.equal(r('HKEY_LOCAL_MACHINE\\SAM\\SAM'), 'Windows/System32/config/SAM | SAM');
    assert.equal(r('HKEY_LOCAL_MACHINE\\SECURITY\\Policy'), 'Windows/System32/config/SECURITY | Policy');
    assert.equal(r('HKEY_USERS\\.DEFAULT\\Control Panel'), 'Windows/System32/config/DEFAULT | Control Panel');
    assert.equal(r('HKEY_CURRENT_USER\\Software\\Classes\\.jpg'), 'Users/Default/NTUSER.DAT | Software\\Classes\\.jpg');
    assert.equal(r('HKU\\DefaultUser\\Software'), 'Users/Default/NTUSER.DAT | Software');
    assert.equal(r('HKEY_CLASSES_ROOT\\CLSID\\{x}'), 'Windows/System32/config/SOFTWARE | Classes\\CLSID\\{x}');
  });

  test('refuses roots without an offline hive, and CurrentControlSet without a way to read it', () => {
    for (const path of ['HKEY_CURRENT_CONFIG\\System', 'HKLM\\HARDWARE\\DESCRIPTION', 'HKLM', 'HKEY_USERS\\S-1-5-21-1-2-3-1001', 'Computer\\HKLM\\SOFTWARE', '\\Foo']) {
      assert.throws(() => resolveRegPath(path), unknownRoot, path);
    }
    assert.throws(() => resolveRegPath('HKLM\\SYSTEM\\CurrentControlSet\\Services'), unknownRoot);
  });

  test('splits a file by hive with hive-relative paths, reading Select\\Current once', () => {
    const file = parseRegFile(
      new TextEncoder().encode('REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\A]\n"x"=dword:1\n\n[HKEY_CURRENT_USER\\B]\n\n[-HKLM\\SYSTEM\\CurrentControlSet\\C]\n'),
    );
    let reads = 0;
    const groups = splitRegFileByHive(file, { currentControlSet: () => ++reads });
    assert.equal(reads, 1);
    assert.deepEqual(
      groups.map((g) => [g.hive, g.file.entries.map((e) => (e.kind === 'key' ? `${e.deleted ? '-' : ''}${e.path}` : `${e.keyPath}:${e.name}`))]),
      [
        ['SYSTEM', ['ControlSet001\\A', 'ControlSet001\\A:x', '-ControlSet001\\C']],
        ['NTUSER', ['B']],
      ],
    );
  });
});

describe('readCurrentControlSet', { skip: !hasCorpus() && 'corpus not found' }, () => {
  test('reads Select\\Current from a real SYSTEM hive and refuses other hives', async () => {
    const tmp = await makeTempDir();
    try {
      const { bytes } = await loadCorpusFile(corpusPath('registry/regipy/SYSTEM.xz'), tmp.path);
      const system = openHive(bytes, 'SYSTEM');
      const n = readCurrentControlSet(system);
      assert.ok(n >= 1 && n <= 999);
      assert.ok(system.key(`ControlSet${String(n).padStart(3, '0')}`), 'the control set Select\\Current names exists');
      const sam = (await loadCorpusFile(corpusPath('registry/regipy/SAM.xz'), tmp.path)).bytes;
      assert.throws(
        () => readCurrentControlSet(openHive(sam, 'SAM')),
        (e: unknown) => e instanceof FormatError && e.code === 'DF_HIVE_NO_CURRENT_CONTROL_SET',
      );
    } finally {
      await tmp.cleanup();
    }
  });
});
