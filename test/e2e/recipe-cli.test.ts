// `deployforge recipe check` on the example recipes and on broken ones.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/corpus.js';

test('recipe check lists the steps of every example with the file and line they came from', async () => {
  for (const name of ['minimal', 'privacy', 'office']) {
    const run = await runCliCaptured(['recipe', 'check', '--json', join(repoRoot, 'examples', 'recipes', `${name}.yaml`)]);
    assert.equal(run.code, 0, run.stderr);
    const loaded = JSON.parse(run.stdout);
    assert.ok(loaded.steps.length > 0);
    for (const step of loaded.steps) assert.ok(step.line > 0 && step.file.endsWith('.yaml'));
  }
});

test('a broken recipe is exit 3 with file:line, the field and what is expected', async () => {
  const tmp = await makeTempDir();
  try {
    const file = join(tmp.path, 'bad.yaml');
    await writeFile(file, 'version: 1\nname: bad\nsteps:\n  - type: registy\n');
    const run = await runCliCaptured(['recipe', 'check', file]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /bad\.yaml:4: steps\[0\]\.type: expected one of registry/);
  } finally {
    await tmp.cleanup();
  }
});
