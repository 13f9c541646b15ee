// The shipped tweak catalog (every entry valid, sourced, undoable, with well-formed paths, every
// preset resolving) and the loader and selection rules on small catalogs written to a temp folder.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { ConfigError, InputError } from '../errors.js';
import {
  closeMatches,
  loadTweakCatalog,
  registryKeyProblem,
  resolveTweakSelection,
  sourcesOf,
  TWEAK_CATEGORIES,
  type TweakCatalog,
  tweakAppliesTo,
  valueDataProblem,
} from './tweaks.js';

let catalog: TweakCatalog;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let n = 0;

before(async () => {
  catalog = await loadTweakCatalog();
  tmp = await makeTempDir('deployforge-tweaks-');
});

after(async () => {
  await tmp?.cleanup();
});

/** Writes `files` (name → YAML text) into a fresh folder and returns it. */
async function catalogDir(files: Record<string, string>): Promise<string> {
  const dir = join(tmp.path, `catalog-${++n}`);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function catalogIssues(files: Record<string, string>): Promise<ConfigError> {
  const dir = await catalogDir(files);
  try {
    await loadTweakCatalog(dir);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.code, 'DF_TWEAK_CATALOG_INVALID');
    return error;
  }
  assert.fail('the catalog loaded');
}

const tweak = (id: string, extra = '', change = "{ hive: SOFTWARE, key: 'Policies\\Test', value: A, type: REG_DWORD, data: 1 }") =>
  [
    `  - id: ${id}`,
    `    title: Test tweak ${id}`,
    '    description: A tweak written by the catalog tests.',
    '    category: privacy',
    '    windows: [win10, win11]',
    extra,
    '    changes:',
    `      - ${change}`,
    '    undo:',
    "      - { hive: SOFTWARE, key: 'Policies\\Test', value: A, delete: true }",
    '    source: https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-system',
  ]
    .filter((l) => l !== '')
    .join('\n');

describe('the shipped catalog', () => {
  test('has at least 150 tweaks, every category non-empty', () => {
    assert.ok(catalog.tweaks.length >= 150, `${catalog.tweaks.length} tweaks`);
    for (const category of TWEAK_CATEGORIES)
      assert.ok(
        catalog.tweaks.some((t) => t.category === category),
        `${category} has tweaks`,
      );
  });

  test('ids are unique and every entry has a source, a title, a description and Windows versions', () => {
    assert.equal(new Set(catalog.tweaks.map((t) => t.id)).size, catalog.tweaks.length);
    for (const t of catalog.tweaks) {
      const sources = sourcesOf(t);
      assert.ok(sources.length > 0, `${t.id} has a source`);
      for (const s of sources) assert.match(s, /^(https:\/\/learn\.microsoft\.com\/|ANCHORS\.md §[25]\.\d )/, `${t.id}: ${s}`);
      assert.ok(t.title.length > 0 && t.description.length >= 20, t.id);
      assert.ok(t.windows.length > 0, t.id);
      assert.ok(catalog.locationOf(t.id), `${t.id} has a location`);
    }
  });

  test('every registry path is well-formed and every DWORD fits in 32 bits', () => {
    for (const t of catalog.tweaks) {
      for (const c of [...t.changes, ...t.undo]) {
        assert.equal(registryKeyProblem(c.hive, c.key), undefined, `${t.id}: ${c.hive}\\${c.key}`);
        assert.doesNotMatch(c.key, /^(HKLM|HKEY_|HKCU|HKU)/i, t.id);
        if (c.hive !== 'SYSTEM') assert.doesNotMatch(c.key, /CurrentControlSet/i, t.id);
        if (c.type === 'REG_DWORD') {
          assert.ok(Number.isInteger(c.data) && (c.data as number) >= 0 && (c.data as number) <= 0xffffffff, `${t.id}: ${c.value} = ${c.data}`);
        }
        if (c.type) assert.equal(valueDataProblem(c.type, c.data), undefined, `${t.id}: ${c.value}`);
      }
    }
  });

  test('every tweak has an undo for each value it sets', () => {
    for (const t of catalog.tweaks) {
      assert.ok(t.undo.length > 0, t.id);
      for (const c of t.changes.filter((x) => !x.delete)) {
        const undone = t.undo.some((u) => u.hive === c.hive && u.key.toLowerCase() === c.key.toLowerCase() && (u.value ?? '').toLowerCase() === (c.value ?? '').toLowerCase());
        assert.ok(undone, `${t.id}: ${c.key}\\${c.value}`);
      }
    }
  });

  test('security tweaks, and only they, carry a level from 1 to 3, and every level is used', () => {
    for (const t of catalog.tweaks) {
      if (t.category === 'security') assert.ok(t.level === 1 || t.level === 2 || t.level === 3, t.id);
      else assert.equal(t.level, undefined, t.id);
    }
    for (const level of [1, 2, 3])
      assert.ok(
        catalog.tweaks.some((t) => t.level === level),
        `level ${level}`,
      );
  });

  test('only DEFAULT_USER tweaks ask for config/DEFAULT too', () => {
    const both = catalog.tweaks.filter((t) => t.alsoDefaultHive);
    assert.ok(both.length > 0);
    for (const t of both)
      assert.ok(
        t.changes.some((c) => c.hive === 'DEFAULT_USER'),
        t.id,
      );
  });

  test('every preset resolves to known, conflict-free tweaks', () => {
    assert.ok(catalog.presets.length >= 6);
    for (const id of ['privacy-basic', 'privacy-strict', 'gaming', 'performance', 'clean-start', 'minimal', 'security-baseline']) {
      assert.ok(catalog.presetById.has(id), id);
    }
    for (const preset of catalog.presets) {
      const tweaks = resolveTweakSelection(catalog, { presets: [preset.id] });
      assert.ok(tweaks.length > 0, preset.id);
      assert.equal(new Set(tweaks.map((t) => t.id)).size, tweaks.length, `${preset.id} lists each tweak once`);
    }
  });

  test('a whole category resolves unless it holds declared alternatives', () => {
    for (const category of TWEAK_CATEGORIES) {
      const members = catalog.tweaks.filter((t) => t.category === category);
      const alternatives = members.filter((t) => t.conflicts?.some((c) => members.some((m) => m.id === c)));
      if (alternatives.length === 0) assert.equal(resolveTweakSelection(catalog, { categories: [category] }).length, members.length, category);
      else assert.throws(() => resolveTweakSelection(catalog, { categories: [category] }), { code: 'DF_TWEAK_CONFLICT' });
    }
  });
});

