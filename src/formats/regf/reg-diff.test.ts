import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { runTool } from '../../util/exec.js';
import { buildHive, type HiveTreeKey, regBinary, regDword, regSz } from './build-hive.js';
import { openHive } from './hive.js';
import { diffHives } from './reg-diff.js';
import { exportHive } from './reg-export.js';
import { writeRegFile } from './reg-file.js';
import { exportLines, hivexExport } from './reg-test-support.js';

// Two trees that share most of their structure: B is A with keys and values added, changed and
// removed, so the diff has every kind of entry.
const nameArb = fc.constantFrom('Alpha', 'beta', 'Gamma', 'Δelta', 'Epsilon', 'zeta', 'Eta');
const valueArb = fc.record({ name: fc.constantFrom('', 'One', 'two', 'Three'), kind: fc.constantFrom('sz', 'dword', 'bin'), n: fc.integer({ min: 0, max: 1000 }) });
const treeArb: fc.Arbitrary<HiveTreeKey> = fc.letrec((tie) => ({
  key: fc.record({
    name: nameArb,
    values: fc.uniqueArray(valueArb, { maxLength: 3, selector: (v) => v.name.toLowerCase() }).map((vs) =>
      vs.map((v) => ({
        name: v.name,
        type: v.kind === 'sz' ? 1 : v.kind === 'dword' ? 4 : 3,
        data: v.kind === 'sz' ? regSz(`text ${v.n}`) : v.kind === 'dword' ? regDword(v.n) : regBinary(new Uint8Array(v.n % 40).fill(v.n & 0xff)),
      })),
    ),
    subkeys: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant([]),
      fc.uniqueArray(tie('key') as fc.Arbitrary<HiveTreeKey>, { maxLength: 3, selector: (k) => k.name.toLowerCase() }),
    ),
  }),
})).key as fc.Arbitrary<HiveTreeKey>;

describe('diffHives', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('gives a .reg that hivexregedit --merge applies to A to produce exactly B (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(treeArb, { maxLength: 4 }), fc.array(treeArb, { maxLength: 4 }), async (left, right) => {
        const dedupe = (keys: HiveTreeKey[]) => keys.filter((k, i) => keys.findIndex((o) => o.name.toLowerCase() === k.name.toLowerCase()) === i);
        const aTree: HiveTreeKey = { name: 'ROOT', subkeys: dedupe(left) };
        // B shares A's first subtree, so some keys compare value by value.
        const bTree: HiveTreeKey = { name: 'ROOT', subkeys: dedupe([...left.slice(0, 1), ...right]) };
        const a = buildHive(aTree);
        const b = buildHive(bTree);
        const diff = diffHives(openHive(a, 'A'), openHive(b, 'B'));
        const dir = join(tmp.path, `run${run++}`);
        const { mkdir } = await import('node:fs/promises');
        await mkdir(dir);
        const aPath = join(dir, 'a');
        await writeFile(aPath, a);
        const merged = join(dir, 'merged');
        await copyFile(aPath, merged);
        if (diff.entries.length > 0) {
          await writeFile(join(dir, 'diff.reg'), writeRegFile(diff, { encoding: 'utf8' }));
          await runTool('hivexregedit', ['--merge', merged, join(dir, 'diff.reg')], { env: { ...process.env, PERL_UNICODE: 'SDA' } });
        }
        const expected = exportLines(exportHive(openHive(b, 'B')).entries);
        assert.deepEqual(exportLines((await hivexExport(merged, '')).entries), expected);
      }),
      { numRuns: 20, seed: 4242, endOnFailure: true },
    );
  });

  test('is empty for identical hives and names only the top of a removed subtree', () => {
    const tree: HiveTreeKey = {
      name: 'ROOT',
      subkeys: [
        { name: 'Keep', values: [{ name: 'v', type: 4, data: regDword(1) }] },
        { name: 'Gone', subkeys: [{ name: 'Deep' }] },
      ],
    };
    const a = openHive(buildHive(tree));
    assert.deepEqual(diffHives(a, a).entries, []);
    const b = openHive(buildHive({ name: 'ROOT', subkeys: [{ name: 'KEEP', values: [{ name: 'V', type: 4, data: regDword(2) }] }] }));
    const entries = diffHives(a, b, { prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE' }).entries;
    assert.deepEqual(
      entries.map((e) => (e.kind === 'key' ? `${e.deleted ? '-' : ''}[${e.path}]` : `${e.keyPath}:${e.name}`)),
      ['-[HKEY_LOCAL_MACHINE\\SOFTWARE\\Gone]', '[HKEY_LOCAL_MACHINE\\SOFTWARE\\KEEP]', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\KEEP:V'],
    );
  });
});
