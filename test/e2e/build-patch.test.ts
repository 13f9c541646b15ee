// The build's two ways of carrying install.wim into an ISO: by default a patch over the source's
// own install.wim (its resources stay at their sectors; only new tables and the edits are
// written), and `options.compact: true` or any non-ISO output, a standalone WIM of the kept
// editions. Both are checked by extracting install.wim with 7-Zip and reading it with wimlib and hivex.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openIso } from '../../src/formats/iso/index.js';
import { makeSampleMedia } from '../../src/sample/sample-media.js';
import { FileSource } from '../../src/util/byte-source.js';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/corpus.js';

describe('install.wim in ISO builds: patch (default) and compact', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let source: string;
  const recipe = (name: string, extra: string[]) =>
    [
      'version: 1',
      `name: ${name}`,
      'editions: { keep: [ { index: 3, rename: Lab Edition }, { index: 1 } ] }',
      'steps:',
      '  - type: registry',
      '    hive: SOFTWARE',
      '    set: [ { key: Contoso\\Patch, name: Route, type: REG_SZ, data: patched } ]',
      '  - type: files',
      '    from: readme.txt',
      '    to: /DeployForge/readme.txt',
      ...extra,
      '',
    ].join('\n');

  const build = async (name: string, extra: string[]) => {
    const file = join(tmp.path, `${name}.yaml`);
    await writeFile(file, recipe(name, extra));
    const work = join(tmp.path, `work-${name}`);
    const run = await runCliCaptured(['build', '--json', file, '--source', source, '--out-dir', join(tmp.path, `out-${name}`)], { DEPLOYFORGE_WORK_DIR: work });
    assert.equal(run.code, 0, run.stderr);
    // A finished build removes its workspace.
    assert.deepEqual(
      (await readdir(work)).filter((n) => n.startsWith('deployforge-build-')),
      [],
    );
    return JSON.parse(run.stdout) as { outputs: { kind: string; path: string }[]; installLayout: string; lockfile: string; warnings: string[] };
  };

  /** install.wim of an ISO: where it starts, and a local copy (7-Zip) checked by wimlib and hivex. */
  const installOf = async (iso: string, dir: string) => {
    const file = await FileSource.open(iso);
    const offset = await openIso(file)
      .then((image) => image.stat('sources/install.wim'))
      .finally(() => file.close());
    await runTool('7zz', ['e', '-y', `-o${dir}`, iso, 'sources/install.wim']);
    const wim = join(dir, 'install.wim');
    await runTool('wimlib-imagex', ['verify', wim]);
    const info = (await runTool('wimlib-imagex', ['info', wim])).stdout;
    await runTool('wimlib-imagex', ['extract', wim, '1', '/Windows/System32/config/SOFTWARE', '/DeployForge/readme.txt', `--dest-dir=${dir}`, '--no-acls']);
    const value = (await runTool('hivexget', [join(dir, 'SOFTWARE'), '\\Contoso\\Patch', 'Route'])).stdout.trim();
    return { offset: offset?.extents[0].offset, size: (await stat(wim)).size, info, value, readme: await readFile(join(dir, 'readme.txt'), 'utf8') };
  };

  before(async () => {
    tmp = await makeTempDir('deployforge-build-patch-');
    source = join(tmp.path, 'sample.iso');
    await writeFile(join(tmp.path, 'readme.txt'), 'over the base');
    await makeSampleMedia(source, { sizeMb: 12, editions: 3, seed: 31 });
    // A source changed less than 2 s before a build is not remembered (digest-cache.ts).
    await new Promise((resolve) => setTimeout(resolve, 2100));
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('by default install.wim stays at its sectors, new tables and the edits added', async () => {
    const result = await build('patch', ['outputs: { iso: { path: patch.iso } }']);
    assert.equal(result.installLayout, 'patch');
    assert.ok(
      result.warnings.some((w) => /keeps the data of the 1 dropped edition/.test(w)),
      result.warnings.join('\n'),
    );
    const sourceFile = await FileSource.open(source);
    const sourceEntry = await openIso(sourceFile)
      .then((image) => image.stat('sources/install.wim'))
      .finally(() => sourceFile.close());
    const install = await installOf(result.outputs[0].path, join(tmp.path, 'x-patch'));
    assert.equal(install.offset, sourceEntry?.extents[0].offset);
    assert.match(install.info, /Image Count:\s+2/);
    assert.match(install.info, /Name:\s+Lab Edition/);
    assert.equal(install.value, 'patched');
    assert.equal(install.readme, 'over the base');
    assert.ok(install.size > (sourceEntry?.size ?? 0), "the patch keeps the dropped edition's resources");
    // The ISO pass hashed the source and the output from the same reads; both digests are right.
    const lock = JSON.parse(await readFile(result.lockfile, 'utf8')) as { source: { sha256: string }; outputs: { sha256: string }[] };
    const sha = async (path: string) =>
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    assert.equal(lock.source.sha256, await sha(source));
    assert.equal(lock.outputs[0].sha256, await sha(result.outputs[0].path));
    // A second build from the same file takes the remembered source digest (the same one).
    assert.equal((await readdir(join(tmp.path, 'work-patch', 'deployforge-sha256'))).length, 1, 'the first build remembered the digest');
    const again = await build('patch', ['outputs: { iso: { path: patch.iso } }']);
    const lock2 = JSON.parse(await readFile(again.lockfile, 'utf8')) as { source: { sha256: string }; outputs: { sha256: string }[] };
    assert.equal(lock2.source.sha256, lock.source.sha256);
    assert.equal(lock2.outputs[0].sha256, await sha(again.outputs[0].path));
  });

  test('options.compact writes only the kept editions; so does a build with a WIM output', async () => {
    const compact = await build('compact', ['outputs: { iso: { path: compact.iso } }', 'options: { compact: true }']);
    assert.equal(compact.installLayout, 'compact');
    const patched = await stat(join(tmp.path, 'x-patch', 'install.wim'));
    const install = await installOf(compact.outputs[0].path, join(tmp.path, 'x-compact'));
    assert.ok(install.size < patched.size, `compact ${install.size} < patch ${patched.size}`);
    assert.match(install.info, /Image Count:\s+2/);
    assert.equal(install.value, 'patched');

    const withWim = await build('with-wim', ['outputs: { iso: { path: both.iso }, wim: { path: both.wim } }']);
    assert.equal(withWim.installLayout, 'compact');
    const wim = withWim.outputs.find((o) => o.kind === 'wim')?.path as string;
    await runTool('wimlib-imagex', ['verify', wim]);
    assert.match((await runTool('wimlib-imagex', ['info', wim])).stdout, /Image Count:\s+2/);
  });

  test('a build whose output is the source itself is refused before anything is written', async () => {
    const file = join(tmp.path, 'over.yaml');
    await writeFile(file, recipe('over', []));
    const run = await runCliCaptured(['build', '--json', file, '--source', source, '--out', source], { DEPLOYFORGE_WORK_DIR: join(tmp.path, 'work-over') });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /DF_OUT_IS_SOURCE/);
  });

  test('the plan says which layout an ISO gets and sizes it', async () => {
    const file = join(tmp.path, 'plan.yaml');
    await writeFile(file, recipe('plan', ['outputs: { iso: { path: p.iso } }']));
    const run = await runCliCaptured(['plan', '--json', file, '--source', source]);
    assert.equal(run.code, 0, run.stderr);
    const size = (JSON.parse(run.stdout) as { expectedSize: { isoLayout: string; iso: number } }).expectedSize;
    assert.equal(size.isoLayout, 'patch');
    const text = await runCliCaptured(['plan', file, '--source', source]);
    assert.match(text.stdout, /an ISO-only build patches install\.wim over the source's \(1 dropped edition\(s\) stay as unreferenced data\)/);
    assert.ok(size.iso >= (await stat(source)).size);
  });
});