describe('registry path checks', () => {
  test('rejects roots, hive prefixes, empty segments, edge backslashes and misplaced control sets', () => {
    const bad: [Parameters<typeof registryKeyProblem>[0], string][] = [
      ['SOFTWARE', 'HKLM\\SOFTWARE\\Policies\\X'],
      ['SOFTWARE', 'SOFTWARE\\Policies\\X'],
      ['SOFTWARE', '\\Policies\\X'],
      ['SOFTWARE', 'Policies\\X\\'],
      ['SOFTWARE', 'Policies\\\\X'],
      ['SOFTWARE', ''],
      ['SOFTWARE', 'Policies\\CurrentControlSet'],
      ['DEFAULT_USER', 'HKCU\\Software\\X'],
      ['DEFAULT_USER', 'Microsoft\\Windows'],
      ['SYSTEM', 'ControlSet001\\Services\\X'],
      ['SYSTEM', 'Setup\\CurrentControlSet'],
      ['SYSTEM', 'SYSTEM\\CurrentControlSet\\Services'],
      ['SOFTWARE', 'Policies\\a\u0001b'],
      ['SOFTWARE', `Policies\\${'x'.repeat(256)}`],
    ];
    for (const [hive, key] of bad) assert.notEqual(registryKeyProblem(hive, key), undefined, `${hive} ${JSON.stringify(key)}`);
  });

  test('accepts paths below each hive root', () => {
    assert.equal(registryKeyProblem('SOFTWARE', 'Policies\\Microsoft\\Windows\\DataCollection'), undefined);
    assert.equal(registryKeyProblem('SYSTEM', 'CurrentControlSet\\Services\\DiagTrack'), undefined);
    assert.equal(registryKeyProblem('DEFAULT_USER', 'Control Panel\\Accessibility\\StickyKeys'), undefined);
  });
});

