// The app catalog as shipped (every entry valid, sourced, unique; the anchors' lists covered) and
// the selection rules (exact names only, keep-by-default refused without force), plus hostile
// catalogs written to a temporary folder to check that problems name file, line and field.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { ConfigError, type DeployForgeError } from '../errors.js';
import { type AppCatalog, appliesTo, findApp, loadAppCatalog, resolveAppSelection, resolveCapabilities, windowsReleaseOf } from './apps.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let catalog: AppCatalog;
let n = 0;

before(async () => {
  tmp = await makeTempDir('deployforge-catalog-');
  catalog = await loadAppCatalog();
});

after(async () => {
  await tmp?.cleanup();
});

const code = (expected: string) => (error: unknown) => (error as DeployForgeError).code === expected;

/** Writes `files` (name → YAML) into a fresh folder and loads it as a catalog. */
async function loadFrom(files: Record<string, string>): Promise<AppCatalog> {
  const dir = join(tmp.path, `catalog-${++n}`);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return loadAppCatalog(dir);
}

async function issuesOf(files: Record<string, string>) {
  try {
    await loadFrom(files);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, 'DF_CATALOG_INVALID');
    return error.issues;
  }
  assert.fail('expected the catalog to be refused');
}

const app = (id: string, name: string, extra = '') => `  - id: ${id}
    packageName: ${name}
    displayName: ${id}
    category: media
    windows: { win11: [24H2] }
    keepByDefault: false
    defaultMechanism: setup
    source: [here]
${extra}`;

