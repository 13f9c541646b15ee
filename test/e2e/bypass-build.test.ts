// `deployforge plan` and `build` with a `bypass` step on the sample ISO (two editions): LabConfig
// lands in boot.wim index 2 (wimlib + hivexget read it), MoSetup in each edition, the answer
// file at the media root carries the windowsPE reg.exe fallback (xmllint reads it), an empty
// sources/appraiserres.dll is on the media, and the ISO still boots under SeaBIOS.
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia, SAMPLE_BIOS_MARKER } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { bootIso } from '../helpers/boot-harness.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/corpus.js';

const SYSTEM = '/Windows/System32/config/SYSTEM';
const LAB_CONFIG_VALUES = ['BypassTPMCheck', 'BypassSecureBootCheck', 'BypassRAMCheck', 'BypassCPUCheck', 'BypassStorageCheck'];

describe('deployforge build with a bypass step', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let source: string;
  let recipe: string;
  let out: string;
  let x: string;
  before(async () => {
    tmp = await makeTempDir('deployforge-bypass-e2e-');
    source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 10, editions: 2, seed: 17 });
    recipe = join(tmp.path, 'bypass.yaml');
    await writeFile(recipe, ['version: 1', 'name: bypass', 'steps:', '  - type: bypass', '    appraiserres: true', ''].join('\n'));
    out = join(tmp.path, 'bypass.iso');
    const run = await runCliCaptured(['build', recipe, '--source', source, '--out', out, '--out-dir', join(tmp.path, 'outputs')], {
      DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work'),
    });
    assert.equal(run.code, 0, run.stderr);
    x = join(tmp.path, 'x');
    await runTool('7zz', ['x', '-y', `-o${x}`, out]);
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('plan shows the boot.wim values, the install image values, the answer-file fallback and the media file', async () => {
    const run = await runCliCaptured(['plan', recipe, '--source', source]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\[offline\]\s+set {4}boot\.wim:2 SYSTEM\\Setup\\LabConfig BypassTPMCheck → REG_DWORD 1/);
    assert.match(run.stdout, /\[offline\]\s+set {4}SYSTEM\\Setup\\MoSetup AllowUpgradesWithUnsupportedTPMOrCPU: absent → REG_DWORD 1/);
    assert.match(run.stdout, /\[setup\]\s+answer file windowsPE: reg\.exe add HKLM\\SYSTEM\\Setup\\LabConfig/);
    assert.match(run.stdout, /\[offline\]\s+add {4}sources\/appraiserres\.dll/);
  });

  test('boot.wim index 2 holds the LabConfig values; index 1 is untouched', async () => {
    const bootWim = join(x, 'sources', 'boot.wim');
    await runTool('wimlib-imagex', ['verify', bootWim]);
    const setup = join(tmp.path, 'boot-2');
    const pe = join(tmp.path, 'boot-1');
    await runTool('wimlib-imagex', ['extract', bootWim, '2', SYSTEM, `--dest-dir=${setup}`, '--no-acls']);
    await runTool('wimlib-imagex', ['extract', bootWim, '1', SYSTEM, `--dest-dir=${pe}`, '--no-acls']);
    for (const value of LAB_CONFIG_VALUES) {
      assert.equal((await runTool('hivexget', [join(setup, 'SYSTEM'), 'Setup\\LabConfig', value])).stdout.trim(), '1', value);
    }
    assert.equal((await runTool('hivexget', [join(pe, 'SYSTEM'), 'Setup\\LabConfig'])).stdout.trim(), '', 'plain WinPE keeps an empty LabConfig');
  });

  test('every edition of install.wim holds MoSetup and LabConfig', async () => {
    const wim = join(x, 'sources', 'install.wim');
    await runTool('wimlib-imagex', ['verify', wim]);
    for (const index of ['1', '2']) {
      const dest = join(tmp.path, `install-${index}`);
      await runTool('wimlib-imagex', ['extract', wim, index, SYSTEM, `--dest-dir=${dest}`, '--no-acls']);
      const hive = join(dest, 'SYSTEM');
      assert.equal((await runTool('hivexget', [hive, 'Setup\\MoSetup', 'AllowUpgradesWithUnsupportedTPMOrCPU'])).stdout.trim(), '1');
      assert.equal((await runTool('hivexget', [hive, 'Setup\\LabConfig', 'BypassCPUCheck'])).stdout.trim(), '1');
    }
  });

  test('autounattend.xml at the media root sets LabConfig from windowsPE RunSynchronous', async () => {
    const answer = join(x, 'autounattend.xml');
    const xpath = "//*[local-name()='settings'][@pass='windowsPE']//*[local-name()='RunSynchronousCommand']/*[local-name()='Path']/text()";
    const paths = (await runTool('xmllint', ['--xpath', xpath, answer])).stdout.split('\n').filter((l) => l.trim() !== '');
    for (const value of LAB_CONFIG_VALUES) {
      assert.ok(
        paths.some((p) => p.includes('"HKLM\\SYSTEM\\Setup\\LabConfig"') && p.includes(`/v ${value} /t REG_DWORD /d 1`)),
        `${value} in ${paths.join(' | ')}`,
      );
    }
  });

  test('sources/appraiserres.dll is on the media and empty', async () => {
    const dll = await stat(join(x, 'sources', 'appraiserres.dll'));
    assert.ok(dll.isFile());
    assert.equal(dll.size, 0);
  });

  test('the built ISO boots under SeaBIOS', async () => {
    const result = await bootIso(out, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(result.seen, result.serial.slice(-500));
  });
});
