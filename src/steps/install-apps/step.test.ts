// The `install-apps` step on a copy of the sample install.wim: the schema checks winget ids and
// versions; plan lists each package for first logon and changes nothing; apply + commit writes
// install-apps.ps1 (read back with wimlib-imagex) with every package, pinned versions and the
// wait for winget, and adds one first-logon command to the answer-file contributions.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyWim, sha256, useSampleInstallWim, useTempDir, wimlibExtract } from '../../../test/helpers/step-harness.js';
import { BuildStepContext } from '../../build/step-context.js';
import { openWindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { changeTime } from '../define-step.js';
import { FIRST_LOGON_COMMAND, InstallAppsStepSchema, installAppsStep, SCRIPT_IMAGE_PATH } from './step.js';

const tmp = useTempDir('deployforge-install-apps-step-');
const sampleWim = useSampleInstallWim(tmp, 1);

const recipe = InstallAppsStepSchema.parse({
  type: 'install-apps',
  packages: [{ id: 'Mozilla.Firefox', version: '128.0.3' }, { id: 'Microsoft.VisualStudioCode' }, { id: '9NBLGGH4NNS1', source: 'msstore' }],
  scope: 'machine',
});

describe('install-apps step', () => {
  test('the schema checks winget ids, versions and sources and is strict', () => {
    const ok = (packages: unknown, extra: Record<string, unknown> = {}) => InstallAppsStepSchema.safeParse({ type: 'install-apps', packages, ...extra }).success;
    assert.equal(ok([{ id: 'Mozilla.Firefox' }]), true);
    assert.equal(ok([{ id: 'Microsoft.VisualStudioCode.Insiders', version: '1.93.0-insider' }]), true);
    assert.equal(ok([{ id: 'Git.Git', version: '2.46.0' }], { scope: 'user', when: 'first-logon' }), true);
    assert.equal(ok([{ id: '9NBLGGH4NNS1', source: 'msstore' }]), true);
    assert.equal(ok([]), false, 'at least one package');
    assert.equal(ok([{ id: 'Firefox' }]), false, 'a winget id has at least two segments');
    assert.equal(ok([{ id: 'Mozilla..Firefox' }]), false, 'no empty segment');
    assert.equal(ok([{ id: "Mozilla.Fire'fox" }]), false, 'no quotes');
    assert.equal(ok([{ id: 'Mozilla.Firefox --force' }]), false, 'no spaces');
    assert.equal(ok([{ id: 'Mozilla.Firefox', version: '1.0; rm' }]), false, 'versions are plain');
    assert.equal(ok([{ id: 'Mozilla.Firefox', source: 'chocolatey' }]), false);
    assert.equal(ok([{ id: 'Mozilla.Firefox' }, { id: 'mozilla.firefox' }]), false, 'listed twice');
    assert.equal(ok([{ id: 'Mozilla.Firefox' }], { when: 'windows-setup' }), false, 'first logon only');
    assert.equal(ok([{ id: 'Mozilla.Firefox', colour: 'red' }]), false, 'strict packages');
  });

  test('plan lists every package for first logon and changes nothing', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const was = await sha256(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await installAppsStep.plan(recipe, image, { baseDir: tmp.path });
      assert.deepEqual(
        plan.changes.map((c) => [c.kind, changeTime(c), c.kind === 'package' ? `${c.id}@${c.version ?? 'latest'}/${c.source}/${c.scope}` : null]),
        [
          ['package', 'first-logon', 'Mozilla.Firefox@128.0.3/winget/machine'],
          ['package', 'first-logon', 'Microsoft.VisualStudioCode@latest/winget/machine'],
          ['package', 'first-logon', '9NBLGGH4NNS1@latest/msstore/machine'],
          ['write-script', 'offline', null],
          ['first-logon-command', 'first-logon', null],
        ],
      );
      assert.deepEqual(plan.warnings, []);
      assert.ok(plan.setupTimeNotes?.some((t) => /network/.test(t)));
      assert.ok(plan.setupTimeNotes?.some((t) => /signed-in user/.test(t)));
      assert.deepEqual(installAppsStep.describe?.(plan.changes[0]), ['install Mozilla.Firefox 128.0.3 (pinned) from winget, scope machine']);
      assert.equal(image.isDirty(), false);
    } finally {
      await image.close();
    }
    assert.equal(await sha256(wim), was);
  });

  test('apply + commit writes install-apps.ps1 and adds one first-logon command', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const context = new BuildStepContext();
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await installAppsStep.plan(recipe, image, { baseDir: tmp.path });
      await installAppsStep.apply(plan.changes, image, silentProgress, context);
      await installAppsStep.apply(plan.changes, image, silentProgress, context);
      await image.commit();
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    const dest = await wimlibExtract(tmp.path, wim, 1, SCRIPT_IMAGE_PATH);
    const bytes = await readFile(join(dest, 'install-apps.ps1'));
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with BOM for Windows PowerShell');
    const text = bytes.subarray(3).toString('utf8');
    assert.doesNotMatch(text, /[^\x00-\x7f]/, 'ASCII only');
    assert.doesNotMatch(text, /[^\r]\n/, 'CRLF line ends');
    assert.match(text, /@\{ Id = 'Mozilla\.Firefox'; Version = '128\.0\.3'; Source = 'winget' \}/);
    assert.match(text, /@\{ Id = 'Microsoft\.VisualStudioCode'; Version = ''; Source = 'winget' \}/);
    assert.match(text, /@\{ Id = '9NBLGGH4NNS1'; Version = ''; Source = 'msstore' \}/);
    assert.match(text, /\$Scope = 'machine'/);
    assert.match(text, /'install', '--exact', '--id', \$p\.Id, '--source', \$p\.Source, '--silent', '--accept-package-agreements', '--accept-source-agreements'/);
    assert.match(text, /'--version', \$p\.Version/);
    assert.match(text, /Add-AppxPackage -RegisterByFamilyName -MainPackage 'Microsoft\.DesktopAppInstaller_8wekyb3d8bbwe'/, 'asks Windows to register winget while waiting');
    assert.match(text, /install-apps\.log/);

    assert.deepEqual(context.unattend.firstLogonCommands, [{ commandLine: FIRST_LOGON_COMMAND, description: 'DeployForge install-apps: install winget packages' }]);
    assert.ok(FIRST_LOGON_COMMAND.length <= 1024, 'FirstLogonCommands CommandLine limit');
    assert.match(FIRST_LOGON_COMMAND, /-File C:\\Windows\\Setup\\Scripts\\install-apps\.ps1'"$/);
    assert.deepEqual(context.unattend.specializeCommands, []);
  });

  test('a second install-apps script in the same image is a warning, and a pinned msstore version too', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const image = await openWindowsImage(wim, 1);
    try {
      const first = await installAppsStep.plan(recipe, image, { baseDir: tmp.path });
      await installAppsStep.apply(first.changes, image, silentProgress, new BuildStepContext());
      const second = await installAppsStep.plan(
        InstallAppsStepSchema.parse({ type: 'install-apps', packages: [{ id: '9NBLGGH4NNS1', source: 'msstore', version: '1.0' }] }),
        image,
        { baseDir: tmp.path },
      );
      assert.ok(
        second.warnings.some((w) => /already exists .* one install-apps step/.test(w)),
        second.warnings.join('\n'),
      );
      assert.ok(second.warnings.some((w) => /msstore source serves the current version/.test(w)));
    } finally {
      await image.close();
    }
  });
});