describe('loading', () => {
  test('a schema problem names the file, the line and the field', async () => {
    const bad = tweak('bad-key', '', "{ hive: SOFTWARE, key: 'HKLM\\SOFTWARE\\Policies\\Test', value: A, type: REG_DWORD, data: 1 }");
    const error = await catalogIssues({ 'privacy.yaml': `# comment\ntweaks:\n${bad}\n` });
    const issue = error.issues.find((i) => i.field === 'tweaks[0].changes[0].key');
    assert.ok(issue, JSON.stringify(error.issues));
    assert.ok(issue.file?.endsWith('privacy.yaml'));
    assert.equal(issue.line, 9, 'the line of the change entry');
  });

  test('reports every problem at once: bad data, missing undo, missing level, unknown keys', async () => {
    const text = [
      'tweaks:',
      tweak('too-big', '', "{ hive: SOFTWARE, key: 'Policies\\Test', value: A, type: REG_DWORD, data: 4294967296 }"),
      tweak('no-undo-entry', '', "{ hive: SOFTWARE, key: 'Policies\\Other', value: B, type: REG_DWORD, data: 1 }"),
      tweak('extra-field', '    colour: red'),
    ].join('\n');
    const error = await catalogIssues({ 'privacy.yaml': text, 'security.yaml': `tweaks:\n${tweak('no-level').replace('category: privacy', 'category: security')}\n` });
    const fields = error.issues.map((i) => `${i.file?.split('/').pop()} ${i.field}`);
    assert.ok(fields.includes('privacy.yaml tweaks[0].changes[0].data'), fields.join('; '));
    assert.ok(fields.includes('privacy.yaml tweaks[1].undo'), fields.join('; '));
    assert.ok(fields.includes('privacy.yaml tweaks[2].colour'), fields.join('; '));
    assert.ok(fields.includes('security.yaml tweaks[0].level'), fields.join('; '));
    for (const i of error.issues) assert.ok(typeof i.line === 'number' && i.line > 1, JSON.stringify(i));
  });

  test('rejects duplicate ids across files, a category differing from its file, and unknown files', async () => {
    const error = await catalogIssues({
      'privacy.yaml': `tweaks:\n${tweak('same-id')}\n`,
      'ads.yaml': `tweaks:\n${tweak('same-id', '', "{ hive: SOFTWARE, key: 'Policies\\Test', value: A, type: REG_DWORD, data: 1 }").replace('category: privacy', 'category: ads')}\n`,
      'gaming.yaml': `tweaks:\n${tweak('wrong-file')}\n`,
      'misc.yaml': 'tweaks: []\n',
    });
    const messages = error.issues.map((i) => `${i.file?.split('/').pop()}:${i.field}`);
    assert.ok(messages.includes('ads.yaml:tweaks[0].id'), messages.join('; '));
    assert.ok(messages.includes('gaming.yaml:tweaks[0].category'), messages.join('; '));
    assert.ok(messages.includes('misc.yaml:'), messages.join('; '));
  });

  test('two tweaks writing one value differently must declare the conflict', async () => {
    const other = "{ hive: SOFTWARE, key: 'Policies\\Test', value: A, type: REG_DWORD, data: 2 }";
    const error = await catalogIssues({ 'privacy.yaml': `tweaks:\n${tweak('one')}\n${tweak('two', '', other)}\n` });
    assert.ok(
      error.issues.some((i) => i.field === 'tweaks[1].changes'),
      JSON.stringify(error.issues),
    );
    const dir = await catalogDir({ 'privacy.yaml': `tweaks:\n${tweak('one', '    conflicts: [two]')}\n${tweak('two', '', other)}\n` });
    const ok = await loadTweakCatalog(dir);
    assert.equal(ok.tweaks.length, 2);
    assert.throws(() => resolveTweakSelection(ok, { ids: ['one', 'two'] }), { code: 'DF_TWEAK_CONFLICT' });
  });

  test('YAML syntax errors and presets that do not resolve are reported with their line', async () => {
    const syntax = await catalogIssues({ 'privacy.yaml': 'tweaks:\n  - id: [unclosed\n' });
    assert.ok(syntax.issues[0].line !== undefined && syntax.issues[0].line >= 2);
    const presets = await catalogIssues({
      'privacy.yaml': `tweaks:\n${tweak('one')}\n`,
      'presets.yaml':
        'presets:\n  - id: loop-a\n    title: Loop A\n    description: includes loop-b\n    presets: [loop-b]\n  - id: loop-b\n    title: Loop B\n    description: includes loop-a\n    presets: [loop-a]\n    ids: [nope]\n',
    });
    assert.deepEqual(
      presets.issues.map((i) => [i.field, i.line]),
      [
        ['presets[0]', 2],
        ['presets[1]', 6],
      ],
    );
  });
});

