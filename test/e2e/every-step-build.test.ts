// Issues 6 and 8's end-to-end test: one recipe using every step kind (and issue 6's twenty
// registry values across SOFTWARE, SYSTEM and the default user) builds the sample ISO, and the
// result is checked with tools nobody here wrote: hivexget/hivexsh on hives wimlib pulls out of
// install.wim and boot.wim index 2, `wimlib-imagex dir` for app folders, drivers and staged
// updates, xmllint and our validator on the answer file at the media root, 7-Zip for the media,
// and qemu for booting under SeaBIOS and OVMF.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia, SAMPLE_BIOS_MARKER } from '../../src/sample/sample-media.js';
import { STEP_DEFINITIONS } from '../../src/steps/index.js';
import { runTool } from '../../src/util/exec.js';
import { bootIso } from '../helpers/boot-harness.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, hasCorpus, makeTempDir } from '../helpers/corpus.js';
import { makeCab, putFile, stampInf, updateMum } from '../helpers/step-inputs.js';

// Text the sample's EFI application (efitools' HelloWorld.efi) draws on the console.
/** Issue 6's twenty values across SOFTWARE, SYSTEM (through CurrentControlSet) and the default user. */
const TWENTY = Array.from({ length: 20 }, (_, i) => {
  const hive = ['SOFTWARE', 'SYSTEM', 'NTUSER'][i % 3];
  const key = hive === 'SYSTEM' ? 'CurrentControlSet\\Control\\Contoso' : hive === 'NTUSER' ? 'Software\\Contoso' : 'Contoso\\Twenty';
  return { hive, key, name: `Value${i}`, data: 1000 + i };
});

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

const EFI_APP_TEXT = 'This file is used to prove you have managed';

