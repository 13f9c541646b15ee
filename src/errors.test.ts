import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, EnvironmentError, exitCodeFor, FormatError, OperationError, ToolError, toDeployForgeError, UsageError } from './errors.js';

test('maps each error kind to its documented exit code', () => {
  assert.equal(exitCodeFor(new UsageError('DF_USAGE', 'x')), 2);
  assert.equal(exitCodeFor(new FormatError('DF_X', 'x')), 3);
  assert.equal(exitCodeFor(new ConfigError('DF_CONFIG', 'x')), 3);
  assert.equal(exitCodeFor(new EnvironmentError('DF_TOOL_MISSING', 'x')), 4);
  assert.equal(exitCodeFor(new ToolError('DF_TOOL_FAILED', 'x', 'cmd', 1, '')), 5);
  assert.equal(exitCodeFor(new OperationError('DF_OP', 'x')), 5);
  assert.equal(exitCodeFor(new TypeError('boom')), 1);
});

test('turns Node file-system errors into typed errors with stable codes', () => {
  const enoent = Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: '/nope' });
  assert.equal(toDeployForgeError(enoent).code, 'DF_NOT_FOUND');
  assert.equal(exitCodeFor(enoent), 3);
  const eacces = Object.assign(new Error('EACCES'), { code: 'EACCES', path: '/root' });
  assert.equal(toDeployForgeError(eacces).code, 'DF_NO_PERMISSION');
  assert.equal(exitCodeFor(eacces), 4);
  const enospc = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
  assert.equal(exitCodeFor(enospc), 4);
});
