// The updates step on copies of the sample install.wim, with small update packages made by gcab:
// plain cabinets holding an update.mum (a servicing stack update, a cumulative update, an unnamed
// one) and an MSU-shaped cabinet that nests a cumulative update, its SSU-*.cab, the servicing XML,
// pkgProperties.txt and WSUSSCAN.cab, as Microsoft Update Catalog MSUs do. The plan (kinds, order,
// refusals), then apply + commit read back with `wimlib-imagex dir`/`extract`.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyWim, freshPath, imageOnlyContext, useSampleInstallWim, useTempDir, wimlibCat, wimlibDir } from '../../../test/helpers/step-harness.js';
import { makeCab } from '../../../test/helpers/step-inputs.js';
import type { DeployForgeError } from '../../errors.js';
import { openWindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import {
  buildUpdatesScript,
  classifyUpdate,
  readAssemblyIdentities,
  readUpdatePackage,
  SETUPCOMPLETE_CALL,
  SETUPCOMPLETE_PATH,
  UPDATES_SCRIPT_PATH,
  type UpdatesChange,
  updatesStep,
  withSetupCompleteCall,
} from './step.js';

const tmp = useTempDir('deployforge-updates-');
const sampleWim = useSampleInstallWim(tmp, 1);

const mum = (name: string, version: string, arch = 'amd64') =>
  [
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    `<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0" description="Fix for ${name}" company="Microsoft Corporation">`,
    `  <assemblyIdentity name="${name}" version="${version}" language="neutral" processorArchitecture="${arch}" publicKeyToken="31bf3856ad364e35"/>`,
    '  <package identifier="KB5099999" releaseType="Security Update">',
    `    <update name="sub"><package><assemblyIdentity name="${name}~sub" version="${version}" language="neutral" processorArchitecture="${arch}" publicKeyToken="31bf3856ad364e35"/></package></update>`,
    '  </package>',
    '</assembly>',
    '',
  ].join('\r\n');

/** A cabinet `name` in a fresh folder holding `files` (name → text), made by gcab (MSZIP unless `stored`). */
async function gcab(name: string, files: Record<string, string | Uint8Array>, stored = false): Promise<string> {
  const dir = freshPath(tmp.path, 'cab');
  const out = join(dir, name);
  await makeCab(out, dir, files, !stored);
  return out;
}

const ssuCab = () => gcab('ssu-26100.4000-x64.cab', { 'update.mum': mum('Package_for_ServicingStack_4000', '26100.4000.1.0') });
const lcuCab = () => gcab('windows11.0-kb5088888-x64.cab', { 'update.mum': mum('Package_for_RollupFix', '26100.4061.1.7'), 'payload.bin': Buffer.alloc(5000, 3) });

/** An MSU as the Update Catalog ships a combined SSU + LCU: nested cabinets plus metadata. */
async function combinedMsu(arch = 'x64'): Promise<string> {
  const kb = 'Windows11.0-KB5099999';
  const lcu = await readFile(await gcab(`${kb}-${arch}.cab`, { 'update.mum': mum('Package_for_RollupFix', '26100.4100.1.3', arch === 'x64' ? 'amd64' : arch) }));
  const ssu = await readFile(await gcab(`SSU-26100.4100-${arch}.cab`, { 'update.mum': mum('Package_for_ServicingStack_4100', '26100.4100.1.0', arch === 'x64' ? 'amd64' : arch) }));
  const wsus = await readFile(await gcab('WSUSSCAN.cab', { 'wsusscan.xml': '<x/>' }));
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<unattend xmlns="urn:schemas-microsoft-com:unattend"><servicing>',
    `<package action="install"><assemblyIdentity name="Package_for_RollupFix" version="26100.4100.1.3" language="neutral" processorArchitecture="${arch === 'x64' ? 'amd64' : arch}" publicKeyToken="31bf3856ad364e35"/><source location="%configsetroot%\\${kb}-${arch}.cab"/></package>`,
    '</servicing></unattend>',
  ].join('\r\n');
  const properties = Buffer.concat([
    Buffer.from([0xff, 0xfe]),
    Buffer.from(`ApplicabilityInfo="Windows 10.0 Client SP0;"\r\nKB Article Number="5099999"\r\nProcessor Architecture="${arch === 'x64' ? 'amd64' : arch}"\r\n`, 'utf16le'),
  ]);
  return gcab(
    `${kb.toLowerCase()}-${arch}_0123456789abcdef.msu`,
    {
      [`${kb}-${arch}.cab`]: lcu,
      [`SSU-26100.4100-${arch}.cab`]: ssu,
      'WSUSSCAN.cab': wsus,
      [`${kb}-${arch}.xml`]: xml,
      [`${kb}-${arch}-pkgProperties.txt`]: properties,
    },
    true,
  );
}

