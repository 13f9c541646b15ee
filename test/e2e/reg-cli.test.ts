// `deployforge reg …` end to end on real hives, checked with hivex; failed commands leave the
// hive byte for byte as it was.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';

async function sha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function unxz(from: string, to: string): Promise<string> {
  await writeFile(to, (await runTool('xz', ['-dc', corpusPath(from)], { binary: true })).stdout);
  return to;
}

describe('deployforge reg', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const at = (name: string) => join(tmp.path, name);
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('new, set, get and delete produce a hive hivex reads with exactly those values', async () => {
    const hive = at('new.dat');
    assert.equal((await runCliCaptured(['reg', 'new', hive])).code, 0);
    assert.equal((await runCliCaptured(['reg', 'new', hive])).code, 3, 'refuses to overwrite');
    for (const argv of [
      ['Policies\\Microsoft\\Windows\\DataCollection', 'AllowTelemetry', '--type', 'REG_DWORD', '--data', '0'],
      ['Policies\\Microsoft\\Windows\\DataCollection', 'Note', '--type', 'REG_SZ', '--data', 'set by DeployForge'],
      ['Policies\\Microsoft\\Windows\\DataCollection', 'Blob', '--type', 'REG_BINARY', '--data', '01,02,ff'],
      ['Policies\\Gone', 'x', '--type', 'REG_QWORD', '--data', '0x1122334455667788'],
    ]) {
      const run = await runCliCaptured(['reg', 'set', hive, ...argv]);
      assert.equal(run.code, 0, run.stderr);
    }
    assert.equal((await runCliCaptured(['reg', 'delete', hive, 'Policies\\Gone'])).code, 0);
    assert.equal((await runCliCaptured(['reg', 'delete', hive, 'Policies\\Gone'])).code, 3, 'deleting a missing key is an error');
    assert.equal((await runTool('hivexget', [hive, 'Policies\\Microsoft\\Windows\\DataCollection', 'Note'])).stdout.trim(), 'set by DeployForge');
    const exported = (await runTool('hivexregedit', ['--export', hive, '\\'])).stdout;
    assert.match(exported, /"AllowTelemetry"=dword:00000000/);
    assert.match(exported, /"Blob"=hex(\(3\))?:01,02,ff/);
    assert.doesNotMatch(exported, /Gone/);
    const get = await runCliCaptured(['reg', 'get', '--json', hive, 'Policies\\Microsoft\\Windows\\DataCollection', 'AllowTelemetry']);
    assert.deepEqual(JSON.parse(get.stdout).data, 0);
    assert.equal((await runCliCaptured(['reg', 'check', hive])).code, 0);
  });

  test('export of a corpus hive lists the keys and values hivex exports', async () => {
    const hive = corpusPath('registry/python-registry/UNICODE_TESTS');
    const ours = await runCliCaptured(['reg', 'export', hive]);
    assert.equal(ours.code, 0, ours.stderr);
    const theirs = (await runTool('hivexregedit', ['--export', hive, '\\'])).stdout;
    const keys = (text: string) => text.split(/\r?\n/).filter((l) => l.startsWith('[')).length;
    const values = (text: string) => text.split(/\r?\n/).filter((l) => /^("|@=)/.test(l)).length;
    assert.equal(keys(ours.stdout), keys(theirs));
    assert.equal(values(ours.stdout), values(theirs));
  });

  test('export -o writes regedit’s UTF-16LE form (the direct path), byte for byte what --utf8 writes in UTF-8, and through hivex’s reader the same keys', async () => {
    const hive = corpusPath('registry/plaso/NTUSER.DAT');
    const wide = at('export-wide.reg');
    const narrow = at('export-utf8.reg');
    for (const [argv, what] of [
      [['reg', 'export', hive, 'Software', '-o', wide, '--prefix', 'HKEY_CURRENT_USER'], 'utf16le'],
      [['reg', 'export', hive, 'Software', '-o', narrow, '--prefix', 'HKEY_CURRENT_USER', '--utf8'], 'utf8'],
    ] as const) {
      const run = await runCliCaptured([...argv]);
      assert.equal(run.code, 0, `${what}: ${run.stderr}`);
    }
    const wideBytes = await readFile(wide);
    assert.deepEqual([...wideBytes.subarray(0, 2)], [0xff, 0xfe]);
    const text = wideBytes.subarray(2).toString('utf16le');
    assert.equal(text, await readFile(narrow, 'utf8'));
    assert.match(text, /^Windows Registry Editor Version 5\.00\r\n\r\n\[HKEY_CURRENT_USER\\Software\]\r\n/);
    const theirs = (await runTool('hivexregedit', ['--export', hive, '\\Software'])).stdout;
    const keys = (t: string) => t.split(/\r?\n/).filter((l) => l.startsWith('[')).length;
    assert.equal(keys(text), keys(theirs));
  });

  test('import of a corpus .reg, then diff against the original, reproduces the change through hivex', async () => {
    const base = at('base.dat');
    await copyFile(corpusPath('registry/hivex/minimal'), base);
    const regPath = at('service.reg');
    const text = (await readFile(corpusPath('reg/windeploy-linux/sshd_service.reg'), 'utf8')).replace(
      /HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet/gi,
      'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001',
    );
    await writeFile(regPath, text);
    const imported = at('imported.dat');
    const run = await runCliCaptured(['reg', 'import', base, regPath, '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', '-o', imported]);
    assert.equal(run.code, 0, run.stderr);
    assert.match((await runTool('hivexregedit', ['--export', imported, '\\ControlSet001\\Services\\sshd'])).stdout, /"ImagePath"/);
    // diff base → imported, applied by hivex to base, must give the imported hive's content.
    const diffReg = at('diff.reg');
    assert.equal((await runCliCaptured(['reg', 'diff', base, imported, '-o', diffReg, '--utf8'])).code, 0);
    const merged = at('merged.dat');
    await copyFile(base, merged);
    await runTool('hivexregedit', ['--merge', merged, diffReg]);
    const norm = async (p: string) => (await runTool('hivexregedit', ['--export', p, '\\'])).stdout;
    assert.equal(await norm(merged), await norm(imported));
  });

  test('check passes clean corpus hives and fails the corrupt one with exit 3', async () => {
    assert.equal((await runCliCaptured(['reg', 'check', corpusPath('registry/plaso/SAM')])).code, 0);
    const bad = await runCliCaptured(['reg', 'check', corpusPath('registry/plaso/corrupt_sub_key_list.hiv')]);
    assert.equal(bad.code, 3);
    assert.match(bad.stdout, /DF_CHECK_/);
    assert.match(bad.stderr, /DF_HIVE_CHECK_FAILED/);
  });

  test('recover replays the dirty NTUSER.DAT logs into a clean hive; a dirty hive without logs is refused', async () => {
    const hive = await unxz('registry/regipy/transactions_NTUSER.DAT.xz', at('NTUSER.DAT'));
    await unxz('registry/regipy/transactions_ntuser.dat.log1.xz', at('NTUSER.DAT.LOG1'));
    await unxz('registry/regipy/transactions_ntuser.dat.log2.xz', at('NTUSER.DAT.LOG2'));
    const before = await sha(hive);
    const edit = await runCliCaptured(['reg', 'set', hive, 'Software\\X', 'y', '--type', 'REG_DWORD', '--data', '1']);
    assert.equal(edit.code, 3);
    assert.match(edit.stderr, /DF_HIVE_DIRTY/);
    assert.equal(await sha(hive), before, 'a refused edit leaves the hive untouched');
    const out = at('NTUSER.clean');
    const run = await runCliCaptured(['reg', 'recover', hive, '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await sha(hive), before, 'recover never writes its input');
    assert.equal((await runCliCaptured(['reg', 'check', out])).code, 0);
    await runTool('hivexregedit', ['--export', out, '\\Software\\Microsoft\\Payment\\PaymentApps']);
    const security = await unxz('registry/regipy/SECURITY.xz', at('SECURITY'));
    const refused = await runCliCaptured(['reg', 'recover', security]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /DF_HIVE_LOGS_MISSING/);
  });

  test('a bad .reg or a bad type changes nothing and exits non-zero', async () => {
    const hive = at('keep.dat');
    await copyFile(corpusPath('registry/hivex/minimal'), hive);
    const before = await sha(hive);
    const badReg = at('bad.reg');
    await writeFile(badReg, 'Windows Registry Editor Version 5.00\r\n\r\n[\\A]\r\n"x"=dword:zz\r\n');
    const run = await runCliCaptured(['reg', 'import', hive, badReg]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /bad\.reg:4/);
    assert.equal((await runCliCaptured(['reg', 'set', hive, 'A', 'b', '--type', 'REG_BOGUS', '--data', '1'])).code, 2);
    assert.equal((await runCliCaptured(['reg', 'set', hive, 'A', 'b', '--type', 'REG_DWORD', '--data', 'many'])).code, 3);
    assert.equal(await sha(hive), before);
  });
});
