// The `scripts` step on a copy of the sample media's install.wim: plan says what runs when and
// where it logs and changes nothing; apply + commit puts the scripts under Windows/Setup/Scripts
// (read back with wimlib-imagex), merges SetupComplete.cmd keeping the lines already there, sets
// the Default profile's RunOnce value (read back with hivexget) and fills the answer-file
// contributions.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { copyWim, hivexget, sha256, useSampleInstallWim, useTempDir, wimlibExtract } from '../../../test/helpers/step-harness.js';
import { BuildStepContext } from '../../build/step-context.js';
import { openWindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { changeTime } from '../define-step.js';
import { mergeSetupComplete, RUN_ONCE_KEY, type ScriptsChange, ScriptsStepSchema, scriptsStep } from './step.js';

const tmp = useTempDir('deployforge-scripts-step-');
const sampleWim = useSampleInstallWim(tmp, 1);

const SCRIPTS = '/Windows/Setup/Scripts';
const EXISTING_SETUP_COMPLETE = '@echo off\r\nrem installed by the OEM\r\nreg add "HKLM\\SOFTWARE\\Contoso" /v Imaged /t REG_SZ /d yes /f\r\nexit /b 0\r\n';

const recipe = (localFile: string) =>
  ScriptsStepSchema.parse({
    type: 'scripts',
    specialize: [{ name: 'join-domain.ps1', content: "Write-Output 'joining'\n" }],
    setupComplete: [
      { name: 'printers.ps1', content: "Write-Output 'Drucker eingerichtet: Größe'\n" },
      { name: 'cleanup.cmd', file: localFile },
    ],
    firstLogon: [
      { name: 'first-a.ps1', content: 'Write-Output a\n' },
      { name: 'first-b.cmd', content: 'echo b\r\n' },
    ],
    everyNewUser: [{ name: 'user-prefs.ps1', content: 'Set-ItemProperty -Path HKCU:\\Software\\Contoso -Name Seen -Value 1\n' }],
  });

before(async () => {
  await writeFile(join(await tmp.ready, 'cleanup.cmd'), 'del /q C:\\Temp\\*.tmp\n');
});

describe('scripts step', () => {
  test('the schema is strict: exactly one of content or file, .ps1/.cmd names, unique across stages, no reserved names', () => {
    const ok = (v: unknown) => ScriptsStepSchema.safeParse(v).success;
    assert.equal(ok({ type: 'scripts' }), false, 'needs at least one stage');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'a.ps1' }] }), false, 'needs content or file');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'a.ps1', content: 'x', file: 'a.ps1' }] }), false, 'not both');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'a.bat', content: 'x' }] }), false, '.ps1 or .cmd only');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'my script.ps1', content: 'x' }] }), false, 'no spaces');
    assert.equal(ok({ type: 'scripts', setupComplete: [{ name: 'SetupComplete.cmd', content: 'x' }] }), false, 'Windows Setup name');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'DeployForge-x.ps1', content: 'x' }] }), false, 'reserved prefix');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'a.ps1', content: 'x' }], specialize: [{ name: 'A.PS1', content: 'y' }] }), false, 'one folder, one name');
    assert.equal(ok({ type: 'scripts', firstLogon: [{ name: 'a.ps1', content: 'x' }], colour: 'red' }), false, 'strict');
    assert.equal(ok({ type: 'scripts', everyNewUser: [{ name: 'a.cmd', file: 'a.cmd' }] }), true);
  });

  test('plan lists what runs when and where it logs, and changes nothing', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const was = await sha256(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await scriptsStep.plan(recipe(join(tmp.path, 'cleanup.cmd')), image, { baseDir: tmp.path });
      const runs = plan.changes.filter((c): c is Extract<ScriptsChange, { kind: 'run' }> => c.kind === 'run');
      assert.deepEqual(
        runs.map((r) => [r.stage, r.script, changeTime(r), r.log]),
        [
          ['specialize', 'join-domain.ps1', 'windows-setup', 'C:\\Windows\\Setup\\Scripts\\join-domain.ps1.log'],
          ['setupComplete', 'printers.ps1', 'windows-setup', 'C:\\Windows\\Setup\\Scripts\\printers.ps1.log'],
          ['setupComplete', 'cleanup.cmd', 'windows-setup', 'C:\\Windows\\Setup\\Scripts\\cleanup.cmd.log'],
          ['firstLogon', 'first-a.ps1', 'first-logon', 'C:\\Windows\\Setup\\Scripts\\first-a.ps1.log'],
          ['firstLogon', 'first-b.cmd', 'first-logon', 'C:\\Windows\\Setup\\Scripts\\first-b.cmd.log'],
          ['everyNewUser', 'user-prefs.ps1', 'first-logon', '%LOCALAPPDATA%\\DeployForge\\Logs\\user-prefs.ps1.log'],
        ],
      );
      assert.ok(
        plan.changes.every(
          (c) => c.kind === 'run' || changeTime(c) === (c.kind === 'specialize-command' ? 'windows-setup' : c.kind === 'first-logon-command' ? 'first-logon' : 'offline'),
        ),
      );
      assert.ok(
        plan.setupTimeNotes?.some((t) => /OEM product key/.test(t)),
        'the SetupComplete.cmd OEM-key rule is stated',
      );
      assert.ok(plan.warnings.some((w) => /non-ASCII/.test(w)) === false, 'only .cmd content is checked for non-ASCII text');
      assert.ok(
        plan.changes.every((c) => scriptsStep.describe?.(c).length),
        'every change has a description',
      );
      assert.equal(image.isDirty(), false);
    } finally {
      await image.close();
    }
    assert.equal(await sha256(wim), was, 'the WIM is byte-identical after plan');
  });

  test('apply + commit: scripts, a merged SetupComplete.cmd, the RunOnce value and the answer-file commands', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    // The sample has no Setup\Scripts folder: give it an OEM SetupComplete.cmd first.
    let image = await openWindowsImage(wim, 1);
    image.writeFile(`${SCRIPTS}/SetupComplete.cmd`, new Uint8Array(Buffer.from(EXISTING_SETUP_COMPLETE, 'latin1')));
    await image.commit();
    await image.close();

    const context = new BuildStepContext();
    image = await openWindowsImage(wim, 1);
    try {
      const plan = await scriptsStep.plan(recipe(join(tmp.path, 'cleanup.cmd')), image, { baseDir: tmp.path });
      assert.ok(
        plan.warnings.some((w) => /SetupComplete\.cmd already exists: its 4 line/.test(w)),
        plan.warnings.join('\n'),
      );
      await scriptsStep.apply(plan.changes, image, silentProgress, context);
      await image.commit();
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);

    const listing = (await runTool('wimlib-imagex', ['dir', wim, '1', `--path=${SCRIPTS}`])).stdout.split('\n').map((l) => l.trim());
    for (const name of ['join-domain.ps1', 'printers.ps1', 'cleanup.cmd', 'first-a.ps1', 'first-b.cmd', 'user-prefs.ps1', 'SetupComplete.cmd']) {
      assert.ok(listing.includes(`${SCRIPTS}/${name}`), `${name} is in the image`);
    }
    const runners = listing.filter((l) => /DeployForge-(FirstLogon|EveryNewUser)-[0-9a-f]{8}\.ps1$/.test(l));
    assert.equal(runners.length, 2, listing.join('\n'));

    const out = await wimlibExtract(tmp.path, wim, 1, `${SCRIPTS}`, '/Users/Default/NTUSER.DAT');
    const dir = join(out, 'Scripts');
    const printers = await readFile(join(dir, 'printers.ps1'));
    assert.deepEqual([...printers.subarray(0, 3)], [0xef, 0xbb, 0xbf], '.ps1 is UTF-8 with BOM');
    assert.equal(printers.subarray(3).toString('utf8'), "Write-Output 'Drucker eingerichtet: Größe'\r\n", 'CRLF line ends, text kept');
    assert.equal(await sha256(join(dir, 'cleanup.cmd')), await sha256(join(tmp.path, 'cleanup.cmd')), 'a file script is copied byte for byte');
    assert.equal((await readFile(join(dir, 'first-b.cmd'))).toString('latin1'), 'echo b\r\n', '.cmd without BOM');

    const setupComplete = (await readFile(join(dir, 'SetupComplete.cmd'))).toString('latin1');
    const lines = setupComplete.split('\r\n');
    assert.equal(lines[0], '@echo off');
    assert.match(lines[1], /^rem DeployForge scripts step [0-9a-f]{8}: begin$/);
    const end = lines.findIndex((l) => / end$/.test(l));
    assert.ok(end > 1);
    assert.deepEqual(
      lines.slice(end + 1),
      ['rem installed by the OEM', 'reg add "HKLM\\SOFTWARE\\Contoso" /v Imaged /t REG_SZ /d yes /f', 'exit /b 0', ''],
      'the OEM lines follow ours unchanged',
    );
    const block = lines.slice(1, end).join('\n');
    assert.match(
      block,
      /^powershell\.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Windows\\Setup\\Scripts\\printers\.ps1 >>C:\\Windows\\Setup\\Scripts\\printers\.ps1\.log 2>&1$/m,
    );
    assert.match(block, /^cmd\.exe \/c C:\\Windows\\Setup\\Scripts\\cleanup\.cmd >>C:\\Windows\\Setup\\Scripts\\cleanup\.cmd\.log 2>&1$/m);
    assert.ok(block.indexOf('printers.ps1') < block.indexOf('cleanup.cmd'), 'in recipe order');
    assert.doesNotMatch(setupComplete, /[^\r]\n/, 'CRLF throughout');

    const firstRunner = (
      await readFile(
        join(
          dir,
          runners
            .find((r) => /FirstLogon/.test(r))
            ?.split('/')
            .pop() as string,
        ),
      )
    ).toString('utf8');
    assert.ok(firstRunner.indexOf("Invoke-LoggedScript 'first-a.ps1'") < firstRunner.indexOf("Invoke-LoggedScript 'first-b.cmd'"), 'the runner keeps the order');

    const everyRunner = runners
      .find((r) => /EveryNewUser/.test(r))
      ?.split('/')
      .pop() as string;
    const tag = /-([0-9a-f]{8})\.ps1$/.exec(everyRunner)?.[1];
    const runOnce = await hivexget(join(out, 'NTUSER.DAT'), RUN_ONCE_KEY, `DeployForgeScripts-${tag}`);
    assert.equal(runOnce, `powershell.exe -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -File C:\\Windows\\Setup\\Scripts\\${everyRunner}`);
    assert.ok(runOnce.length <= 260, 'RunOnce command lines are at most 260 characters');

    assert.deepEqual(
      context.unattend.specializeCommands.map((c) => c.commandLine),
      ['cmd.exe /c powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Windows\\Setup\\Scripts\\join-domain.ps1 >>C:\\Windows\\Setup\\Scripts\\join-domain.ps1.log 2>&1'],
    );
    assert.ok(context.unattend.specializeCommands.every((c) => c.commandLine.length <= 259));
    assert.equal(context.unattend.firstLogonCommands.length, 1, 'one runner, so the scripts run in order');
    assert.match(context.unattend.firstLogonCommands[0].commandLine, /-File C:\\Windows\\Setup\\Scripts\\DeployForge-FirstLogon-[0-9a-f]{8}\.ps1$/);
  });

  test('applying to a second edition adds each answer-file command once', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const context = new BuildStepContext();
    for (let i = 0; i < 2; i++) {
      const image = await openWindowsImage(wim, 1);
      try {
        const plan = await scriptsStep.plan(recipe(join(tmp.path, 'cleanup.cmd')), image, { baseDir: tmp.path });
        await scriptsStep.apply(plan.changes, image, silentProgress, context);
      } finally {
        await image.close();
      }
    }
    assert.equal(context.unattend.specializeCommands.length, 1);
    assert.equal(context.unattend.firstLogonCommands.length, 1);
  });

  test('merging SetupComplete.cmd replaces the same step’s block and keeps other steps’ blocks and the original lines', () => {
    const first = mergeSetupComplete(EXISTING_SETUP_COMPLETE, 'aaaaaaaa', ['a.ps1']);
    assert.equal(first.keptLines, 4);
    const second = mergeSetupComplete(first.text, 'bbbbbbbb', ['b.cmd']);
    const again = mergeSetupComplete(second.text, 'aaaaaaaa', ['a.ps1', 'c.ps1']);
    const lines = again.text.split('\r\n');
    const begins = lines.filter((l) => / begin$/.test(l));
    assert.deepEqual(begins, ['rem DeployForge scripts step aaaaaaaa: begin', 'rem DeployForge scripts step bbbbbbbb: begin'], 'one block per step, in the order they were added');
    assert.ok(again.text.includes('c.ps1'));
    assert.equal(again.text.split('exit /b 0').length, 2, 'the original lines appear once');
    assert.ok(again.text.endsWith('exit /b 0\r\n'), 'the original lines stay last');
    const fresh = mergeSetupComplete(undefined, 'aaaaaaaa', ['a.ps1']);
    assert.equal(fresh.keptLines, 0);
    assert.ok(fresh.text.startsWith('@echo off\r\nrem DeployForge scripts step aaaaaaaa: begin\r\n'));
  });

  test('a script file that does not exist fails plan with DF_STEP_SCRIPT_FILE', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const options = ScriptsStepSchema.parse({ type: 'scripts', setupComplete: [{ name: 'x.cmd', file: 'missing.cmd' }] });
      await assert.rejects(scriptsStep.plan(options, image, { baseDir: tmp.path }), { code: 'DF_STEP_SCRIPT_FILE' });
    } finally {
      await image.close();
    }
  });

  test('non-ASCII text in a .cmd script is a warning', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const options = ScriptsStepSchema.parse({ type: 'scripts', firstLogon: [{ name: 'x.cmd', content: 'echo Größe' }] });
      const plan = await scriptsStep.plan(options, image, { baseDir: tmp.path });
      assert.ok(plan.warnings.some((w) => /x\.cmd has non-ASCII/.test(w)));
    } finally {
      await image.close();
    }
  });
});
