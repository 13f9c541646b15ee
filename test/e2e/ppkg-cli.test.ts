// `deployforge ppkg show|set` on the corpus provisioning packages, checked with wimlib and xmllint.
import assert from 'node:assert/strict';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';

describe('deployforge ppkg', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('show gives every corpus package its owner and rank from customizations.xml, as xmllint reads them', async () => {
    for (const name of (await readdir(corpusPath('ppkg'))).filter((n) => n.endsWith('.ppkg'))) {
      const run = await runCliCaptured(['ppkg', 'show', '--json', corpusPath(`ppkg/${name}`)]);
      assert.equal(run.code, 0, run.stderr);
      const shown = JSON.parse(run.stdout);
      const dest = join(tmp.path, name);
      await runTool('wimlib-imagex', ['extract', corpusPath(`ppkg/${name}`), '1', '/Multivariant/0/customizations.xml', `--dest-dir=${dest}`]);
      const xml = join(dest, 'customizations.xml');
      const xpath = async (e: string) => (await runTool('xmllint', ['--xpath', `string(//*[local-name()='PackageConfig']/*[local-name()='${e}'])`, xml])).stdout.trim();
      assert.equal(shown.owner, await xpath('OwnerType'), name);
      assert.equal(String(shown.rank), await xpath('Rank'), name);
      assert.ok(shown.settings.length > 0, name);
      assert.ok(shown.files.includes('/Multivariant/0/customizations.xml'));
    }
  });

  test('set changes name, ID and version and keeps NOTES, ALTITUDE and the ID in NOTES in step', async () => {
    const pkg = join(tmp.path, 'edit.ppkg');
    await copyFile(corpusPath('ppkg/mOSD.ppkg'), pkg);
    const run = await runCliCaptured(['ppkg', 'set', pkg, '--name', 'Renamed', '--id', '11111111-2222-3333-4444-555555555555', '--package-version', '2.0']);
    assert.equal(run.code, 0, run.stderr);
    await runTool('wimlib-imagex', ['verify', pkg]);
    const xmlText = (await runTool('wimlib-imagex', ['info', pkg, '--xml'], { binary: true })).stdout.toString('utf16le');
    const xml = join(tmp.path, 'wim.xml');
    await writeFile(xml, xmlText.replace(/^\uFEFF/, ''));
    const get = async (path: string) => (await runTool('xmllint', ['--xpath', `string(/WIM/IMAGE/${path})`, xml])).stdout.trim();
    assert.equal(await get('NAME'), 'Renamed');
    assert.equal(await get('VERSION'), '2.0');
    assert.equal(await get('PACKAGEID'), '{11111111-2222-3333-4444-555555555555}');
    assert.equal(await get('ALTITUDE'), '3000');
    assert.match(await get('NOTES'), /PackageID=11111111-2222-3333-4444-555555555555;/);
    assert.match(await get('NOTES'), /SignPackage=True/);
    assert.equal((await runCliCaptured(['ppkg', 'set', pkg, '--id', 'not-a-guid'])).code, 3);
  });
});
