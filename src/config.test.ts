import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeTempDir } from '../test/helpers/corpus.js';
import { DEFAULT_CONFIG, envNameToPath, loadConfig, pathToEnvName } from './config.js';
import { ConfigError } from './errors.js';

describe('layered configuration', () => {
  test('uses the built-in defaults when no layer sets anything', async () => {
    const tmp = await makeTempDir();
    try {
      const { config, sources } = await loadConfig({ env: {}, cwd: tmp.path, home: tmp.path });
      assert.deepEqual(config, DEFAULT_CONFIG);
      assert.equal(sources['build.compression'], 'built-in default');
    } finally {
      await tmp.cleanup();
    }
  });

  test('applies user ← project ← env ← flag in that order and records where each value came from', async () => {
    const tmp = await makeTempDir();
    try {
      await mkdir(join(tmp.path, '.config', 'deployforge'), { recursive: true });
      const userFile = join(tmp.path, '.config', 'deployforge', 'config.yaml');
      await writeFile(userFile, 'logLevel: debug\nbuild:\n  compression: xpress\nqemu:\n  timeoutSeconds: 30\n');
      const projectFile = join(tmp.path, 'deployforge.config.yaml');
      await writeFile(projectFile, 'build:\n  compression: lzms\n  deterministic: true\n');
      const { config, sources } = await loadConfig({
        cwd: tmp.path,
        home: tmp.path,
        env: { DEPLOYFORGE_QEMU__TIMEOUT_SECONDS: '45', DEPLOYFORGE_BUILD__COMPRESSION: 'none' },
        flags: { 'qemu.timeoutSeconds': '60' },
      });
      assert.equal(config.logLevel, 'debug');
      assert.equal(sources.logLevel, userFile);
      assert.equal(config.build.deterministic, true);
      assert.equal(sources['build.deterministic'], projectFile);
      assert.equal(config.build.compression, 'none');
      assert.equal(sources['build.compression'], 'env DEPLOYFORGE_BUILD__COMPRESSION');
      assert.equal(config.qemu.timeoutSeconds, 60);
      assert.match(sources['qemu.timeoutSeconds'], /^flag/);
    } finally {
      await tmp.cleanup();
    }
  });

  test('rejects an unknown setting or a wrong type with a ConfigError naming the field and its file', async () => {
    const tmp = await makeTempDir();
    try {
      await writeFile(join(tmp.path, 'deployforge.config.yaml'), 'build:\n  compresion: lzx\n');
      await assert.rejects(
        loadConfig({ env: {}, cwd: tmp.path, home: tmp.path }),
        (e: unknown) => e instanceof ConfigError && e.code === 'DF_CONFIG_INVALID' && /compresion/.test(e.message),
      );
      await assert.rejects(
        loadConfig({ env: { DEPLOYFORGE_QEMU__TIMEOUT_SECONDS: 'soon' }, cwd: join(tmp.path, 'none'), home: tmp.path }),
        (e: unknown) => e instanceof ConfigError && e.issues[0].field === 'qemu.timeoutSeconds' && /DEPLOYFORGE_QEMU__TIMEOUT_SECONDS/.test(e.message),
      );
      await writeFile(join(tmp.path, 'bad.yaml'), 'build: [unclosed\n');
      await assert.rejects(
        loadConfig({ env: {}, cwd: tmp.path, home: tmp.path, projectFile: 'bad.yaml' }),
        (e: unknown) => e instanceof ConfigError && e.code === 'DF_CONFIG_SYNTAX',
      );
    } finally {
      await tmp.cleanup();
    }
  });

  test('maps environment variable names to setting paths both ways', () => {
    assert.equal(envNameToPath('DEPLOYFORGE_WORK_DIR'), 'workDir');
    assert.equal(envNameToPath('DEPLOYFORGE_BUILD__COMPRESSION'), 'build.compression');
    assert.equal(pathToEnvName('qemu.timeoutSeconds'), 'DEPLOYFORGE_QEMU__TIMEOUT_SECONDS');
    assert.equal(envNameToPath(pathToEnvName('qemu.timeoutSeconds')), 'qemu.timeoutSeconds');
  });
});
