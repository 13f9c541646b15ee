// `deployforge build` end to end on the sample ISO with the office example recipe: the kept
// edition is renamed, the registry steps land in the hives (hivex reads them), files and media
// are added, wimlib verifies the new install.wim, the ISO boots, and the source is untouched.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia, SAMPLE_BIOS_MARKER } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { bootIso } from '../helpers/boot-harness.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/corpus.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('deployforge build', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let source: string;
  let out: string;
  let sourceHash: string;
  before(async () => {
    tmp = await makeTempDir();
    source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 10, editions: 6, seed: 4 });
    sourceHash = await sha(source);
    out = join(tmp.path, 'office.iso');
    const run = await runCliCaptured(['build', join(repoRoot, 'examples', 'recipes', 'office.yaml'), '--source', source, '--out', out, '--out-dir', join(tmp.path, 'outputs')], {
      DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work'),
    });
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('keeps and renames the chosen edition, applies the registry steps and adds files and media', async () => {
    assert.equal(await sha(source), sourceHash, 'the source is never modified');
    const x = join(tmp.path, 'x');
    await runTool('7zz', ['x', '-y', `-o${x}`, out]);
    const wim = join(x, 'sources', 'install.wim');
    await runTool('wimlib-imagex', ['verify', wim]);
    const info = (await runTool('wimlib-imagex', ['info', wim])).stdout;
    assert.match(info, /Image Count:\s+1/);
    assert.match(info, /Name:\s+Windows 11 Pro \(Contoso\)/);
    const hives = join(tmp.path, 'hives');
    await runTool('wimlib-imagex', ['extract', wim, '1', '/Windows/System32/config/SOFTWARE', '/Windows/Setup/Scripts/SetupComplete.cmd', `--dest-dir=${hives}`]);
    const get = async (key: string, value: string) => (await runTool('hivexget', [join(hives, 'SOFTWARE'), key, value])).stdout.trim();
    assert.equal(await get('Policies\\Microsoft\\Windows\\DataCollection', 'AllowTelemetry'), '0');
    assert.equal(await get('Microsoft\\Windows NT\\CurrentVersion', 'RegisteredOrganization'), 'Contoso');
    assert.equal(await sha(join(hives, 'SetupComplete.cmd')), await sha(join(repoRoot, 'examples', 'recipes', 'files', 'SetupComplete.cmd')));
    assert.equal(await sha(join(x, 'sources', '$OEM$', '$1', 'Deploy', 'office-policies.reg')), await sha(join(repoRoot, 'examples', 'recipes', 'files', 'office-policies.reg')));
    assert.match((await runTool('udfinfo', [out])).stdout, /label=CONTOSO_WIN11/);
  });

  test('the built ISO boots under SeaBIOS', async () => {
    const result = await bootIso(out, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(result.seen, result.serial.slice(-500));
  });
});

