// The profile catalog as shipped: every profile loads through the recipe loader (profiles using a
// step kind this build has not registered are skipped with the reason), the groups the issue asks
// for are all there, names and winget ids are well-formed with their manifest folder noted, tweak
// and app references resolve without conflicts once bases are merged, and wizard presets only
// build on catalog profiles. Then the index itself, on small catalogs in a temporary folder.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { makeTempDir } from '../../test/helpers/corpus.js';
import type { ConfigError, DeployForgeError } from '../errors.js';
import { resolveExtends } from '../recipe/loader.js';
import '../steps/index.js';
import { defaultAppCatalog, resolveAppSelection, resolveCapabilities } from './apps.js';
import { findProfile, listProfiles, loadProfile, missingStepKinds, type ProfileSummary, profileNameOf, summarizeStep } from './profiles.js';
import { loadTweakCatalog, resolveTweakSelection, type Tweak } from './tweaks.js';

const profiles = await listProfiles();
const byName = new Map(profiles.map((p) => [p.name, p]));
const inCategory = (category: string) => profiles.filter((p) => p.category === category);
const code = (expected: string) => (error: unknown) => (error as DeployForgeError).code === expected;

type RawStep = Record<string, unknown> & { type: string };

/** A profile's steps with those of everything it extends, bases first, as the loader merges them. */
async function stepsWithBases(file: string): Promise<{ file: string; step: RawStep }[]> {
  const data = parse(await readFile(file, 'utf8')) as { extends?: string | string[]; steps?: RawStep[] };
  const bases = data.extends === undefined ? [] : Array.isArray(data.extends) ? data.extends : [data.extends];
  const out: { file: string; step: RawStep }[] = [];
  for (const base of bases) out.push(...(await stepsWithBases(resolveExtends(base, file))));
  for (const step of data.steps ?? []) out.push({ file, step });
  return out;
}

const WINGET_ID = /^[A-Za-z0-9][A-Za-z0-9_+-]*(?:\.[A-Za-z0-9][A-Za-z0-9_+-]*)+$/;
const manifestFolder = (id: string) => `manifests/${id[0].toLowerCase()}/${id.split('.').join('/')}`;
const packagesOf = (step: RawStep) => (step.packages as { id: string }[]).map((p) => p.id);

