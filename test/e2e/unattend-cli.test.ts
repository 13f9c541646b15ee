// `deployforge unattend generate|check`, checked with xmllint and the summary reader.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';

test('generate writes a BOM-less answer file xmllint accepts, with the options in their passes', async () => {
  const tmp = await makeTempDir();
  try {
    const options = join(tmp.path, 'options.yaml');
    await writeFile(
      options,
      [
        'architecture: amd64',
        'languages: { uiLanguage: en-US }',
        'disk: { mode: wipe-gpt }',
        'bypassRequirements: true',
        'accounts:',
        '  - { name: admin, password: "P@ss" }',
        'autoLogon: { username: admin, count: 1 }',
        'skipOobe: true',
        'computerName: LAB-PC',
        '',
      ].join('\n'),
    );
    const out = join(tmp.path, 'autounattend.xml');
    const run = await runCliCaptured(['unattend', 'generate', options, '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    const bytes = await readFile(out);
    assert.notDeepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    await runTool('xmllint', ['--noout', out]);
    const check = JSON.parse((await runCliCaptured(['unattend', 'check', '--json', out])).stdout);
    assert.deepEqual(check.warnings, []);
    const passes = check.passes.map((p: { pass: string }) => p.pass);
    assert.ok(passes.includes('windowsPE') && passes.includes('oobeSystem'));
    assert.match(bytes.toString('utf8'), /BypassTPMCheck/);
    const bad = join(tmp.path, 'bad.yaml');
    await writeFile(bad, 'architecture: sparc\n');
    const refused = await runCliCaptured(['unattend', 'generate', bad]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /architecture/);
  } finally {
    await tmp.cleanup();
  }
});

test('check passes the corpus answer files and refuses a UTF-8 byte-order mark', async () => {
  assert.equal((await runCliCaptured(['unattend', 'check', corpusPath('unattend/packer-windows/11_Autounattend.xml')])).code, 0);
  const tmp = await makeTempDir();
  try {
    const withBom = join(tmp.path, 'bom.xml');
    await writeFile(withBom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await readFile(corpusPath('unattend/packer-windows/11_Autounattend.xml'))]));
    const run = await runCliCaptured(['unattend', 'check', withBom]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /DF_UNATTEND_BOM/);
  } finally {
    await tmp.cleanup();
  }
});
