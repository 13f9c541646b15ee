// The registry, files and remove-files steps over WindowsImage, on a copy of the sample media's
// install.wim, checked by tools nobody here wrote: hivexget on hives extracted by wimlib, and
// `wimlib-imagex verify` and `dir --detailed` on the committed WIM. The security-descriptor check
// uses the corpus's empty_dacl.wim, whose /file carries an NT security descriptor.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCorpus } from '../../test/helpers/corpus.js';
import {
  copyWim,
  freshPath,
  hivexget,
  planStep,
  runStep,
  sha256,
  useSampleInstallWim,
  useTempDir,
  wimlibDetailed,
  wimlibExtract,
  wimlibExtractFile,
  wimWithSecuredHive,
} from '../../test/helpers/step-harness.js';
import { BuildStepContext } from '../build/step-context.js';
import { openWindowsImage } from '../image/windows-image.js';
import { silentProgress } from '../progress.js';
import type { RegistryStep } from '../recipe/schema.js';
import { runTool } from '../util/exec.js';
import { filesStep } from './files/step.js';
import { registryStep } from './registry/step.js';
import { removeFilesStep } from './remove-files/step.js';

const SOFTWARE = '/Windows/System32/config/SOFTWARE';
const SYSTEM = '/Windows/System32/config/SYSTEM';
const LUA_KEY = 'Microsoft\\Windows\\CurrentVersion\\Policies\\System';

const tmp = useTempDir('deployforge-steps-');
const sampleWim = useSampleInstallWim(tmp);