describe('the shipped profiles', () => {
  for (const profile of profiles) {
    test(`${profile.name} loads as a recipe with everything it extends`, async (t) => {
      const missing = missingStepKinds(profile);
      if (missing.length > 0) {
        t.skip(`step kind ${missing.join(', ')} is not registered in this build yet (src/steps/index.ts)`);
        return;
      }
      const { loaded } = await loadProfile(profile.name);
      assert.equal(loaded.recipe.outputs, undefined, 'a profile has no outputs of its own');
      assert.ok((loaded.recipe.steps?.length ?? 0) > 0, 'a profile does something');
      assert.deepEqual([...new Set(loaded.steps.map((s) => s.step.type))].sort(), [...profile.allStepKinds].sort(), 'the index names the step kinds the loader resolves');
    });
  }

  test('has every group the issue asks for, with the minimum counts', () => {
    const names = (category: string) => inCategory(category).map((p) => p.name.split('/')[1]);
    assert.deepEqual(names('gaming').sort(), ['balanced', 'competitive', 'quality', 'streaming']);
    assert.deepEqual(names('privacy').sort(), ['balanced', 'basic', 'max', 'strict']);
    assert.deepEqual(names('wizard').sort(), ['developer', 'gamer', 'home', 'kiosk', 'minimal', 'office', 'privacy-max', 'school', 'vm-guest']);
    assert.equal(inCategory('looks').length, 6);
    assert.equal(inCategory('backup').length, 5);
    assert.ok(inCategory('creative').length >= 3);
    const environments = inCategory('developer').filter((p) => p.packages.length > 0 && p.name !== 'developer/base');
    assert.ok(environments.length >= 10, `${environments.length} developer environments`);
    for (const [category, minimum] of [
      ['browsers', 17],
      ['launchers', 12],
    ] as const) {
      const ids = new Set(inCategory(category).flatMap((p) => p.packages));
      assert.ok(inCategory(category).length >= minimum && ids.size >= minimum, `${category}: ${ids.size} packages`);
    }
    assert.ok(new Set(inCategory('portable').flatMap((p) => p.packages)).size >= 20);
  });

  test('names, recipe names and tags are unique and well-formed, and every profile says what it does', () => {
    const recipeNames = new Set<string>();
    for (const p of profiles) {
      assert.equal(p.recipeName, p.name.replace('/', '-'), `${p.name}: name: matches the file`);
      assert.ok(!recipeNames.has(p.recipeName), `${p.recipeName} twice`);
      recipeNames.add(p.recipeName);
      assert.ok(p.description.length >= 20, `${p.name}: description`);
      assert.ok(p.tags.length > 0 && p.tags.every((t) => /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(t)), `${p.name}: tags ${p.tags}`);
    }
  });

  test('every winget id is well-formed and notes its winget-pkgs manifest folder on its line', async () => {
    for (const p of profiles) {
      const lines = (await readFile(p.file, 'utf8')).split('\n');
      for (const id of p.packages) {
        assert.match(id, WINGET_ID, `${p.name}: ${id}`);
        const line = lines.find((l) => new RegExp(`^\\s*- id: ${id.replace(/[.+]/g, '\\$&')}\\s`).test(l));
        assert.ok(line, `${p.name}: ${id} is on a line of its own`);
        assert.equal(/# winget-pkgs (\S+)\s*$/.exec(line)?.[1], manifestFolder(id), `${p.name}: ${id} names its manifest folder`);
      }
    }
  });

  test('a profile installs each package once, its bases included', async () => {
    for (const p of profiles) {
      const ids = (await stepsWithBases(p.file)).filter((s) => s.step.type === 'install-apps').flatMap((s) => packagesOf(s.step));
      assert.deepEqual(
        ids.filter((id, i) => ids.indexOf(id) !== i),
        [],
        `${p.name} installs a package twice`,
      );
    }
  });

  test('tweak and app references resolve, and merged profiles never write one value two ways', async () => {
    const tweaks = await loadTweakCatalog();
    const apps = await defaultAppCatalog();
    for (const p of profiles) {
      const writers = new Map<string, { by: string; data: string }>();
      const chosen: Tweak[] = [];
      for (const { file, step } of await stepsWithBases(p.file)) {
        const where = `${p.name} (${profileNameOf(file) ?? file})`;
        if (step.type === 'tweaks') {
          const selected = resolveTweakSelection(tweaks, step as Parameters<typeof resolveTweakSelection>[1]);
          assert.ok(selected.length > 0, `${where}: tweaks step selects nothing`);
          if (step.undo) continue;
          chosen.push(...selected);
          for (const t of selected) {
            for (const c of t.changes) {
              const id = `${c.hive}|${c.key}|${c.value ?? ''}`.toLowerCase();
              const data = JSON.stringify([c.type, c.data, c.delete]);
              const prior = writers.get(id);
              assert.ok(!prior || prior.data === data || prior.by === t.id, `${where}: ${prior?.by} and ${t.id} both write ${id}`);
              writers.set(id, { by: t.id, data });
            }
          }
        } else if (step.type === 'registry') {
          const hive = step.hive === 'NTUSER' ? 'DEFAULT_USER' : String(step.hive);
          for (const s of (step.set as { key: string; name: string; type: string; data: unknown }[] | undefined) ?? []) {
            const id = `${hive}|${s.key}|${s.name}`.toLowerCase();
            const prior = writers.get(id);
            const data = JSON.stringify([s.type, s.data, undefined]);
            assert.ok(!prior || prior.data === data, `${where}: tweak ${prior?.by} and a registry step both write ${id}`);
            writers.set(id, { by: `registry step of ${profileNameOf(file)}`, data });
          }
        } else if (step.type === 'remove-apps') {
          const selection = { ids: step.apps, categories: step.categories, presets: step.presets, exclude: step.exclude, force: step.force } as Parameters<
            typeof resolveAppSelection
          >[1];
          resolveAppSelection(apps, selection);
          resolveCapabilities(apps, (step.capabilities as string[] | undefined) ?? [], 'remove');
          resolveCapabilities(apps, (step.enableFeatures as string[] | undefined) ?? [], 'enable');
          assert.notEqual(step.force, true, `${where}: profiles never force-remove apps Windows relies on (App Installer runs install-apps)`);
        }
      }
      const ids = new Set(chosen.map((t) => t.id));
      for (const t of chosen) for (const other of t.conflicts ?? []) assert.ok(!ids.has(other), `${p.name}: ${t.id} conflicts with ${other}`);
    }
  });

  test('wizard presets build only on catalog profiles, and every base resolves', async () => {
    for (const p of profiles) {
      for (const base of p.bases) assert.ok(byName.has(base), `${p.name} extends ${base}, which is not a catalog profile`);
      await stepsWithBases(p.file);
    }
    for (const wizard of inCategory('wizard')) assert.ok(wizard.bases.length > 0, `${wizard.name} extends other profiles`);
  });
});

describe('the profile index', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let n = 0;
  before(async () => {
    tmp = await makeTempDir('deployforge-profiles-');
  });
  after(async () => {
    await tmp?.cleanup();
  });

  /** Writes `files` (category/name.yaml → YAML) into a fresh folder and returns it. */
  async function catalogOf(files: Record<string, string>): Promise<string> {
    const dir = join(tmp.path, `profiles-${++n}`);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name.split('/')[0]), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  const look = ['# tags: [look, dark-mode]', 'version: 1', 'name: looks-dark', 'description: Dark mode.', 'steps:', '  - { type: remove-files, paths: [/x] }'].join('\n');
  const wizard = [
    '# a note first',
    '# tags: wizard',
    'version: 1',
    'name: wizard-home',
    'description: Home.',
    'extends: ../looks/dark.yaml',
    'steps:',
    '  - { type: registry, hive: SOFTWARE, set: [{ key: A, name: B, type: REG_DWORD, data: 1 }] }',
  ].join('\n');

  test('reads category, tags, bases and step kinds, bases first', async () => {
    const dir = await catalogOf({ 'looks/dark.yaml': look, 'wizard/home.yaml': wizard });
    const [dark, home] = await listProfiles({ dir });
    assert.deepEqual([dark.name, dark.category, dark.tags], ['looks/dark', 'looks', ['look', 'dark-mode']]);
    assert.deepEqual(
      [home.name, home.tags, home.bases, home.stepKinds, home.allStepKinds],
      ['wizard/home', ['wizard'], ['looks/dark'], ['registry'], ['remove-files', 'registry']],
    );
    assert.deepEqual(
      (await listProfiles({ dir, category: 'wizard' })).map((p) => p.name),
      ['wizard/home'],
    );
    const { loaded } = await loadProfile('wizard/home', { dir });
    assert.deepEqual(
      loaded.steps.map((s) => s.step.type),
      ['remove-files', 'registry'],
    );
  });

  test('an unknown category or name is an input error that says what exists', async () => {
    const dir = await catalogOf({ 'looks/dark.yaml': look });
    await assert.rejects(listProfiles({ dir, category: 'nope' }), code('DF_PROFILE_CATEGORY_UNKNOWN'));
    await assert.rejects(findProfile('dark', { dir }), (e: DeployForgeError) => e.code === 'DF_PROFILE_NOT_FOUND' && (e.details.suggestions as string[]).includes('looks/dark'));
    await assert.rejects(findProfile('../looks/dark', { dir }), code('DF_PROFILE_NOT_FOUND'));
  });

  test('a broken profile or a missing base is reported with its file', async () => {
    const broken = await catalogOf({ 'looks/dark.yaml': 'version: 1\nsteps: [\n' });
    await assert.rejects(listProfiles({ dir: broken }), (e: ConfigError) => e.code === 'DF_PROFILE_INVALID' && e.issues[0].file === join(broken, 'looks', 'dark.yaml'));
    const orphan = await catalogOf({ 'wizard/home.yaml': wizard });
    await assert.rejects(
      listProfiles({ dir: orphan }),
      (e: ConfigError) => e.code === 'DF_PROFILE_INVALID' && e.issues[0].file === join(orphan, 'wizard', 'home.yaml') && e.issues[0].field === 'extends',
    );
  });

  test('a profile using a step kind this build lacks is refused by name, before the loader', async () => {
    const dir = await catalogOf({ 'x/y.yaml': 'version: 1\nname: x-y\ndescription: Uses a future step.\nsteps:\n  - { type: not-a-step-kind }\n' });
    const [summary] = await listProfiles({ dir });
    assert.deepEqual(missingStepKinds(summary as ProfileSummary), ['not-a-step-kind']);
    await assert.rejects(loadProfile('x/y', { dir }), code('DF_PROFILE_STEP_UNAVAILABLE'));
  });

  test('summarises each step kind in one line', () => {
    assert.equal(summarizeStep({ type: 'tweaks', presets: ['gaming'], ids: ['disable-game-dvr'] }), 'presets gaming; ids disable-game-dvr');
    assert.equal(summarizeStep({ type: 'install-apps', packages: [{ id: 'Valve.Steam' }, { id: 'Discord.Discord' }] }), 'Valve.Steam, Discord.Discord');
    assert.equal(summarizeStep({ type: 'remove-apps', presets: ['consumer'], blockReinstall: true, onedrive: true }), 'presets consumer; block reinstall; remove OneDrive');
    assert.equal(
      summarizeStep({ type: 'registry', description: 'Dark mode', hive: 'NTUSER', set: [{ key: 'K', name: 'V', type: 'REG_DWORD', data: 0 }] }),
      'Dark mode (NTUSER: set K\\V)',
    );
  });
});