describe('shipped app catalog', () => {
  test('loads: every app and capability entry validates against its schema', () => {
    assert.ok(catalog.apps.length >= 60, `${catalog.apps.length} apps`);
    assert.ok(catalog.capabilities.length >= 25, `${catalog.capabilities.length} capabilities`);
  });

  test('every entry has a source, and ids, package names, families and capability names are unique', () => {
    for (const entry of [...catalog.apps, ...catalog.capabilities]) {
      assert.ok(entry.source.length > 0 && entry.source.every((s) => s.length > 10), `${entry.id} has a source`);
    }
    const dupes = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i);
    assert.deepEqual(dupes(catalog.apps.map((a) => a.id)), []);
    assert.deepEqual(dupes(catalog.apps.map((a) => a.packageName.toLowerCase())), []);
    assert.deepEqual(dupes(catalog.apps.flatMap((a) => (a.family ? [a.family.toLowerCase()] : []))), []);
    assert.deepEqual(dupes(catalog.capabilities.map((c) => c.id)), []);
    assert.deepEqual(dupes(catalog.capabilities.map((c) => `${c.kind}:${c.name.toLowerCase()}`)), []);
  });

  test('covers Windows 10 and 11; Store, App Installer, VCLibs, UI.Xaml and .NET Native are kept by default, with a reason', () => {
    assert.ok(catalog.apps.some((a) => a.windows.win10));
    assert.ok(catalog.apps.some((a) => a.windows.win11?.includes('25H2')));
    for (const name of [
      'Microsoft.WindowsStore',
      'Microsoft.StorePurchaseApp',
      'Microsoft.DesktopAppInstaller',
      'Microsoft.VCLibs.140.00',
      'Microsoft.VCLibs.140.00.UWPDesktop',
      'Microsoft.UI.Xaml.2.8',
      'Microsoft.NET.Native.Framework.2.2',
      'Microsoft.NET.Native.Runtime.2.2',
    ]) {
      const entry = findApp(catalog, name);
      assert.ok(entry?.keepByDefault, `${name} is kept by default`);
    }
    for (const entry of catalog.apps) {
      assert.equal(entry.keepReason !== null, entry.keepByDefault, `${entry.id}: keepReason exactly when kept by default`);
      if (entry.category === 'frameworks' || entry.category === 'codecs') assert.ok(entry.keepByDefault, `${entry.id} (${entry.category}) is kept`);
    }
  });

  test('lists every AppX name of tiny11 (ANCHORS §5.1) and schneegans (§5.2), matched exactly', () => {
    const tiny11 = [
      'AppUp.IntelManagementandSecurityStatus',
      'Clipchamp.Clipchamp',
      'DolbyLaboratories.DolbyAccess',
      'DolbyLaboratories.DolbyDigitalPlusDecoderOEM',
      'Microsoft.BingNews',
      'Microsoft.BingSearch',
      'Microsoft.BingWeather',
      'Microsoft.Copilot',
      'Microsoft.GamingApp',
      'Microsoft.GetHelp',
      'Microsoft.Getstarted',
      'Microsoft.Microsoft3DViewer',
      'Microsoft.MicrosoftOfficeHub',
      'Microsoft.MicrosoftSolitaireCollection',
      'Microsoft.MicrosoftStickyNotes',
      'Microsoft.MixedReality.Portal',
      'Microsoft.MSPaint',
      'Microsoft.Office.OneNote',
      'Microsoft.OfficePushNotificationUtility',
      'Microsoft.OutlookForWindows',
      'Microsoft.Paint',
      'Microsoft.People',
      'Microsoft.PowerAutomateDesktop',
      'Microsoft.SkypeApp',
      'Microsoft.StartExperiencesApp',
      'Microsoft.Todos',
      'Microsoft.Wallet',
      'Microsoft.Windows.DevHome',
      'Microsoft.Windows.Copilot',
      'Microsoft.Windows.Teams',
      'Microsoft.WindowsAlarms',
      'Microsoft.WindowsCamera',
      'microsoft.windowscommunicationsapps',
      'Microsoft.WindowsFeedbackHub',
      'Microsoft.WindowsMaps',
      'Microsoft.WindowsSoundRecorder',
      'Microsoft.WindowsTerminal',
      'Microsoft.Xbox.TCUI',
      'Microsoft.XboxApp',
      'Microsoft.XboxGameOverlay',
      'Microsoft.XboxGamingOverlay',
      'Microsoft.XboxIdentityProvider',
      'Microsoft.XboxSpeechToTextOverlay',
      'Microsoft.YourPhone',
      'Microsoft.ZuneMusic',
      'Microsoft.ZuneVideo',
      'MicrosoftCorporationII.MicrosoftFamily',
      'MicrosoftCorporationII.QuickAssist',
      'MSTeams',
      'MicrosoftTeams',
      'Microsoft.549981C3F5F10',
      // tiny11 spells it Microsoft.Windows.CrossDevice; the package name (tiny11 #247) is:
      'MicrosoftWindows.CrossDevice',
    ];
    const schneegans = [
      'Microsoft.WindowsNotepad',
      'Microsoft.ScreenSketch',
      'Microsoft.Windows.Photos',
      'Microsoft.WindowsCalculator',
      'Microsoft.WindowsStore',
      'Microsoft.StorePurchaseApp',
      'Microsoft.Edge.GameAssist',
      'Microsoft.WidgetsPlatformRuntime',
    ];
    const missing = [...tiny11, ...schneegans].filter((name) => findApp(catalog, name)?.packageName !== name);
    assert.deepEqual(missing, []);
  });

  test('lists the capabilities and optional features of schneegans (ANCHORS §5.2)', () => {
    const names = [
      'Microsoft.Windows.SnippingTool',
      'Browser.InternetExplorer',
      'Media.WindowsMediaPlayer',
      'Microsoft.Windows.WordPad',
      'Microsoft.Windows.Notepad.System',
      'App.StepsRecorder',
      'MathRecognizer',
      'Microsoft.Windows.PowerShell.ISE',
      'OpenSSH.Client',
      'Hello.Face.20134',
      'Language.Handwriting',
      'Language.Speech',
      'Language.TextToSpeech',
      'Print.Fax.Scan',
      'OneCoreUAP.OneSync',
      'MediaPlayback',
      'Recall',
      'Microsoft-RemoteDesktopConnection',
      'MicrosoftWindowsPowerShellV2Root',
      'Microsoft.Windows.MSPaint',
      'Microsoft.Windows.Notepad',
      'App.Support.QuickAssist',
      'Hello.Face.18967',
      'Hello.Face.Migration.18967',
      'Microsoft-SnippingTool',
    ];
    assert.deepEqual(
      names.filter((name) => !catalog.capabilities.some((c) => c.name === name)),
      [],
    );
  });

  test('presets name known apps, none kept by default', () => {
    assert.ok(catalog.presets.size > 0);
    for (const [name, preset] of catalog.presets) {
      for (const id of preset.apps) assert.equal(findApp(catalog, id)?.keepByDefault, false, `${name}: ${id}`);
    }
  });
});