const ofKind = <K extends UpdatesChange['kind']>(changes: UpdatesChange[], kind: K) => changes.filter((c): c is Extract<UpdatesChange, { kind: K }> => c.kind === kind);
const problemCodes = (error: unknown) => ((error as DeployForgeError).details.problems as { code: string }[]).map((p) => p.code).sort();

describe('reading update packages', () => {
  test('reads the identity of a plain cabinet from its update.mum', async () => {
    const info = await readUpdatePackage(await ssuCab());
    assert.equal(info.format, 'cab');
    assert.equal(info.updateKind, 'servicing-stack');
    assert.deepEqual(info.identities, [
      { name: 'Package_for_ServicingStack_4000', version: '26100.4000.1.0', processorArchitecture: 'amd64', publicKeyToken: '31bf3856ad364e35', language: 'neutral' },
    ]);
    assert.equal(info.architecture, 'amd64');
  });

  test('reads a combined MSU: nested cabinets, the servicing XML, pkgProperties.txt (UTF-16) and the SSU inside', async () => {
    const info = await readUpdatePackage(await combinedMsu());
    assert.equal(info.format, 'msu');
    assert.equal(info.updateKind, 'cumulative');
    assert.match(info.kindReason, /Package_for_RollupFix/);
    assert.equal(info.bundlesServicingStack, true);
    assert.equal(info.kb, 'KB5099999');
    assert.equal(info.architecture, 'amd64');
    assert.deepEqual(info.payloads.sort(), ['SSU-26100.4100-x64.cab', 'Windows11.0-KB5099999-x64.cab']);
    assert.deepEqual(info.notes, []);
  });

  test('classifies by identity, then a bundled SSU, then the file name', () => {
    const of = (name: string, ids: string[] = [], bundles = false) => classifyUpdate({ name, identities: ids.map((id) => ({ name: id })), bundlesServicingStack: bundles }).kind;
    assert.equal(of('x.cab', ['Package_for_ServicingStack_123']), 'servicing-stack');
    assert.equal(of('x.cab', ['Package_for_RollupFix']), 'cumulative');
    assert.equal(of('x.msu', ['Package_for_RollupFix', 'Package_for_ServicingStack_9']), 'cumulative');
    assert.equal(of('x.msu', [], true), 'cumulative');
    assert.equal(of('x.cab', ['Package_for_DotNetRollup']), 'other');
    assert.equal(of('ssu-19041.1-x64.cab'), 'servicing-stack');
    assert.equal(of('2024-05 Cumulative Update.msu'), 'cumulative');
    assert.equal(of('windows10.0-kb5000001-x64.msu'), 'other');
    assert.deepEqual(readAssemblyIdentities("<assemblyIdentity version='1.0' name='A'/><assemblyIdentity nameless='x'/>"), [
      { name: 'A', version: '1.0', processorArchitecture: undefined, publicKeyToken: undefined, language: undefined },
    ]);
  });

  test('the script runs DISM per package in order and SetupComplete.cmd calls it first', () => {
    const script = buildUpdatesScript([
      { name: 'a.cab', updateKind: 'servicing-stack' },
      { name: 'b.msu', updateKind: 'cumulative' },
    ]);
    assert.ok(script.endsWith('\r\n') && !/[^\r]\n/.test(script), 'CRLF line ends');
    assert.ok(/^[\x20-\x7e\r\n]*$/.test(script), 'ASCII only');
    assert.ok(script.indexOf('call :install 1 servicing-stack "a.cab"') < script.indexOf('call :install 2 cumulative "b.msu"'));
    assert.match(script, /dism\.exe \/Online \/Add-Package \/PackagePath:"%UPDATES%\\%~3" \/NoRestart/);
    assert.equal(withSetupCompleteCall(undefined).split('\r\n')[2], SETUPCOMPLETE_CALL);
    assert.equal(withSetupCompleteCall('@echo off\r\nmyapp.exe /s\r\nexit /b 0\r\n'), `@echo off\r\n${SETUPCOMPLETE_CALL}\r\nmyapp.exe /s\r\nexit /b 0\r\n`);
    assert.equal(withSetupCompleteCall('myapp.exe\n'), `${SETUPCOMPLETE_CALL}\nmyapp.exe\n`);
    const once = withSetupCompleteCall('@echo off');
    assert.equal(withSetupCompleteCall(once), once, 'adding the call twice changes nothing');
  });
});

