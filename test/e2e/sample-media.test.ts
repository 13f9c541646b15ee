// The sample ISO, checked by tools nobody here wrote: xorriso (boot catalog), wimlib (editions
// and XML it derives from our hives, boot index, files), hivex and libregf (the hives), qemu
// under SeaBIOS and OVMF (it boots), plus reproducibility for a seed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia, SAMPLE_BIOS_MARKER } from '../../src/sample/sample-media.js';
import { SAMPLE_PROVISIONED_APPS } from '../../src/sample/windows-apps.js';
import { runTool } from '../../src/util/exec.js';
import { bootIso } from '../helpers/boot-harness.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/corpus.js';

const EFI_APP_TEXT = 'This file is used to prove you have managed';

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('sample media', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let iso: string;
  let extracted: string;
  before(async () => {
    tmp = await makeTempDir('deployforge-sample-test-');
    iso = join(tmp.path, 'sample.iso');
    const run = await runCliCaptured(['sample-media', iso, '--size-mb', '16', '--editions', '3', '--seed', '5']);
    assert.equal(run.code, 0, run.stderr);
    extracted = join(tmp.path, 'x');
    await runTool('7zz', ['x', '-y', `-o${extracted}`, iso, 'sources']);
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('has a BIOS and a UEFI no-emulation boot entry at the Windows paths (xorriso)', async () => {
    const { stdout } = await runTool('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    assert.match(stdout, /El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+8\s/);
    assert.match(stdout, /El Torito boot img :\s+2\s+UEFI\s+y\s+none\s/);
    assert.match(stdout, /El Torito img path :\s+1\s+\/boot\/etfsboot\.com/);
    assert.match(stdout, /El Torito img path :\s+2\s+\/efi\/microsoft\/boot\/efisys\.bin/);
  });

  test('install.wim has the editions, and wimlib derives real-media XML from our hives', async () => {
    const { stdout } = await runTool('wimlib-imagex', ['info', join(extracted, 'sources', 'install.wim')]);
    assert.match(stdout, /Image Count:\s+3/);
    for (const [name, edition] of [
      ['Windows 11 Home', 'Core'],
      ['Windows 11 Home N', 'CoreN'],
      ['Windows 11 Home Single Language', 'CoreSingleLanguage'],
    ]) {
      assert.match(stdout, new RegExp(`Name:\\s+${name}\\n`));
      assert.match(stdout, new RegExp(`Edition ID:\\s+${edition}\\n`));
    }
    assert.match(stdout, /Architecture:\s+x86_64/);
    assert.match(stdout, /Build:\s+26100/);
    assert.match(stdout, /Default Language:\s+en-US/);
    assert.match(stdout, /Installation Type:\s+Client/);
    // Compressibility: about 2:1 under LZX.
    const total = Number(/Total Bytes:\s+(\d+)/.exec(stdout)?.[1]);
    const size = Number(/^Size:\s+(\d+)/m.exec(stdout)?.[1]);
    assert.ok(total / size > 1.7 && total / size < 2.4, `ratio ${total / size}`);
  });

  test('boot.wim has WinPE and Setup, boot index 2, and index 2 holds the SYSTEM hive', async () => {
    const bootWim = join(extracted, 'sources', 'boot.wim');
    const { stdout } = await runTool('wimlib-imagex', ['info', bootWim]);
    assert.match(stdout, /Boot Index:\s+2/);
    assert.match(stdout, /Name:\s+Microsoft Windows Setup \(amd64\)/);
    const dir = await runTool('wimlib-imagex', ['dir', bootWim, '2']);
    assert.match(dir.stdout, /^\/Windows\/System32\/config\/SYSTEM$/m);
  });

  test('the hives open in hivex and libregf with the keys the steps need', async () => {
    const out = join(tmp.path, 'hives');
    const wim = join(extracted, 'sources', 'install.wim');
    await runTool('wimlib-imagex', ['extract', wim, '1', '/Windows/System32/config', '/Users/Default/NTUSER.DAT', `--dest-dir=${out}`, '--no-acls']);
    const software = join(out, 'config', 'SOFTWARE');
    assert.equal((await runTool('hivexget', [software, 'Microsoft\\Windows NT\\CurrentVersion', 'ProductName'])).stdout.trim(), 'Windows 11 Home');
    const apps = await runTool('hivexsh', ['-w', software], { input: 'cd Microsoft\\Windows\\CurrentVersion\\Appx\\AppxAllUserStore\\Applications\nls\n' });
    const listed = apps.stdout.trim().split('\n');
    assert.deepEqual([...listed].sort(), [...SAMPLE_PROVISIONED_APPS].sort());
    for (const hive of ['SOFTWARE', 'SYSTEM', 'DEFAULT', 'SAM', 'SECURITY']) {
      const info = await runTool('regfinfo', [join(out, 'config', hive)]);
      assert.match(info.stdout, /Version:\s*1\.5\s+File type:\s*Registry/);
    }
    assert.match(
      (await runTool('hivexget', [join(out, 'NTUSER.DAT'), 'Software\\Microsoft\\Windows\\CurrentVersion\\ContentDeliveryManager', 'SilentInstalledAppsEnabled'])).stdout,
      /1/,
    );
    const dir = await runTool('wimlib-imagex', ['dir', wim, '1']);
    for (const app of SAMPLE_PROVISIONED_APPS.slice(0, 3))
      assert.match(dir.stdout, new RegExp(`^/Program Files/WindowsApps/${app.replace(/[.~]/g, '\\$&')}/AppxManifest\\.xml$`, 'm'));
  });

  test('the same seed gives the same bytes, another seed other bytes', async () => {
    const again = join(tmp.path, 'again.iso');
    await makeSampleMedia(again, { sizeMb: 16, editions: 3, seed: 5 });
    assert.equal(await sha256(again), await sha256(iso));
    const other = join(tmp.path, 'other.iso');
    await makeSampleMedia(other, { sizeMb: 16, editions: 3, seed: 6 });
    assert.notEqual(await sha256(other), await sha256(iso));
  });

  test('--esd stores a solid install.esd that inspect reports as ESD inside the ISO', async () => {
    const esdIso = join(tmp.path, 'esd.iso');
    const run = await runCliCaptured(['sample-media', esdIso, '--size-mb', '12', '--editions', '2', '--esd']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse((await runCliCaptured(['inspect', '--json', esdIso])).stdout);
    assert.equal(report.iso.installImage.path.toLowerCase(), '/sources/install.esd');
    assert.equal(report.iso.installImage.wim.kind, 'esd');
    assert.equal(report.iso.installImage.wim.images.length, 2);
  });

  test('boots under SeaBIOS: the BIOS entry prints its marker on COM1', async () => {
    const result = await bootIso(iso, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(result.seen, `serial output was:\n${result.serial.slice(-2000)}`);
  });

  test('boots under OVMF: the UEFI entry runs the EFI application', async () => {
    const result = await bootIso(iso, { firmware: 'uefi', expect: EFI_APP_TEXT, timeoutMs: 180_000 });
    assert.ok(result.seen, `serial output was:\n${result.serial.slice(-2000)}`);
  });
});
