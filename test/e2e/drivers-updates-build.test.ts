// `deployforge build` on the sample ISO with the drivers and updates steps, two editions kept:
// driver packages (corpus virtio-win INFs stamped for amd64, dummy payloads) land in both editions,
// in boot.wim's Setup image and under $WinPEDriver$ on the ISO (7-Zip lists it); the answer file at
// the media root carries both DriverPaths; update packages made by gcab are staged in the image and
// SetupComplete.cmd runs the servicing stack update before the cumulative update. Read back with
// 7zz, wimlib-imagex and xmllint.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, hasCorpus, makeTempDir } from '../helpers/corpus.js';
import { makeCab, putFile, stampInf, updateMum } from '../helpers/step-inputs.js';

const mum = updateMum;

const SSU = 'ssu-26100.4000-x64.cab';
const LCU = 'windows11.0-kb5099999-x64_0123456789abcdef.msu';

describe('deployforge build with drivers and updates', { skip: !hasCorpus() && 'no corpus' }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let iso: string;
  let x: string;
  let result: { outputs: { kind: string; path: string }[]; answerFile: { where: string; path: string } };

  const put = putFile;
  const gcab = makeCab;

  before(async () => {
    tmp = await makeTempDir('deployforge-drivers-updates-');
    const source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 10, editions: 2, seed: 31, workDir: tmp.path });

    const recipeDir = join(tmp.path, 'recipe');
    const inf = (name: string) => readFile(corpusPath(`inf/virtio-win/${name}`), 'utf8');
    await put(join(recipeDir, 'drivers', 'vioscsi', 'vioscsi.inf'), stampInf(await inf('vioscsi_vioscsi.inx'), 'amd64'));
    await put(join(recipeDir, 'drivers', 'vioscsi', 'vioscsi.sys'), 'MZ vioscsi payload\r\n');
    await put(join(recipeDir, 'drivers', 'vioscsi', 'vioscsi.cat'), 'vioscsi catalog\r\n');
    await put(join(recipeDir, 'drivers', 'viorng', 'viorng.inf'), stampInf(await inf('viorng_viorng_viorng.inf'), 'amd64'));
    for (const f of ['viorng.sys', 'viorngum.dll', 'viorng.cat']) await put(join(recipeDir, 'drivers', 'viorng', f), `${f} payload\r\n`);

    const updates = join(recipeDir, 'updates');
    await mkdir(updates, { recursive: true });
    const work = join(tmp.path, 'cab-work');
    await gcab(join(updates, SSU), join(work, 'ssu'), { 'update.mum': mum('Package_for_ServicingStack_4000', '26100.4000.1.0') }, true);
    await gcab(join(work, 'Windows11.0-KB5099999-x64.cab'), join(work, 'lcu'), { 'update.mum': mum('Package_for_RollupFix', '26100.4100.1.3') }, true);
    await gcab(join(work, 'SSU-26100.4100-x64.cab'), join(work, 'ssu2'), { 'update.mum': mum('Package_for_ServicingStack_4100', '26100.4100.1.0') }, true);
    await put(join(work, 'Windows11.0-KB5099999-x64-pkgProperties.txt'), 'KB Article Number="5099999"\r\nProcessor Architecture="amd64"\r\n');
    await runTool('gcab', [
      '-c',
      '-n',
      join(updates, LCU),
      join(work, 'Windows11.0-KB5099999-x64.cab'),
      join(work, 'SSU-26100.4100-x64.cab'),
      join(work, 'Windows11.0-KB5099999-x64-pkgProperties.txt'),
    ]);

    const recipe = join(recipeDir, 'lab.yaml');
    await writeFile(
      recipe,
      [
        'version: 1',
        'name: drivers-updates',
        'editions: { keep: [ { index: 1 }, { index: 2 } ] }',
        'steps:',
        '  - type: drivers',
        '    folders: [drivers/vioscsi, drivers/viorng]',
        '    inject: [image, winpe-driver-folder, boot-wim]',
        '  - type: updates',
        `    packages: [updates/${LCU}, updates/${SSU}]`,
        'outputs: { iso: { path: lab.iso } }',
        '',
      ].join('\n'),
    );
    const run = await runCliCaptured(['build', '--json', recipe, '--source', source, '--out-dir', join(tmp.path, 'out')], { DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work') });
    assert.equal(run.code, 0, run.stderr);
    result = JSON.parse(run.stdout);
    iso = result.outputs.find((o) => o.kind === 'iso')?.path as string;
    x = join(tmp.path, 'x');
    await runTool('7zz', ['x', '-y', `-o${x}`, iso, 'sources/install.wim', 'sources/boot.wim', 'autounattend.xml']);
  });
  after(async () => {
    await tmp?.cleanup();
  });

  test('the ISO carries the driver packages under $WinPEDriver$', async () => {
    const listing = (await runTool('7zz', ['l', '-slt', iso])).stdout;
    const paths = [...listing.matchAll(/^Path = (.+)$/gm)].map((m) => m[1].replaceAll('\\', '/')).filter((p) => p.startsWith('$WinPEDriver$/') && /\.[a-z]+$/i.test(p));
    assert.deepEqual(paths.sort(), [
      '$WinPEDriver$/01-vioscsi/vioscsi.cat',
      '$WinPEDriver$/01-vioscsi/vioscsi.inf',
      '$WinPEDriver$/01-vioscsi/vioscsi.sys',
      '$WinPEDriver$/02-viorng/viorng.cat',
      '$WinPEDriver$/02-viorng/viorng.inf',
      '$WinPEDriver$/02-viorng/viorng.sys',
      '$WinPEDriver$/02-viorng/viorngum.dll',
    ]);
  });

  test('both editions hold the drivers and boot.wim index 2 holds the boot-critical one', async () => {
    const wim = join(x, 'sources', 'install.wim');
    await runTool('wimlib-imagex', ['verify', wim]);
    for (const index of ['1', '2']) {
      const listing = (await runTool('wimlib-imagex', ['dir', wim, index, '--path=/Drivers/DeployForge'])).stdout;
      for (const file of ['01-vioscsi/vioscsi.inf', '01-vioscsi/vioscsi.sys', '02-viorng/viorngum.dll']) {
        assert.ok(listing.includes(`/Drivers/DeployForge/${file}`), `edition ${index}: ${file}`);
      }
    }
    const boot = (await runTool('wimlib-imagex', ['dir', join(x, 'sources', 'boot.wim'), '2', '--path=/Drivers/DeployForge'])).stdout;
    assert.ok(boot.includes('/Drivers/DeployForge/01-vioscsi/vioscsi.sys'));
    assert.ok(!boot.includes('viorng'), 'only boot-critical packages go into boot.wim');
  });

  test('the answer file at the media root names both driver folders and runs pnputil in specialize', async () => {
    assert.deepEqual(result.answerFile.where, 'media');
    assert.equal(result.answerFile.path, 'autounattend.xml');
    const file = join(x, 'autounattend.xml');
    await runTool('xmllint', ['--noout', file]);
    const path = async (pass: string, component: string) =>
      (
        await runTool('xmllint', [
          '--xpath',
          `//*[local-name()='settings'][@pass='${pass}']/*[local-name()='component'][@name='${component}']//*[local-name()='Path']/text()`,
          file,
        ])
      ).stdout.trim();
    assert.equal(await path('offlineServicing', 'Microsoft-Windows-PnpCustomizationsNonWinPE'), 'C:\\Drivers\\DeployForge');
    assert.equal(await path('windowsPE', 'Microsoft-Windows-PnpCustomizationsWinPE'), 'X:\\Drivers\\DeployForge');
    const xml = await readFile(file, 'utf8');
    assert.equal(xml.split('pnputil.exe /add-driver').length - 1, 1, 'one pnputil command for two editions');
  });

  test('the updates are staged in the image and SetupComplete.cmd installs the servicing stack first', async () => {
    const wim = join(x, 'sources', 'install.wim');
    const staged = (await runTool('wimlib-imagex', ['dir', wim, '1', '--path=/Windows/Setup/Updates'])).stdout;
    assert.ok(staged.includes(`/Windows/Setup/Updates/${SSU}`) && staged.includes(`/Windows/Setup/Updates/${LCU}`));
    const scripts = join(tmp.path, 'scripts');
    await runTool('wimlib-imagex', [
      'extract',
      wim,
      '2',
      '/Windows/Setup/Scripts/SetupComplete.cmd',
      '/Windows/Setup/Scripts/deployforge-updates.cmd',
      `--dest-dir=${scripts}`,
      '--no-acls',
    ]);
    assert.match(await readFile(join(scripts, 'SetupComplete.cmd'), 'latin1'), /^@echo off\r\n(?:.*\r\n)?call "%~dp0deployforge-updates\.cmd"\r\n/);
    const script = await readFile(join(scripts, 'deployforge-updates.cmd'), 'latin1');
    const ssuAt = script.indexOf(`call :install 1 servicing-stack "${SSU}"`);
    const lcuAt = script.indexOf(`call :install 2 cumulative "${LCU}"`);
    assert.ok(ssuAt > 0 && lcuAt > ssuAt, 'servicing stack update before the cumulative update');
    assert.match(script, /dism\.exe \/Online \/Add-Package/);
  });
});