describe('a recipe with every step kind', { skip: !hasCorpus() && 'no corpus' }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let iso: string;
  let x: string;
  let recipeText: string;
  let sourceHash: string;
  let source: string;

  const hivexget = async (hive: string, key: string, value: string) => (await runTool('hivexget', [hive, key, value])).stdout.trim();
  const hasKey = (hive: string, key: string) =>
    runTool('hivexget', [hive, key]).then(
      () => true,
      () => false,
    );
  const dir = async (wim: string, index: number, path: string) =>
    (await runTool('wimlib-imagex', ['dir', wim, String(index), `--path=${path}`]).catch(() => ({ stdout: '' }))).stdout;

  before(async () => {
    tmp = await makeTempDir('deployforge-every-step-');
    source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 10, editions: 2, seed: 41, workDir: tmp.path });
    sourceHash = await sha256(source);
    const r = join(tmp.path, 'recipe');
    await putFile(join(r, 'drivers', 'vioscsi', 'vioscsi.inf'), stampInf(await readFile(corpusPath('inf/virtio-win/vioscsi_vioscsi.inx'), 'utf8'), 'amd64'));
    await putFile(join(r, 'drivers', 'vioscsi', 'vioscsi.sys'), 'MZ vioscsi payload\r\n');
    await putFile(join(r, 'drivers', 'vioscsi', 'vioscsi.cat'), 'vioscsi catalog\r\n');
    await makeCab(join(r, 'updates', 'ssu-26100.4000-x64.cab'), join(tmp.path, 'cab-ssu'), { 'update.mum': updateMum('Package_for_ServicingStack_4000', '26100.4000.1.0') }, true);
    await makeCab(join(r, 'updates', 'windows11.0-kb5099999-x64.cab'), join(tmp.path, 'cab-lcu'), { 'update.mum': updateMum('Package_for_RollupFix', '26100.4100.1.3') }, true);
    await putFile(join(r, 'files', 'tool.cmd'), '@echo off\r\necho tool\r\n');
    await putFile(join(r, 'files', 'kit', 'readme.txt'), 'kit\r\n');
    await putFile(join(r, 'media', 'README.txt'), 'made by DeployForge\r\n');
    await mkdir(join(tmp.path, 'out'), { recursive: true });
    recipeText = [
      'version: 1',
      'name: everything',
      'editions: { keep: [ { index: 1 } ] }',
      'steps:',
      '  - type: registry',
      '    hive: SOFTWARE',
      '    set: [ { key: Contoso\\Everything, name: Marker, type: REG_SZ, data: all-steps } ]',
      ...TWENTY.flatMap((v) => ['  - type: registry', `    hive: ${v.hive}`, `    set: [ { key: '${v.key}', name: ${v.name}, type: REG_DWORD, data: ${v.data} } ]`]),
      '  - type: files',
      '    from: files/tool.cmd',
      '    to: /Windows/Setup/Scripts/tool.cmd',
      '  - type: files',
      '    from: files/kit',
      '    to: /Tools/Kit',
      '  - type: remove-files',
      '    paths: [ /Windows/System32/DriverStore/FileRepository/sample000.inf_amd64_00000001 ]',
      '  - type: tweaks',
      '    presets: [privacy-basic]',
      '  - type: remove-apps',
      '    apps: [bing-news, bing-weather]',
      '    mechanism: both',
      '    deleteFolders: true',
      '  - type: bypass',
      '    appraiserres: true',
      '  - type: drivers',
      '    folders: [drivers/vioscsi]',
      '    inject: [image, winpe-driver-folder, boot-wim]',
      '  - type: updates',
      '    packages: [updates/windows11.0-kb5099999-x64.cab, updates/ssu-26100.4000-x64.cab]',
      '  - type: scripts',
      '    firstLogon: [ { name: hello.ps1, content: "Write-Output hello" } ]',
      '    setupComplete: [ { name: done.cmd, content: "echo done" } ]',
      '  - type: install-apps',
      '    packages: [ { id: Mozilla.Firefox }, { id: 7zip.7zip, version: "24.08" } ]',
      '  - type: remove-tasks',
      '    presets: [telemetry]',
      '  - type: start-layout',
      '    taskbar: { pins: [ { desktopAppId: Microsoft.Windows.Explorer } ] }',
      '  - type: unattend',
      '    languages: { uiLanguage: en-US }',
      '    timeZone: UTC',
      '    disk: { mode: wipe-gpt }',
      '    accounts: [ { name: tester, password: "pa55" } ]',
      '    skipOobe: true',
      'media: [ { from: media/README.txt, to: /README.txt } ]',
      'outputs: { iso: { path: everything.iso } }',
      '',
    ].join('\n');
    await putFile(join(r, 'everything.yaml'), recipeText);
    const plan = await runCliCaptured(['plan', join(r, 'everything.yaml'), '--source', source]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /\[offline\]/);
    assert.match(plan.stdout, /\[setup\]/);
    const run = await runCliCaptured(['build', '--json', join(r, 'everything.yaml'), '--source', source, '--out-dir', join(tmp.path, 'out')], {
      DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work'),
    });
    assert.equal(run.code, 0, run.stderr);
    iso = (JSON.parse(run.stdout) as { outputs: { path: string }[] }).outputs[0].path;
    x = join(tmp.path, 'x');
    await runTool('7zz', ['x', '-y', `-o${x}`, iso]);
  });
  after(async () => {
    await tmp?.cleanup();
  });

  test('the source ISO is unchanged', async () => {
    assert.equal(await sha256(source), sourceHash);
  });

  test('the recipe uses every step kind the build knows', () => {
    const used = new Set([...recipeText.matchAll(/- type: ([a-z-]+)/g)].map((m) => m[1]));
    assert.deepEqual([...used].sort(), Object.keys(STEP_DEFINITIONS).sort());
  });

  test('install image: registry, tweak and bypass values (hivexget); deprovisioned apps (hivexsh) and their folders gone', async () => {
    const wim = join(x, 'sources', 'install.wim');
    assert.match((await runTool('wimlib-imagex', ['info', wim])).stdout, /Image Count:\s+1/);
    const hives = join(tmp.path, 'hives');
    await runTool('wimlib-imagex', [
      'extract',
      wim,
      '1',
      '/Windows/System32/config/SOFTWARE',
      '/Windows/System32/config/SYSTEM',
      '/Users/Default/NTUSER.DAT',
      `--dest-dir=${hives}`,
      '--no-acls',
    ]);
    const software = join(hives, 'SOFTWARE');
    // The sample's SYSTEM selects ControlSet001 (Select\Current), where CurrentControlSet lands.
    assert.equal(await hivexget(join(hives, 'SYSTEM'), 'Select', 'Current'), '1');
    for (const v of TWENTY) {
      const file = join(hives, v.hive === 'NTUSER' ? 'NTUSER.DAT' : v.hive);
      const key = v.key.replace('CurrentControlSet', 'ControlSet001');
      assert.equal(await hivexget(file, key, v.name), String(v.data), `${v.hive}\\${key} ${v.name}`);
    }
    assert.equal(await hivexget(software, 'Contoso\\Everything', 'Marker'), 'all-steps');
    assert.equal(await hivexget(software, 'Policies\\Microsoft\\Windows\\DataCollection', 'AllowTelemetry'), '0');
    assert.equal(await hivexget(join(hives, 'SYSTEM'), 'Setup\\MoSetup', 'AllowUpgradesWithUnsupportedTPMOrCPU'), '1');
    const store = 'Microsoft\\Windows\\CurrentVersion\\Appx\\AppxAllUserStore';
    assert.ok(await hasKey(software, `${store}\\Deprovisioned\\Microsoft.BingNews_8wekyb3d8bbwe`));
    assert.ok(!(await hasKey(software, `${store}\\Applications\\Microsoft.BingNews_4.2.27001.0_neutral_~_8wekyb3d8bbwe`)));
    assert.ok(await hasKey(software, `${store}\\Applications\\Microsoft.Paint_11.2201.22.0_neutral_~_8wekyb3d8bbwe`), 'apps not chosen stay');
    const apps = await dir(wim, 1, '/Program Files/WindowsApps');
    assert.doesNotMatch(apps, /Microsoft\.BingNews_/);
    assert.match(apps, /Microsoft\.Paint_/);
    assert.equal(await dir(wim, 1, '/Windows/System32/DriverStore/FileRepository/sample000.inf_amd64_00000001'), '', 'the removed folder is gone');
    assert.match(await dir(wim, 1, '/Tools/Kit'), /readme\.txt/);
    assert.match(await dir(wim, 1, '/Drivers/DeployForge'), /vioscsi/);
    assert.match(await dir(wim, 1, '/Windows/Setup/Updates'), /ssu-26100\.4000-x64\.cab/);
    const scripts = await dir(wim, 1, '/Windows/Setup/Scripts');
    for (const name of ['SetupComplete.cmd', 'remove-apps.ps1', 'install-apps.ps1', 'hello.ps1', 'tool.cmd']) assert.match(scripts, new RegExp(name.replace('.', '\\.')));
    await runTool('wimlib-imagex', ['verify', wim]);
  });

  test('boot.wim index 2: LabConfig (hivexget) and the boot-critical driver', async () => {
    const boot = join(x, 'sources', 'boot.wim');
    const hives = join(tmp.path, 'boot-hives');
    await runTool('wimlib-imagex', ['extract', boot, '2', '/Windows/System32/config/SYSTEM', `--dest-dir=${hives}`, '--no-acls']);
    for (const value of ['BypassTPMCheck', 'BypassSecureBootCheck', 'BypassRAMCheck']) assert.equal(await hivexget(join(hives, 'SYSTEM'), 'Setup\\LabConfig', value), '1');
    assert.match(await dir(boot, 2, '/Drivers/DeployForge'), /vioscsi/);
  });

  test('media: the answer file at the root validates; $WinPEDriver$, the empty appraiserres.dll and the media file are there', async () => {
    const answer = join(x, 'autounattend.xml');
    await runTool('xmllint', ['--noout', answer]);
    const validate = await runCliCaptured(['unattend', 'validate', '--json', answer]);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    const xml = await readFile(answer, 'utf8');
    for (const needle of ['remove-apps.ps1', 'install-apps.ps1', 'PnpCustomizationsWinPE', 'LabConfig', '<TimeZone>UTC</TimeZone>']) assert.ok(xml.includes(needle), needle);
    assert.equal((await readFile(join(x, 'sources', 'appraiserres.dll'))).length, 0);
    assert.match((await runTool('7zz', ['l', iso])).stdout, /\$WinPEDriver\$/);
    assert.equal(await readFile(join(x, 'README.txt'), 'utf8'), 'made by DeployForge\r\n');
  });

  test('the ISO boots under SeaBIOS and OVMF', async () => {
    const bios = await bootIso(iso, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(bios.seen, bios.serial.slice(-500));
    const uefi = await bootIso(iso, { firmware: 'uefi', expect: EFI_APP_TEXT, timeoutMs: 180_000 });
    assert.ok(uefi.seen, uefi.serial.slice(-500));
  });
});