describe('resolveAppSelection', () => {
  test('matches ids, exact package names and exact family names, case-insensitively like Windows', () => {
    const { apps } = resolveAppSelection(catalog, { ids: ['bing-news', 'microsoft.windows.photos', 'Microsoft.Paint_8wekyb3d8bbwe'] });
    assert.deepEqual(apps.map((a) => a.id).sort(), ['bing-news', 'paint', 'photos']);
  });

  test('never matches by substring or prefix', () => {
    for (const ref of ['Microsoft.Bing', 'BingNews', 'Microsoft.Windows', 'Microsoft.Xbox', 'Paint', 'Microsoft.Windows.Photos.Legacy']) {
      assert.throws(() => resolveAppSelection(catalog, { ids: [ref] }), code('DF_APP_UNKNOWN'), ref);
    }
    // Microsoft.Paint is not Microsoft.MSPaint (Paint 3D), the over-match ANCHORS §5.1 warns about.
    assert.deepEqual(
      resolveAppSelection(catalog, { ids: ['Microsoft.Paint'] }).apps.map((a) => a.packageName),
      ['Microsoft.Paint'],
    );
  });

  test('a name that is a prefix of another package selects only itself', async () => {
    const small = await loadFrom({
      'apps.yaml': `sources: { here: "test source text" }\napps:\n${app('photos', 'Microsoft.Windows.Photos')}${app('photos-legacy', 'Microsoft.Windows.Photos.Legacy')}`,
    });
    assert.deepEqual(
      resolveAppSelection(small, { ids: ['Microsoft.Windows.Photos'] }).apps.map((a) => a.id),
      ['photos'],
    );
    assert.deepEqual(
      resolveAppSelection(small, { ids: ['Microsoft.Windows.Photos.Legacy'] }).apps.map((a) => a.id),
      ['photos-legacy'],
    );
  });

  test('refuses an app kept by default without force, saying why; force allows it', () => {
    assert.throws(
      () => resolveAppSelection(catalog, { ids: ['store'] }),
      (error: DeployForgeError) =>
        error.code === 'DF_APP_KEEP_BY_DEFAULT' && error.kind === 'input' && /restore from backup|reset/.test(error.message) && /force/.test(error.message),
    );
    assert.throws(() => resolveAppSelection(catalog, { ids: ['Microsoft.VCLibs.140.00'] }), code('DF_APP_KEEP_BY_DEFAULT'));
    assert.deepEqual(
      resolveAppSelection(catalog, { ids: ['store'], force: true }).apps.map((a) => a.id),
      ['store'],
    );
  });

  test('categories skip apps kept by default and report them; includeKeepByDefault still needs force', () => {
    const frameworks = resolveAppSelection(catalog, { categories: ['frameworks'] });
    assert.deepEqual(frameworks.apps, []);
    assert.ok(frameworks.skipped.length >= 6);
    assert.throws(() => resolveAppSelection(catalog, { categories: ['frameworks'], includeKeepByDefault: true }), code('DF_APP_KEEP_BY_DEFAULT'));
    const developer = resolveAppSelection(catalog, { categories: ['developer'] });
    assert.deepEqual(
      developer.apps.map((a) => a.id),
      ['dev-home'],
    );
    assert.deepEqual(
      developer.skipped.map((s) => s.id),
      ['terminal'],
    );
  });

  test('presets and exclude combine; unknown categories, presets and excludes are errors', () => {
    const xbox = resolveAppSelection(catalog, { presets: ['xbox'], exclude: ['xbox-identity-provider'] });
    assert.ok(xbox.apps.some((a) => a.id === 'gaming-app'));
    assert.ok(!xbox.apps.some((a) => a.id === 'xbox-identity-provider'));
    assert.throws(() => resolveAppSelection(catalog, { categories: ['game'] }), code('DF_APP_CATEGORY_UNKNOWN'));
    assert.throws(() => resolveAppSelection(catalog, { presets: ['everything'] }), code('DF_APP_PRESET_UNKNOWN'));
    assert.throws(() => resolveAppSelection(catalog, { ids: ['bing-news'], exclude: ['Microsoft.Bing'] }), code('DF_APP_UNKNOWN'));
  });
});

describe('capabilities and releases', () => {
  test('capabilities resolve by id and must allow the action', () => {
    assert.deepEqual(
      resolveCapabilities(catalog, ['wordpad', 'recall'], 'remove').map((c) => c.name),
      ['Microsoft.Windows.WordPad', 'Recall'],
    );
    assert.equal(resolveCapabilities(catalog, ['netfx3'], 'enable')[0].name, 'NetFx3');
    assert.throws(() => resolveCapabilities(catalog, ['wordpad'], 'enable'), code('DF_CAPABILITY_ACTION'));
    assert.throws(() => resolveCapabilities(catalog, ['Microsoft.Windows.WordPad'], 'remove'), code('DF_CAPABILITY_UNKNOWN'));
  });

  test('build numbers map to releases, and entries say whether they apply', () => {
    assert.deepEqual(windowsReleaseOf(26100), { version: 'win11', release: '24H2', build: 26100 });
    assert.deepEqual(windowsReleaseOf(19045), { version: 'win10', release: '22H2', build: 19045 });
    assert.deepEqual(windowsReleaseOf(27902), { version: 'win11', release: null, build: 27902 });
    const outlook = findApp(catalog, 'outlook');
    assert.ok(outlook);
    assert.equal(appliesTo(outlook, windowsReleaseOf(26100)), 'yes');
    assert.equal(appliesTo(outlook, windowsReleaseOf(22631)), 'no');
    assert.equal(appliesTo(outlook, windowsReleaseOf(19045)), 'no');
    assert.equal(appliesTo(findApp(catalog, 'copilot') as NonNullable<typeof outlook>, windowsReleaseOf(26100)), 'unverified');
  });
});

