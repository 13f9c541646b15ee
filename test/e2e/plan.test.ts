// `deployforge plan` on the sample ISO: changes per edition and step, read straight from
// install.wim inside the ISO, with old values as hivex reads them; nothing is written.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/corpus.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('deployforge plan', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let iso: string;
  before(async () => {
    tmp = await makeTempDir();
    iso = join(tmp.path, 'sample.iso');
    await makeSampleMedia(iso, { sizeMb: 10, editions: 6, seed: 2 });
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('lists each step’s changes for the kept edition with old values hivex agrees with, and writes nothing', async () => {
    const before = await sha(iso);
    const run = await runCliCaptured(['plan', '--json', join(repoRoot, 'examples', 'recipes', 'office.yaml'), '--source', iso]);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout);
    assert.equal(await sha(iso), before);
    assert.equal(plan.editions.length, 1);
    assert.equal(plan.editions[0].editionId, 'Professional');
    const changes = plan.editions[0].steps.flatMap((s: { plan: { changes: { kind: string; key?: string; value?: string; old?: { data: string } | null }[] } }) => s.plan.changes);
    const org = changes.find((c: { value?: string }) => c.value === 'RegisteredOrganization');
    await runTool('7zz', ['x', '-y', `-o${tmp.path}/x`, iso, 'sources/install.wim']);
    await runTool('wimlib-imagex', ['extract', join(tmp.path, 'x', 'sources', 'install.wim'), '6', '/Windows/System32/config/SOFTWARE', `--dest-dir=${tmp.path}/h`]);
    const current = (await runTool('hivexget', [join(tmp.path, 'h', 'SOFTWARE'), 'Microsoft\\Windows NT\\CurrentVersion', 'RegisteredOrganization'])).stdout.trim();
    assert.equal(org.old.data, current);
    assert.ok(changes.some((c: { kind: string; value?: string }) => c.kind === 'set-value' && c.value === 'AllowTelemetry'));
    const remove = plan.editions[0].steps.find((s: { type: string }) => s.type === 'remove-files');
    assert.ok(remove.plan.warnings.length > 0);
  });

  test('an edition the source lacks is exit 3 naming the editions it has', async () => {
    const recipe = join(tmp.path, 'r.yaml');
    await writeFile(recipe, 'version: 1\nname: x\neditions:\n  keep:\n    - id: Enterprise\n');
    const run = await runCliCaptured(['plan', recipe, '--source', iso]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /DF_EDITION_NOT_FOUND/);
    assert.match(run.stderr, /Windows 11 Pro/);
  });
});