describe('selection', () => {
  test('unknown ids, categories and presets fail with InputError and close matches', () => {
    const unknown = (selection: Parameters<typeof resolveTweakSelection>[1], code: string) => {
      assert.throws(
        () => resolveTweakSelection(catalog, selection),
        (e: unknown) => e instanceof InputError && e.code === code,
      );
    };
    unknown({ ids: ['disable-telemtry'] }, 'DF_TWEAK_UNKNOWN');
    unknown({ categories: ['privcy'] }, 'DF_TWEAK_UNKNOWN_CATEGORY');
    unknown({ presets: ['privacy-basics'] }, 'DF_TWEAK_UNKNOWN_PRESET');
    unknown({ ids: ['disable-telemetry'], exclude: ['nope'] }, 'DF_TWEAK_UNKNOWN');
    unknown({ ids: ['disable-telemetry'], overrides: { 'nope-nope': { data: 1 } } }, 'DF_TWEAK_UNKNOWN');
    assert.deepEqual(closeMatches('disable-telemtry', catalog.byId.keys())[0], 'disable-telemetry');
    assert.deepEqual(closeMatches('privacy-basics', catalog.presetById.keys())[0], 'privacy-basic');
    assert.ok(closeMatches('telemetry', catalog.byId.keys()).includes('disable-telemetry'));
  });

  test('ids, categories, presets and security levels combine into one ordered list without repeats', () => {
    const list = resolveTweakSelection(catalog, { ids: ['show-file-extensions', 'disable-telemetry'], presets: ['privacy-basic'], categories: ['power'], securityLevel: 1 });
    const ids = list.map((t) => t.id);
    assert.equal(new Set(ids).size, ids.length);
    const order = catalog.tweaks.map((t) => t.id);
    assert.deepEqual(
      ids,
      order.filter((id) => ids.includes(id)),
      'catalog order',
    );
    assert.ok(ids.includes('show-file-extensions') && ids.includes('disable-fast-startup'));
    assert.ok(list.filter((t) => t.category === 'security').every((t) => t.level === 1));
    assert.ok(list.some((t) => t.category === 'security'));
  });

  test('exclude removes tweaks; security levels include the lower levels', () => {
    const two = resolveTweakSelection(catalog, { securityLevel: 2, exclude: ['disable-llmnr'] });
    assert.ok(two.some((t) => t.level === 1) && two.some((t) => t.level === 2) && !two.some((t) => t.level === 3));
    assert.ok(!two.some((t) => t.id === 'disable-llmnr'));
  });

  test('overrides replace data by value or for the whole tweak, checked against the type', () => {
    const [pinned] = resolveTweakSelection(catalog, {
      ids: ['wu-pin-release'],
      overrides: { 'wu-pin-release': { values: { ProductVersion: 'Windows 10', TargetReleaseVersionInfo: '22H2' } } },
    });
    assert.deepEqual(
      pinned.changes.map((c) => c.data),
      [1, 'Windows 10', '22H2'],
    );
    const [icon] = resolveTweakSelection(catalog, { ids: ['search-icon-only'], overrides: { 'search-icon-only': { data: 0 } } });
    assert.equal(icon.changes[0].data, 0);
    assert.equal(catalog.byId.get('search-icon-only')?.changes[0].data, 1, 'the catalog itself is unchanged');
    assert.throws(() => resolveTweakSelection(catalog, { ids: ['search-icon-only'], overrides: { 'search-icon-only': { data: 'text' } } }), { code: 'DF_TWEAK_BAD_OVERRIDE' });
    assert.throws(() => resolveTweakSelection(catalog, { ids: ['search-icon-only'], overrides: { 'search-icon-only': { values: { Nope: 1 } } } }), {
      code: 'DF_TWEAK_BAD_OVERRIDE',
    });
    assert.throws(() => resolveTweakSelection(catalog, { ids: ['search-icon-only'], overrides: { 'disable-telemetry': { data: 1 } } }), { code: 'DF_TWEAK_OVERRIDE_UNSELECTED' });
  });

  test('declared alternatives cannot be selected together', () => {
    assert.throws(() => resolveTweakSelection(catalog, { ids: ['wu-notify-before-install', 'wu-disable-automatic-updates'] }), { code: 'DF_TWEAK_CONFLICT' });
    assert.throws(() => resolveTweakSelection(catalog, { ids: ['enable-remote-desktop'], securityLevel: 2 }), { code: 'DF_TWEAK_CONFLICT' });
    assert.equal(resolveTweakSelection(catalog, { categories: ['windows-update'], exclude: ['wu-notify-before-download', 'wu-disable-automatic-updates'] }).length, 13);
  });

  test('Windows versions: win10 is below build 22000, win11 from it, with optional build bounds', () => {
    const t = (id: string) => catalog.byId.get(id) ?? assert.fail(id);
    assert.ok(tweakAppliesTo(t('disable-telemetry'), 19045) && tweakAppliesTo(t('disable-telemetry'), 26100));
    assert.ok(tweakAppliesTo(t('disable-news-and-interests'), 19045) && !tweakAppliesTo(t('disable-news-and-interests'), 22631));
    assert.ok(tweakAppliesTo(t('hide-chat-button'), 22631) && !tweakAppliesTo(t('hide-chat-button'), 26100));
    assert.ok(!tweakAppliesTo(t('disable-recall-feature'), 22631) && tweakAppliesTo(t('disable-recall-feature'), 26100));
  });
});