describe('hostile catalogs', () => {
  test('a duplicate id, package name and family are refused with file, line and field', async () => {
    const text = `sources: { here: "test source text" }
apps:
${app('one', 'Contoso.One', '    family: Contoso.One_8wekyb3d8bbwe\n')}${app('one', 'Contoso.Two')}${app('three', 'contoso.one')}`;
    const issues = await issuesOf({ 'apps.yaml': text });
    const byField = (field: string) => issues.filter((i) => i.field === field);
    assert.equal(byField('id').length, 1);
    assert.equal(byField('id')[0].line, 12, 'the second entry starts on line 12');
    assert.ok(byField('id')[0].file?.endsWith('apps.yaml'));
    assert.equal(byField('packageName').length, 1, 'package names compare case-insensitively');
  });

  test('ids are unique across files', async () => {
    const one = `sources: { here: "test source text" }\napps:\n${app('same', 'Contoso.One')}`;
    const two = `sources: { here: "test source text" }\napps:\n${app('same', 'Contoso.Two')}`;
    const issues = await issuesOf({ 'a.yaml': one, 'b.yaml': two });
    assert.equal(issues.length, 1);
    assert.ok(issues[0].file?.endsWith('b.yaml'));
    assert.match(issues[0].message, /a\.yaml:3/);
  });

  test('an entry without a source, or with an unknown source key, is refused at its line', async () => {
    const noSource = `sources: { here: "test source text" }\napps:\n${app('one', 'Contoso.One').replace('    source: [here]\n', '')}`;
    const missing = await issuesOf({ 'apps.yaml': noSource });
    assert.deepEqual(
      missing.map((i) => [i.field, i.line]),
      [['apps[0].source', 3]],
    );
    const unknown = await issuesOf({ 'apps.yaml': `sources: { here: "test source text" }\napps:\n${app('one', 'Contoso.One').replace('[here]', '[there]')}` });
    assert.deepEqual(
      unknown.map((i) => [i.field, i.line]),
      [['apps[0].source[0]', 10]],
    );
  });

  test('schema problems: unknown keys, bad names, family not matching its name, keep without reason, unverified release not listed', async () => {
    const text = `sources: { here: "test source text" }
apps:
${app('one', 'Contoso One', '    colour: blue\n')}${app('two', 'Contoso.Two', '    family: Other.Two_8wekyb3d8bbwe\n')}${app('three', 'Contoso.Three').replace('keepByDefault: false', 'keepByDefault: true')}${app('four', 'Contoso.Four', '    unverified: { win11: [22H2] }\n')}`;
    const issues = await issuesOf({ 'apps.yaml': text });
    const fields = issues.map((i) => i.field).sort();
    assert.deepEqual(fields, ['apps[0].colour', 'apps[0].packageName', 'apps[1].family', 'apps[2].keepReason', 'apps[3].unverified.win11']);
    assert.equal(issues.find((i) => i.field === 'apps[0].colour')?.line, 11);
    assert.equal(issues.find((i) => i.field === 'apps[0].packageName')?.line, 4);
  });

  test('presets naming unknown or kept apps are refused', async () => {
    const text = `sources: { here: "test source text" }
presets:
  bad: { description: bad, apps: [nope, kept] }
apps:
${app('kept', 'Contoso.Kept', '    keepReason: needed\n').replace('keepByDefault: false', 'keepByDefault: true')}`;
    const issues = await issuesOf({ 'apps.yaml': text });
    assert.deepEqual(
      issues.map((i) => [i.field, i.line]),
      [
        ['presets.bad.apps[0]', 3],
        ['presets.bad.apps[1]', 3],
      ],
    );
  });

  test('a YAML syntax error names its line', async () => {
    const issues = await issuesOf({ 'apps.yaml': 'sources: { here: "x" }\napps:\n  - id: one\n    notes: a: b\n' });
    assert.equal(issues[0].line, 4);
    assert.match(issues[0].message, /YAML syntax/);
  });
});