describe('deployforge build to WIM, ESD and split SWM outputs', () => {
  test('writes each output from the same edited install image', async () => {
    const tmp = await makeTempDir();
    try {
      const source = join(tmp.path, 'sample.iso');
      await makeSampleMedia(source, { sizeMb: 10, editions: 2, seed: 9 });
      const recipe = join(tmp.path, 'outputs.yaml');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(
        recipe,
        [
          'version: 1',
          'name: outputs',
          'extends: minimal',
          'editions:',
          '  keep:',
          '    - index: 2',
          'outputs:',
          '  wim: { path: out/install.wim }',
          '  esd: { path: out/install.esd }',
          '  swm: { path: out/split/install.swm, partSizeMb: 2 }',
          '',
        ].join('\n'),
      );
      // Parts an earlier, larger split left behind must not survive as part of the new set.
      const { mkdir: mkdirp, readdir } = await import('node:fs/promises');
      await mkdirp(join(tmp.path, 'out', 'split'), { recursive: true });
      for (let n = 2; n <= 40; n++) await writeFile(join(tmp.path, 'out', 'split', `install${n}.swm`), 'stale');
      const run = await runCliCaptured(['build', '--json', recipe, '--source', source, '--out-dir', tmp.path], { DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work') });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { outputs: { kind: string; path: string }[] };
      assert.equal((await readdir(join(tmp.path, 'out', 'split'))).length, result.outputs.filter((o) => o.kind === 'swm').length, 'no stale parts');
      // minimal.yaml, which this recipe extends, adds an ISO output; it lands beside minimal.yaml
      // unless an output folder is given, so the test gives one.
      assert.deepEqual([...new Set(result.outputs.map((o) => o.kind))], ['iso', 'wim', 'esd', 'swm']);
      await runTool('wimlib-imagex', ['verify', join(tmp.path, 'out', 'install.wim')]);
      const esd = JSON.parse((await runCliCaptured(['wim', 'info', '--json', join(tmp.path, 'out', 'install.esd')])).stdout);
      assert.equal(esd.format, 'esd');
      assert.equal(esd.wim.images.length, 1);
      assert.ok(result.outputs.filter((o) => o.kind === 'swm').length >= 2, 'the 2 MiB parts split the image');
      const value = join(tmp.path, 'SOFTWARE');
      assert.equal((await runCliCaptured(['wim', 'cat', join(tmp.path, 'out', 'split', 'install.swm'), '/Windows/System32/config/SOFTWARE', '-o', value])).code, 0);
      assert.equal((await runTool('hivexget', [value, 'Policies\\Microsoft\\Windows\\CloudContent', 'DisableWindowsConsumerFeatures'])).stdout.trim(), '1');
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('deterministic builds, the lockfile and verify', () => {
  test('two deterministic builds give byte-identical ISOs; verify accepts the output and reports a one-byte change', async () => {
    const tmp = await makeTempDir();
    try {
      const { writeFile, copyFile, open } = await import('node:fs/promises');
      const source = join(tmp.path, 'sample.iso');
      await makeSampleMedia(source, { sizeMb: 10, editions: 2, seed: 21 });
      const sourceHash = await sha(source);
      const recipe = join(tmp.path, 'lab.yaml');
      await writeFile(
        recipe,
        [
          'version: 1',
          'name: lab',
          'editions: { keep: [ { index: 2 } ] }',
          'steps:',
          '  - type: registry',
          '    hive: SOFTWARE',
          '    set: [ { key: Contoso\\Lab, name: Build, type: REG_SZ, data: one } ]',
          '  - type: unattend',
          '    languages: { uiLanguage: en-US }',
          '    timeZone: UTC',
          '    disk: { mode: wipe-gpt }',
          '    accounts: [ { name: labuser, password: "p@ss" } ]',
          '    skipOobe: true',
          'outputs: { iso: { path: lab.iso } }',
          'options: { deterministic: true }',
          '',
        ].join('\n'),
      );
      const build = async (dir: string) => {
        const run = await runCliCaptured(['build', '--json', recipe, '--source', source, '--out-dir', join(tmp.path, dir)], { DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work') });
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout) as { outputs: { path: string }[]; lockfile: string; answerFile: { where: string; path: string } };
      };
      const planned = await runCliCaptured(['plan', '--json', recipe, '--source', source]);
      assert.equal(planned.code, 0, planned.stderr);
      const expected = (JSON.parse(planned.stdout) as { expectedSize: { iso: number } }).expectedSize.iso;
      const first = await build('a');
      const { stat } = await import('node:fs/promises');
      const actual = (await stat(first.outputs[0].path)).size;
      assert.ok(Math.abs(actual - expected) / actual < 0.05, `the plan's expected ISO size ${expected} is within 5% of the real ${actual}`);
      const second = await build('b');
      assert.equal(await sha(first.outputs[0].path), await sha(second.outputs[0].path), 'same inputs, same bytes');
      assert.equal(await sha(source), sourceHash, 'the source is never modified');
      assert.deepEqual(first.answerFile.where, 'media');
      assert.equal(first.answerFile.path, 'autounattend.xml', 'a file with a windowsPE pass goes to the media root');

      const lock = JSON.parse(await readFile(first.lockfile, 'utf8'));
      assert.equal(lock.source.sha256, sourceHash);
      assert.equal(lock.steps.length, 2);
      assert.equal(lock.outputs[0].sha256, await sha(first.outputs[0].path));

      // The answer file on the media: UTF-8 without a byte-order mark, well-formed for libxml2.
      const x = join(tmp.path, 'x');
      await runTool('7zz', ['x', '-y', `-o${x}`, first.outputs[0].path, 'autounattend.xml']);
      const xml = await readFile(join(x, 'autounattend.xml'));
      assert.notDeepEqual([...xml.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      await runTool('xmllint', ['--noout', join(x, 'autounattend.xml')]);
      assert.match(xml.toString('utf8'), /<TimeZone>UTC<\/TimeZone>/);

      const ok = await runCliCaptured(['verify', first.outputs[0].path, '--lock', first.lockfile]);
      assert.equal(ok.code, 0, ok.stderr);
      const changed = join(tmp.path, 'a', 'lab-changed.iso');
      await copyFile(first.outputs[0].path, changed);
      const handle = await open(changed, 'r+');
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, 40000);
      await handle.write(Buffer.from([byte[0] ^ 1]), 0, 1, 40000);
      await handle.close();
      await copyFile(changed, first.outputs[0].path);
      const drift = await runCliCaptured(['verify', first.outputs[0].path, '--lock', first.lockfile]);
      assert.equal(drift.code, 3);
      assert.match(drift.stderr, /has changed since it was built/);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('deployforge build to a USB folder and a UEFI-only ISO', () => {
  test('the folder holds the media with the new install.wim; the ISO keeps only the UEFI boot entry; verify checks both', async () => {
    const tmp = await makeTempDir();
    try {
      const { writeFile, readdir } = await import('node:fs/promises');
      const source = join(tmp.path, 'sample.iso');
      await makeSampleMedia(source, { sizeMb: 10, editions: 2, seed: 12 });
      const recipe = join(tmp.path, 'usb.yaml');
      await writeFile(
        recipe,
        [
          'version: 1',
          'name: usb',
          'editions: { keep: [ { index: 1 } ] }',
          'steps:',
          '  - type: registry',
          '    hive: SYSTEM',
          '    set: [ { key: CurrentControlSet\\Control\\Contoso, name: Usb, type: REG_DWORD, data: 1 } ]',
          'outputs:',
          '  folder: { path: usb, fat32: true }',
          '  iso: { path: uefi.iso, mode: uefi }',
          '',
        ].join('\n'),
      );
      const run = await runCliCaptured(['build', '--json', recipe, '--source', source, '--out-dir', tmp.path], { DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work') });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { outputs: { kind: string; path: string }[]; lockfile: string };
      const folder = join(tmp.path, 'usb');
      assert.ok((await readdir(join(folder, 'sources'))).includes('install.wim'), 'a small install.wim is not split');
      assert.match((await runTool('wimlib-imagex', ['info', join(folder, 'sources', 'install.wim')])).stdout, /Image Count:\s+1/);
      const hive = join(tmp.path, 'SYSTEM');
      await runTool('wimlib-imagex', ['extract', join(folder, 'sources', 'install.wim'), '1', '/Windows/System32/config/SYSTEM', `--dest-dir=${tmp.path}`, '--no-acls']);
      assert.equal((await runTool('hivexget', [hive, 'ControlSet001\\Control\\Contoso', 'Usb'])).stdout.trim(), '1');
      const info = JSON.parse((await runCliCaptured(['iso', 'info', '--json', join(tmp.path, 'uefi.iso')])).stdout) as { bootEntries: { platform: number }[] };
      assert.deepEqual(
        info.bootEntries.map((e) => e.platform),
        [0xef],
      );
      for (const output of result.outputs) assert.equal((await runCliCaptured(['verify', output.path, '--lock', result.lockfile])).code, 0, output.path);
      await writeFile(join(folder, 'setup.exe'), 'tampered');
      assert.equal((await runCliCaptured(['verify', folder, '--lock', result.lockfile])).code, 3, 'a changed file in the folder is drift');
    } finally {
      await tmp.cleanup();
    }
  });
});