describe('registry step', () => {
  const options = {
    type: 'registry',
    hive: 'SOFTWARE',
    set: [
      { key: LUA_KEY, name: 'EnableLUA', type: 'REG_DWORD', data: 0 },
      { key: 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon', name: 'Shell', type: 'REG_SZ', data: 'custom.exe' },
      { key: 'DeployForge\\Test', name: 'Tags', type: 'REG_MULTI_SZ', data: ['a', 'b'] },
    ],
    delete: [
      { key: LUA_KEY, name: 'PromptOnSecureDesktop' },
      { key: 'Nope', name: 'Missing' },
    ],
  } satisfies RegistryStep;

  test('plan lists exact old → new values, as hivexget reads them, and changes nothing', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const hives = await wimlibExtract(tmp.path, wim, 1, SOFTWARE);
    assert.equal(await hivexget(join(hives, 'SOFTWARE'), LUA_KEY, 'EnableLUA'), '1');
    assert.equal(await hivexget(join(hives, 'SOFTWARE'), 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon', 'Shell'), 'explorer.exe');
    const before = await sha256(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await planStep(registryStep, options, image, tmp.path);
      const shown = plan.changes.map((c) => ({
        kind: c.kind,
        key: c.key,
        value: 'value' in c ? c.value : undefined,
        old: 'old' in c ? c.old : undefined,
        new: 'new' in c ? c.new : undefined,
      }));
      assert.deepEqual(shown, [
        { kind: 'set-value', key: LUA_KEY, value: 'EnableLUA', old: { type: 'REG_DWORD', data: '1' }, new: { type: 'REG_DWORD', data: '0' } },
        {
          kind: 'set-value',
          key: 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon',
          value: 'Shell',
          old: { type: 'REG_SZ', data: 'explorer.exe' },
          new: { type: 'REG_SZ', data: 'custom.exe' },
        },
        { kind: 'set-value', key: 'DeployForge\\Test', value: 'Tags', old: null, new: { type: 'REG_MULTI_SZ', data: '["a","b"]' } },
        { kind: 'delete-value', key: LUA_KEY, value: 'PromptOnSecureDesktop', old: { type: 'REG_DWORD', data: '1' }, new: undefined },
        { kind: 'delete-value', key: 'Nope', value: 'Missing', old: null, new: undefined },
      ]);
      assert.equal(plan.warnings.length, 1, 'the missing value is a warning');
      assert.equal(image.isDirty(), false, 'plan staged nothing');
    } finally {
      await image.close();
    }
    assert.equal(await sha256(wim), before, 'the WIM is byte-identical after plan');
  });

  test('apply + commit: wimlib verifies, hivexget reads the new values, the hive keeps its attributes', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const was = await wimlibDetailed(wim, 1, SOFTWARE);
    const image = await openWindowsImage(wim, 1);
    try {
      await runStep(registryStep, options, image, tmp.path);
      const result = await image.commit();
      assert.deepEqual(result.hivesWritten, [SOFTWARE], 'only the touched hive is written, once');
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    const hives = await wimlibExtract(tmp.path, wim, 1, SOFTWARE);
    const hive = join(hives, 'SOFTWARE');
    assert.equal(await hivexget(hive, LUA_KEY, 'EnableLUA'), '0');
    assert.equal(await hivexget(hive, 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon', 'Shell'), 'custom.exe');
    await assert.rejects(hivexget(hive, LUA_KEY, 'PromptOnSecureDesktop'), 'the deleted value is gone');
    assert.deepEqual(await wimlibDetailed(wim, 1, SOFTWARE), was, 'attributes (and security descriptor) unchanged');
    const other = await wimlibExtract(tmp.path, wim, 2, SOFTWARE);
    assert.equal(await hivexget(join(other, 'SOFTWARE'), LUA_KEY, 'EnableLUA'), '1', 'edition 2 is untouched');
  });

  test('resolves CurrentControlSet to ControlSet001 for set entries and .reg files', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const reg = join(tmp.path, 'svc.reg');
    await writeFile(
      reg,
      'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SysMain]\r\n"Start"=dword:00000004\r\n\r\n[HKEY_CURRENT_USER\\Software\\Microsoft\\GameBar]\r\n"AutoGameModeEnabled"=dword:00000000\r\n',
    );
    const image = await openWindowsImage(wim, 1);
    try {
      const fromSet = await runStep(
        registryStep,
        { type: 'registry', hive: 'SYSTEM', set: [{ key: 'CurrentControlSet\\Services\\DiagTrack', name: 'Start', type: 'REG_DWORD', data: 4 }] },
        image,
        tmp.path,
      );
      const fromReg = await runStep(registryStep, { type: 'registry', reg: 'svc.reg' }, image, tmp.path);
      const brief = (c: (typeof fromSet.changes)[number]) => ({ hive: c.hive, key: c.key, old: 'old' in c ? c.old?.data : undefined });
      assert.deepEqual(fromSet.changes.map(brief), [{ hive: 'SYSTEM', key: 'ControlSet001\\Services\\DiagTrack', old: '2' }]);
      assert.deepEqual(fromReg.changes.filter((c) => c.kind === 'set-value').map(brief), [
        { hive: 'SYSTEM', key: 'ControlSet001\\Services\\SysMain', old: '2' },
        { hive: 'NTUSER', key: 'Software\\Microsoft\\GameBar', old: '1' },
      ]);
      const result = await image.commit();
      assert.deepEqual(result.hivesWritten.sort(), [SYSTEM, '/Users/Default/NTUSER.DAT'].sort());
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    const out = await wimlibExtract(tmp.path, wim, 1, SYSTEM, '/Users/Default/NTUSER.DAT');
    assert.equal(await hivexget(join(out, 'SYSTEM'), 'ControlSet001\\Services\\DiagTrack', 'Start'), '4');
    assert.equal(await hivexget(join(out, 'SYSTEM'), 'ControlSet001\\Services\\SysMain', 'Start'), '4');
    await assert.rejects(hivexget(join(out, 'SYSTEM'), 'CurrentControlSet\\Services\\DiagTrack', 'Start'), 'no CurrentControlSet key was created');
    assert.equal(await hivexget(join(out, 'NTUSER.DAT'), 'Software\\Microsoft\\GameBar', 'AutoGameModeEnabled'), '0');
  });

  test('keeps the security descriptor and attributes of a replaced hive (empty_dacl.wim)', { skip: !hasCorpus() && 'the shared corpus is not there' }, async () => {
    // A WIM whose SOFTWARE hive file carries an NT security descriptor: empty_dacl.wim's /file,
    // moved to the hive's path and given the sample's SOFTWARE contents.
    const wim = await wimWithSecuredHive(tmp.path, sampleWim.path, SOFTWARE);
    const was = await wimlibDetailed(wim, 1, SOFTWARE);
    assert.notEqual(was.sd, '', 'the fixture hive has a security descriptor');

    const image = await openWindowsImage(wim, 1);
    try {
      await runStep(registryStep, { type: 'registry', hive: 'SOFTWARE', set: [{ key: LUA_KEY, name: 'EnableLUA', type: 'REG_DWORD', data: 0 }] }, image, tmp.path);
      await image.commit();
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    assert.deepEqual(await wimlibDetailed(wim, 1, SOFTWARE), was, 'security descriptor and attributes unchanged');
    assert.equal(await hivexget(await wimlibExtractFile(tmp.path, wim, 1, SOFTWARE), LUA_KEY, 'EnableLUA'), '0');
  });
});

describe('files and remove-files steps', () => {
  test('plan lists additions, replacements and removals with sizes; apply + commit lands them', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const local = freshPath(tmp.path, 'local');
    await mkdir(join(local, 'tree', 'sub'), { recursive: true });
    await writeFile(join(local, 'tree', 'a.txt'), 'alpha\r\n');
    await writeFile(join(local, 'tree', 'sub', 'b.bin'), Buffer.alloc(5000, 7));
    await writeFile(join(local, 'kernel32.dll'), 'not really a dll');
    const before = await sha256(wim);

    const image = await openWindowsImage(wim, 1);
    let removed: string[];
    try {
      const kernelSize = image.stat('/Windows/System32/kernel32.dll')?.size;
      const folder = await planStep(filesStep, { type: 'files', from: 'tree', to: '/Windows/Setup/Scripts' }, image, local);
      const file = await planStep(filesStep, { type: 'files', from: 'kernel32.dll', to: '/Windows/System32/' }, image, local);
      const gone = await planStep(
        removeFilesStep,
        { type: 'remove-files', paths: ['/Windows/System32/DriverStore/FileRepository/sample00*', '/Program Files/WindowsApps/**', '/No/Such'] },
        image,
        local,
      );
      assert.deepEqual(
        folder.changes.map((c) => ({ kind: c.kind, path: c.path, size: 'size' in c ? c.size : undefined })),
        [
          { kind: 'mkdir', path: '/Windows/Setup/Scripts', size: undefined },
          { kind: 'add', path: '/Windows/Setup/Scripts/a.txt', size: 7 },
          { kind: 'mkdir', path: '/Windows/Setup/Scripts/sub', size: undefined },
          { kind: 'add', path: '/Windows/Setup/Scripts/sub/b.bin', size: 5000 },
        ],
      );
      assert.deepEqual(file.changes, [{ kind: 'replace', path: '/Windows/System32/kernel32.dll', source: join(local, 'kernel32.dll'), size: 16, oldSize: kernelSize }]);
      assert.deepEqual(gone.warnings.length, 1, 'the missing path is a warning');
      assert.ok(gone.changes.length > 3, 'driver folders and app folders are listed');
      assert.ok(gone.changes.some((c) => c.path === '/Windows/System32/DriverStore/FileRepository/sample000.inf_amd64_00000001' && c.isDirectory && c.files === 1));
      assert.ok(!gone.changes.some((c) => c.path === '/Program Files/WindowsApps'), 'a trailing ** keeps the folder itself');
      assert.equal(image.isDirty(), false);
      assert.equal(await sha256(wim), before, 'plans change nothing');

      await filesStep.apply(folder.changes, image, silentProgress, new BuildStepContext());
      await filesStep.apply(file.changes, image, silentProgress, new BuildStepContext());
      await removeFilesStep.apply(gone.changes, image, silentProgress, new BuildStepContext());
      assert.deepEqual(Buffer.from(await image.readFile('/Windows/Setup/Scripts/a.txt')).toString(), 'alpha\r\n', 'staged files read back');
      removed = gone.changes.map((c) => c.path);
      await image.commit();
      assert.deepEqual(Buffer.from(await image.readFile('/Windows/System32/kernel32.dll')).toString(), 'not really a dll', 'committed files read back');
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    const listing = (await runTool('wimlib-imagex', ['dir', wim, '1'])).stdout.split('\n');
    for (const path of removed) assert.ok(!listing.includes(path), `${path} is gone`);
    assert.ok(listing.includes('/Program Files/WindowsApps'));
    const out = await wimlibExtract(tmp.path, wim, 1, '/Windows/Setup', '/Windows/System32/kernel32.dll');
    assert.equal(await readFile(join(out, 'Setup', 'Scripts', 'a.txt'), 'utf8'), 'alpha\r\n');
    assert.deepEqual(await readFile(join(out, 'Setup', 'Scripts', 'sub', 'b.bin')), Buffer.alloc(5000, 7));
    assert.equal(await readFile(join(out, 'kernel32.dll'), 'utf8'), 'not really a dll');
  });
});
