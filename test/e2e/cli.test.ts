// The command line as a user meets it: help, usage errors, exit codes, one-line errors,
// --json, --verbose, NO_COLOR and `config show`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { wantsColor } from '../../src/cli/context.js';
import { commandNamed } from '../../src/cli/main.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir, repoRoot } from '../helpers/corpus.js';

describe('deployforge CLI', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('--help lists the commands and exits 0', async () => {
    const run = await runCliCaptured(['--help']);
    assert.equal(run.code, 0);
    for (const command of ['inspect', 'sample-media', 'config']) assert.match(run.stdout, new RegExp(`\\b${command}\\b`));
  });

  test('only the command a run names is loaded; help and unknown words load them all', () => {
    assert.equal(commandNamed(['reg', 'export', 'x']), 'reg');
    assert.equal(commandNamed(['--json', '--config', 'reg', 'wim', 'ls']), 'wim');
    assert.equal(commandNamed(['--set', 'a=b', '-q', 'build', 'r.yaml']), 'build');
    assert.equal(commandNamed(['--help']), undefined);
    assert.equal(commandNamed(['help', 'reg']), undefined);
    assert.equal(commandNamed(['frobnicate']), undefined);
    assert.equal(commandNamed(['--', 'reg']), undefined);
    assert.equal(commandNamed(['constructor']), undefined);
    assert.equal(commandNamed(['--help', 'reg']), undefined);
    assert.equal(commandNamed(['-q', '-h', 'build']), undefined);
    assert.equal(commandNamed(['rollback', 'work']), 'rollback');
  });

  test('help before a command lists every command; rollback is found on its own', async () => {
    const help = await runCliCaptured(['--help', 'reg']);
    assert.equal(help.code, 0);
    for (const command of ['reg', 'wim', 'build', 'rollback', 'unattend']) assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
    const rollback = await runCliCaptured(['rollback', '--help']);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /rollback/);
  });

  test('an unknown command or flag is a usage error: exit 2 and one line', async () => {
    for (const argv of [['frobnicate'], ['inspect'], ['inspect', 'x', '--bogus']]) {
      const run = await runCliCaptured(argv);
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /DF_USAGE/);
    }
  });

  test('a missing file is bad input: exit 3 with DF_NOT_FOUND and no stack trace', async () => {
    const run = await runCliCaptured(['inspect', join(tmp.path, 'nope.iso')]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /DF_NOT_FOUND/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  test('--verbose adds the stack trace to the error line', async () => {
    const run = await runCliCaptured(['inspect', '--verbose', join(tmp.path, 'nope.iso')]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /\n\s+at /);
  });

  test('a file of no known format is exit 3 with DF_UNKNOWN_FORMAT', async () => {
    const path = join(tmp.path, 'random.bin');
    await writeFile(path, Buffer.from('just some text that is not any format\n'.repeat(200)));
    const run = await runCliCaptured(['inspect', path]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /DF_UNKNOWN_FORMAT/);
    const empty = join(tmp.path, 'empty.bin');
    await writeFile(empty, '');
    assert.equal((await runCliCaptured(['inspect', empty])).code, 3);
  });

  test('--json prints one JSON document on stdout and errors as JSON on stderr', async () => {
    const ok = await runCliCaptured(['inspect', '--json', corpusPath('ppkg/mOSD.ppkg')]);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.format, 'ppkg');
    const bad = await runCliCaptured(['--json', 'inspect', join(tmp.path, 'nope')]);
    assert.equal(bad.code, 3);
    assert.deepEqual(Object.keys(JSON.parse(bad.stderr).error).sort(), ['code', 'exitCode', 'kind', 'message']);
  });

  test('a missing external tool is an environment error: exit 4 naming the package', async () => {
    // A real process, so the programs it runs see the empty PATH.
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'deployforge.js'), 'sample-media', join(tmp.path, 'x.iso'), '--size-mb', '8'], {
      env: { PATH: '/nonexistent', HOME: tmp.path },
      encoding: 'utf8',
    });
    assert.equal(run.status, 4, run.stderr);
    assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /DF_TOOL_MISSING/);
    assert.match(run.stderr, /apt-get install/);
  });

  test('bad option values are bad input: exit 3', async () => {
    const run = await runCliCaptured(['sample-media', join(tmp.path, 'x.iso'), '--editions', '99']);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /DF_BAD_OPTION/);
  });

  test('config show prints every setting with the layer it came from', async () => {
    const run = await runCliCaptured(['config', 'show', '--json', '--set', 'qemu.timeoutSeconds=33'], { DEPLOYFORGE_BUILD__COMPRESSION: 'xpress' }, tmp.path);
    assert.equal(run.code, 0, run.stderr);
    const { config, sources } = JSON.parse(run.stdout);
    assert.equal(config.qemu.timeoutSeconds, 33);
    assert.match(sources['qemu.timeoutSeconds'], /^flag/);
    assert.equal(config.build.compression, 'xpress');
    assert.equal(sources['build.compression'], 'env DEPLOYFORGE_BUILD__COMPRESSION');
    const text = await runCliCaptured(['config', 'show'], {}, tmp.path);
    assert.match(text.stdout, /workDir .* # built-in default/);
    const invalid = await runCliCaptured(['config', 'show', '--set', 'color=purple'], {}, tmp.path);
    assert.equal(invalid.code, 3);
    assert.match(invalid.stderr, /DF_CONFIG_INVALID/);
  });

  test('colors only on a TTY and never with NO_COLOR or --no-color', () => {
    const io = (env: NodeJS.ProcessEnv, isTTY: boolean) => ({ stdout: { write() {}, isTTY }, stderr: { write() {} }, env, cwd: '/' });
    assert.equal(wantsColor(io({}, true), true), true);
    assert.equal(wantsColor(io({}, false), true), false);
    assert.equal(wantsColor(io({ NO_COLOR: '1' }, true), true), false);
    assert.equal(wantsColor(io({}, true), false), false);
  });
});
