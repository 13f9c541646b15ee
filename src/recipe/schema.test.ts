import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { ConfigError, DeployForgeError } from '../errors.js';
import { loadRecipe } from './loader.js';
import { registerStepSchema, stepTypes } from './schema.js';

const rejects = (fn: () => void) => assert.throws(fn, (e: unknown) => e instanceof DeployForgeError && e.code === 'DF_STEP_SCHEMA_INVALID');

test('registerStepSchema checks the name, the type literal, strictness and duplicates at registration', () => {
  rejects(() => registerStepSchema('Bad_Name', z.object({ type: z.literal('Bad_Name') }).strict()));
  rejects(() => registerStepSchema('echo-a', z.object({ type: z.literal('other') }).strict()));
  rejects(() => registerStepSchema('echo-b', z.object({ type: z.string() }).strict()));
  rejects(() => registerStepSchema('echo-c', z.object({ type: z.literal('echo-c') })));
  rejects(() => registerStepSchema('echo-d', z.string()));
  rejects(() => registerStepSchema('registry', z.object({ type: z.literal('registry') }).strict()));
  assert.deepEqual(stepTypes().slice(0, 3), ['registry', 'files', 'remove-files']);
  assert.ok(!stepTypes().some((t) => t.startsWith('echo-')), 'rejected kinds are not registered');
});

test('a registered step kind is accepted by the loader and named in step-type errors', async () => {
  const known = stepTypes();
  registerStepSchema('echo', z.object({ type: z.literal('echo'), text: z.string() }).strict());
  assert.deepEqual(stepTypes(), [...known, 'echo']);
  const tmp = await makeTempDir();
  try {
    const good = join(tmp.path, 'good.yaml');
    await writeFile(good, 'version: 1\nname: x\nsteps:\n  - { type: echo, text: hi }\n');
    assert.deepEqual((await loadRecipe(good)).recipe.steps, [{ type: 'echo', text: 'hi' }]);
    const bad = join(tmp.path, 'bad.yaml');
    await writeFile(bad, 'version: 1\nname: x\nsteps:\n  - { type: echo, text: hi, extra: 1 }\n  - { type: ech }\n');
    await assert.rejects(loadRecipe(bad), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.issues.map((i) => [i.field, i.line]),
        [
          ['steps[0].extra', 4],
          ['steps[1].type', 5],
        ],
      );
      assert.match(e.issues[0].message, /expected one of type, text/);
      assert.match(e.issues[1].message, /expected one of registry, files, remove-files(, [a-z-]+)*, echo/);
      return true;
    });
  } finally {
    await tmp.cleanup();
  }
});