describe('updates step', () => {
  test('the schema is strict and knows two methods', () => {
    const schema = updatesStep.schema;
    assert.equal(schema.safeParse({ type: 'updates', packages: ['a.msu'] }).success, true);
    assert.equal(schema.safeParse({ type: 'updates', packages: ['a.msu'], method: 'specialize' }).success, true);
    assert.equal(schema.safeParse({ type: 'updates', packages: ['a.msu'], method: 'offline' }).success, false);
    assert.equal(schema.safeParse({ type: 'updates', packages: [] }).success, false);
    assert.equal(schema.safeParse({ type: 'updates', packages: ['a.msu'], extra: true }).success, false);
  });

  test('plans servicing stack first, then cumulative, then the rest, all installed at setup', async () => {
    const lcu = await combinedMsu();
    const ssu = await ssuCab();
    const other = await gcab('extras.cab', { 'readme.txt': 'no update.mum here' });
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const plan = await updatesStep.plan(updatesStep.schema.parse({ type: 'updates', packages: [other, lcu, ssu] }), image, { baseDir: tmp.path });
      const packages = ofKind(plan.changes, 'package');
      assert.deepEqual(
        packages.map((p) => [p.order, p.updateKind, p.name]),
        [
          [1, 'servicing-stack', 'ssu-26100.4000-x64.cab'],
          [2, 'cumulative', 'windows11.0-kb5099999-x64_0123456789abcdef.msu'],
          [3, 'other', 'extras.cab'],
        ],
      );
      assert.ok(packages.every((p) => p.when === 'windows-setup'));
      assert.equal(packages[1].identity?.name, 'Package_for_RollupFix');
      assert.equal(packages[1].imagePath, '/Windows/Setup/Updates/windows11.0-kb5099999-x64_0123456789abcdef.msu');
      assert.ok(
        plan.warnings.some((w) =>
          /ssu-26100\.4000-x64\.cab \(servicing-stack\) is installed before windows11\.0-kb5099999.*\(cumulative\), extras\.cab \(other\), which came first/.test(w),
        ),
      );
      assert.ok(plan.warnings.some((w) => /extras\.cab: could not tell what it updates/.test(w)));
      assert.ok(plan.setupTimeNotes?.some((n) => /installed by Windows Setup, not offline/.test(n)));
      assert.ok(plan.setupTimeNotes?.some((n) => /OEM product key/.test(n)));
      const script = ofKind(plan.changes, 'write-script')[0];
      assert.equal(script.path, UPDATES_SCRIPT_PATH);
      assert.ok(script.text.indexOf('ssu-26100.4000-x64.cab') < script.text.indexOf('windows11.0-kb5099999'));
      const lines = plan.changes.flatMap((c) => updatesStep.describe?.(c) ?? []);
      assert.ok(lines.some((l) => /^1\. servicing-stack .*ssu-26100/.test(l)));
      assert.ok(lines.some((l) => /carries its servicing stack update/.test(l)));
    } finally {
      await image.close();
    }
  });

  test('installs cumulative updates older first when each names its RollupFix version', async () => {
    const newer = await gcab('windows11.0-kb5090002-x64.cab', { 'update.mum': mum('Package_for_RollupFix', '26100.4202.1.5') });
    const checkpoint = await gcab('windows11.0-kb5043080-x64.cab', { 'update.mum': mum('Package_for_RollupFix', '26100.1742.1.10') });
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const plan = await updatesStep.plan(updatesStep.schema.parse({ type: 'updates', packages: [newer, checkpoint] }), image, { baseDir: tmp.path });
      assert.deepEqual(
        ofKind(plan.changes, 'package').map((p) => p.kb),
        ['KB5043080', 'KB5090002'],
      );
      assert.ok(plan.warnings.some((w) => /windows11\.0-kb5043080-x64\.cab \(cumulative\) is installed before windows11\.0-kb5090002/.test(w)));
    } finally {
      await image.close();
    }
  });

  test('apply stages the packages and the script, keeps an existing SetupComplete.cmd and calls ours first', async () => {
    const lcu = await lcuCab();
    const ssu = await ssuCab();
    const wim = await copyWim(tmp.path, sampleWim.path);
    const image = await openWindowsImage(wim, 1);
    const mine = '@echo off\r\nrem from an earlier files step\r\nstart /wait myapp.exe /s\r\n';
    try {
      image.writeFile(SETUPCOMPLETE_PATH, new Uint8Array(Buffer.from(mine, 'latin1')));
      const plan = await updatesStep.plan(updatesStep.schema.parse({ type: 'updates', packages: [lcu, ssu] }), image, { baseDir: tmp.path });
      const context = imageOnlyContext();
      await updatesStep.apply(plan.changes, image, silentProgress, context);
      assert.deepEqual(context.unattend.packages, [], 'setupcomplete contributes nothing to the answer file');
      await image.commit();
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    assert.deepEqual(await wimlibDir(wim, 1, '/Windows/Setup/Updates'), ['/Windows/Setup/Updates/ssu-26100.4000-x64.cab', '/Windows/Setup/Updates/windows11.0-kb5088888-x64.cab']);
    assert.deepEqual(await wimlibCat(tmp.path, wim, 1, '/Windows/Setup/Updates/windows11.0-kb5088888-x64.cab'), await readFile(lcu));
    const setupComplete = (await wimlibCat(tmp.path, wim, 1, SETUPCOMPLETE_PATH)).toString('latin1');
    assert.equal(setupComplete, `@echo off\r\n${SETUPCOMPLETE_CALL}\r\nrem from an earlier files step\r\nstart /wait myapp.exe /s\r\n`);
    const script = (await wimlibCat(tmp.path, wim, 1, UPDATES_SCRIPT_PATH)).toString('latin1');
    const ssuAt = script.indexOf('call :install 1 servicing-stack "ssu-26100.4000-x64.cab"');
    const lcuAt = script.indexOf('call :install 2 cumulative "windows11.0-kb5088888-x64.cab"');
    assert.ok(ssuAt > 0 && lcuAt > ssuAt, 'servicing stack before cumulative update');
  });

  test('method specialize contributes DISM packages to the answer file in order and writes no script', async () => {
    const lcu = await lcuCab();
    const ssu = await ssuCab();
    const wim = await copyWim(tmp.path, sampleWim.path);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await updatesStep.plan(updatesStep.schema.parse({ type: 'updates', packages: [lcu, ssu], method: 'specialize' }), image, { baseDir: tmp.path });
      assert.deepEqual(ofKind(plan.changes, 'write-script'), []);
      const context = imageOnlyContext();
      await updatesStep.apply(plan.changes, image, silentProgress, context);
      await updatesStep.apply(plan.changes, image, silentProgress, context);
      assert.deepEqual(context.unattend.packages, ['C:\\Windows\\Setup\\Updates\\ssu-26100.4000-x64.cab', 'C:\\Windows\\Setup\\Updates\\windows11.0-kb5088888-x64.cab']);
      await image.commit();
    } finally {
      await image.close();
    }
    assert.equal(
      (await wimlibDir(wim, 1, '/Windows/Setup/Scripts').catch(() => [])).some((p) => p.endsWith('deployforge-updates.cmd')),
      false,
    );
  });

  test('refuses a package for another architecture, a file that is not a cabinet and a missing file, all at once', async () => {
    const arm = await combinedMsu('arm64');
    const notCab = join(tmp.path, 'broken.msu');
    await writeFile(notCab, 'this is not a cabinet');
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const error = await updatesStep
        .plan(updatesStep.schema.parse({ type: 'updates', packages: [arm, notCab, 'missing.cab', 'bad name.msu'] }), image, { baseDir: tmp.path })
        .then(
          () => assert.fail('expected a refusal'),
          (e: unknown) => e,
        );
      assert.equal((error as DeployForgeError).code, 'DF_UPDATES_INVALID');
      assert.deepEqual(problemCodes(error), ['DF_UPDATE_ARCH', 'DF_UPDATE_BAD_NAME', 'DF_UPDATE_NOT_FOUND', 'DF_UPDATE_UNREADABLE']);
    } finally {
      await image.close();
    }
  });
});
