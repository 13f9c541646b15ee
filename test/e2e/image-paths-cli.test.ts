// `deployforge reg` and `unattend` on paths into images (X.iso:install:N:/…, X.wim:N:/…,
// X.iso:/file) on the sample media: reads straight from the ISO, edits as one-step builds into a
// new image (checked with 7-Zip, wimlib and hivexget), the source's SHA-256 unchanged, and one
// error code per mistake.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { remasterIso } from '../../src/media/remaster.js';
import { makeSampleMedia, type SampleMediaResult } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';

const SOFTWARE = '/Windows/System32/config/SOFTWARE';
const CURRENT_VERSION = 'Microsoft\\Windows NT\\CurrentVersion';

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('paths into images on the command line', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let sample: SampleMediaResult;
  let sourceSha: string;
  const at = (name: string) => join(tmp.path, name);
  /** Runs the CLI in the temporary folder, so relative image paths resolve there. */
  const cli = (...argv: string[]) => runCliCaptured(argv, {}, tmp.path);
  const errorCode = (stderr: string) => (JSON.parse(stderr.trim().split('\n').pop() as string) as { error: { code: string } }).error.code;

  before(async () => {
    tmp = await makeTempDir('deployforge-image-paths-');
    sample = await makeSampleMedia(at('sample.iso'), { sizeMb: 8, editions: 2, workDir: tmp.path });
    sourceSha = await sha256(at('sample.iso'));
  });
  after(async () => {
    await tmp?.cleanup();
  });

  test('reg get reads a value straight from each edition in the ISO', async () => {
    for (const [i, edition] of sample.editions.entries()) {
      const run = await cli('reg', 'get', '--json', `sample.iso:install:${i + 1}:${SOFTWARE}`, CURRENT_VERSION, 'ProductName');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).data, edition.name);
    }
    const text = await cli('reg', 'get', `sample.iso:install:1:${SOFTWARE}`, CURRENT_VERSION, 'ProductName');
    assert.match(text.stdout, new RegExp(`ProductName\\s+REG_SZ\\s+${sample.editions[0].name}`));
  });

  test('reg export from an ISO path equals the export of the hive 7-Zip and wimlib extract', async () => {
    await runTool('7zz', ['x', '-y', `-o${at('media')}`, at('sample.iso'), 'sources/install.wim']);
    await runTool('wimlib-imagex', ['extract', at('media/sources/install.wim'), '2', SOFTWARE, `--dest-dir=${at('hive-2')}`, '--no-acls']);
    const fromIso = await cli('reg', 'export', `sample.iso:install:2:${SOFTWARE}`, CURRENT_VERSION);
    assert.equal(fromIso.code, 0, fromIso.stderr);
    const fromFile = await cli('reg', 'export', at('hive-2/SOFTWARE'), CURRENT_VERSION);
    assert.equal(fromIso.stdout, fromFile.stdout);
    assert.match(fromIso.stdout, new RegExp(`"ProductName"="${sample.editions[1].name}"`));
    const check = await cli('reg', 'check', `sample.iso:/sources/install.wim:2:${SOFTWARE}`);
    assert.equal(check.code, 0, check.stderr);
  });

  test('reg set -o new.iso writes a new ISO with the value; the source ISO is unchanged', async () => {
    const run = await cli('reg', 'set', `sample.iso:install:1:${SOFTWARE}`, 'Policies\\DeployForge', 'Marker', '--type', 'REG_SZ', '--data', 'from an image path', '-o', 'new.iso');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await sha256(at('sample.iso')), sourceSha);
    const get = await cli('reg', 'get', '--json', `new.iso:install:1:${SOFTWARE}`, 'Policies\\DeployForge', 'Marker');
    assert.equal(get.code, 0, get.stderr);
    assert.equal(JSON.parse(get.stdout).data, 'from an image path');
    // Independently: 7-Zip takes install.wim out of the new ISO, wimlib the hive, hivexget the value.
    await runTool('7zz', ['x', '-y', `-o${at('new-media')}`, at('new.iso'), 'sources/install.wim']);
    await runTool('wimlib-imagex', ['extract', at('new-media/sources/install.wim'), '1', SOFTWARE, `--dest-dir=${at('new-hive')}`, '--no-acls']);
    assert.equal((await runTool('hivexget', [at('new-hive/SOFTWARE'), 'Policies\\DeployForge', 'Marker'])).stdout.trim(), 'from an image path');
    // The edit is a patch over the source's install.wim, which keeps its sectors in the new ISO.
    await runTool('wimlib-imagex', ['verify', at('new-media/sources/install.wim')]);
    const { FileSource } = await import('../../src/util/byte-source.js');
    const { openIso } = await import('../../src/formats/iso/index.js');
    const startOf = async (iso: string) => {
      const file = await FileSource.open(at(iso));
      try {
        return (await (await openIso(file)).stat('sources/install.wim'))?.extents[0].offset;
      } finally {
        await file.close();
      }
    };
    assert.equal(await startOf('new.iso'), await startOf('sample.iso'));
    const diff = await cli('reg', 'diff', `sample.iso:install:1:${SOFTWARE}`, `new.iso:install:1:${SOFTWARE}`);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /"Marker"="from an image path"/);
    assert.doesNotMatch(diff.stdout, /ProductName/);
  });

  test('reg import and delete on a WIM path write a new WIM wimlib verifies', async () => {
    await copyFile(at('media/sources/install.wim'), at('install.wim'));
    const wimSha = await sha256(at('install.wim'));
    await writeFile(at('tweak.reg'), 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\DeployForge]\r\n"Imported"=dword:00000007\r\n');
    const imported = await cli('reg', 'import', 'install.wim:2:/Users/Default/NTUSER.DAT', 'tweak.reg', '--prefix', 'HKEY_CURRENT_USER', '-o', 'imported.wim');
    assert.equal(imported.code, 0, imported.stderr);
    const deleted = await cli('reg', 'delete', 'imported.wim:2:/Users/Default/NTUSER.DAT', 'Software\\DeployForge', 'Imported', '-o', 'deleted.wim');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(await sha256(at('install.wim')), wimSha);
    for (const wim of ['imported.wim', 'deleted.wim']) await runTool('wimlib-imagex', ['verify', at(wim)]);
    await runTool('wimlib-imagex', ['extract', at('imported.wim'), '2', '/Users/Default/NTUSER.DAT', `--dest-dir=${at('imported')}`, '--no-acls']);
    assert.equal((await runTool('hivexget', [at('imported/NTUSER.DAT'), 'Software\\DeployForge', 'Imported'])).stdout.trim(), '7');
    const gone = await cli('reg', 'get', '--json', 'deleted.wim:2:/Users/Default/NTUSER.DAT', 'Software\\DeployForge', 'Imported');
    assert.equal(errorCode(gone.stderr), 'DF_REG_VALUE_NOT_FOUND');
  });

  test('unattend check and validate read an answer file from the media and from a WIM image', async () => {
    const answer = corpusPath('unattend/packer-windows/11_Autounattend.xml');
    await remasterIso(at('sample.iso'), at('answered.iso'), { add: { '/autounattend.xml': answer } });
    for (const path of ['answered.iso:/autounattend.xml', 'answered.iso:/AutoUnattend.xml']) {
      const validate = await cli('unattend', 'validate', '--json', path);
      assert.equal(validate.code, 0, validate.stderr);
      assert.equal(JSON.parse(validate.stdout).valid, true);
    }
    const local = await cli('unattend', 'validate', '--json', answer);
    const fromIso = await cli('unattend', 'validate', '--json', 'answered.iso:/autounattend.xml');
    assert.deepEqual(JSON.parse(fromIso.stdout).findings, JSON.parse(local.stdout).findings);

    await copyFile(at('media/sources/install.wim'), at('panther.wim'));
    const update = await cli('wim', 'update', 'panther.wim:1', '--add', `/Windows/Panther/unattend.xml=${answer}`);
    assert.equal(update.code, 0, update.stderr);
    const check = await cli('unattend', 'check', '--json', 'panther.wim:1:/Windows/Panther/unattend.xml');
    assert.equal(check.code, 0, check.stderr);
    assert.ok(JSON.parse(check.stdout).passes.some((p: { pass: string }) => p.pass === 'oobeSystem'));
  });

  test('a bad index, a missing path, a write without -o or onto the source each fail with their own code and write nothing', async () => {
    const cases: [string[], string, number][] = [
      [['reg', 'get', `sample.iso:install:7:${SOFTWARE}`, ''], 'DF_WIM_NO_IMAGE', 3],
      [['reg', 'get', 'sample.iso:install:1:/Windows/System32/config/NOPE', ''], 'DF_WIM_PATH_NOT_FOUND', 3],
      [['reg', 'get', `sample.iso:/sources/nope.wim:1:${SOFTWARE}`, ''], 'DF_NOT_FOUND', 3],
      [['reg', 'get', `missing.iso:install:1:${SOFTWARE}`, ''], 'DF_NOT_FOUND', 3],
      [['reg', 'get', 'sample.iso:install:1', ''], 'DF_IMAGE_PATH_SYNTAX', 2],
      [['unattend', 'validate', 'sample.iso:/autounattend.xml'], 'DF_NOT_FOUND', 3],
      [['reg', 'set', `sample.iso:install:1:${SOFTWARE}`, 'K', 'V', '--type', 'REG_DWORD', '--data', '1'], 'DF_IMAGE_NEEDS_OUT', 3],
      [['reg', 'set', `sample.iso:install:1:${SOFTWARE}`, 'K', 'V', '--type', 'REG_DWORD', '--data', '1', '-o', 'sample.iso'], 'DF_IMAGE_OUT_IS_SOURCE', 3],
      [['reg', 'delete', `sample.iso:install:1:${SOFTWARE}`, 'Policies', '-o', 'SOFTWARE'], 'DF_IMAGE_OUT_KIND', 2],
    ];
    const before = new Set(await readdir(tmp.path));
    for (const [argv, code, exit] of cases) {
      const run = await cli('--json', ...argv);
      assert.equal(run.code, exit, `${argv.join(' ')}: ${run.stderr}`);
      assert.equal(errorCode(run.stderr), code, argv.join(' '));
    }
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => !before.has(n)),
      [],
      'no output, workspace or partial file',
    );
    assert.equal(await sha256(at('sample.iso')), sourceSha);
  });
});
