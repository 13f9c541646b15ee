// The remove-apps step on copies of the sample install.wim (a Windows 11 24H2-like image with
// WindowsApps folders and AppxAllUserStore entries): the plan for a selection, refusals, then
// apply + commit read back by our reader and by tools nobody here wrote: hivexget/hivexsh on the
// SOFTWARE and default-user hives extracted with wimlib, `wimlib-imagex dir` for the folders, and
// `wimlib-imagex verify` for the WIM.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyWim, hivexget, imageOnlyContext, planStep, sha256, useSampleInstallWim, useTempDir, wimlibExtract } from '../../../test/helpers/step-harness.js';
import type { DeployForgeError } from '../../errors.js';
import { REG_TYPE } from '../../formats/regf/constants.js';
import { openWindowsImage, type WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { APPX_STORE, type RemoveAppsChange, removeAppsStep, SCRIPT_IMAGE_PATH, SPECIALIZE_COMMAND } from './step.js';

const SOFTWARE = '/Windows/System32/config/SOFTWARE';
const NTUSER = '/Users/Default/NTUSER.DAT';
const BING_NEWS = 'Microsoft.BingNews_4.2.27001.0_neutral_~_8wekyb3d8bbwe';
const CLIPCHAMP = 'Clipchamp.Clipchamp_2.2.8.0_neutral_~_yxz26nhyzhsrt';
const PAINT = 'Microsoft.Paint_11.2201.22.0_neutral_~_8wekyb3d8bbwe';
const OUTLOOK = 'Microsoft.OutlookForWindows_1.2024.214.400_x64__8wekyb3d8bbwe';

const tmp = useTempDir('deployforge-remove-apps-');
const sampleWim = useSampleInstallWim(tmp, 2);

/** Names directly below `path` in the WIM, as `wimlib-imagex dir` lists them ([] when absent). */
async function wimlibList(wim: string, index: number, path: string): Promise<string[]> {
  const listing = await runTool('wimlib-imagex', ['dir', wim, String(index), `--path=${path}`]).then(
    (r) => r.stdout,
    () => '',
  );
  const prefix = `${path}/`;
  const names = listing
    .split('\n')
    .filter((p) => p.startsWith(prefix))
    .map((p) => p.slice(prefix.length).split('/')[0]);
  return [...new Set(names)];
}

/** Subkey names of `key` per hivexsh (`cd` then `ls`). */
async function hivexSubkeys(hive: string, key: string): Promise<string[]> {
  const { stdout } = await runTool('hivexsh', [hive], { input: `cd \\${key}\nls\n` });
  return stdout.split('\n').filter(Boolean);
}

/** True when hivexget finds the key (it exits non-zero for a missing key). */
async function hivexHasKey(hive: string, key: string): Promise<boolean> {
  return runTool('hivexget', [hive, key]).then(
    () => true,
    () => false,
  );
}

const planFor = (image: WindowsImage, options: unknown) => planStep(removeAppsStep, options, image, tmp.path);

const ofKind = <K extends RemoveAppsChange['kind']>(changes: RemoveAppsChange[], kind: K) => changes.filter((c): c is Extract<RemoveAppsChange, { kind: K }> => c.kind === kind);

const code = (expected: string) => (error: unknown) => (error as DeployForgeError).code === expected;

const SELECTION = {
  type: 'remove-apps',
  apps: ['bing-news', 'Microsoft.Paint', 'clipchamp', 'outlook'],
  categories: ['games'],
  exclude: ['xbox-identity-provider'],
  mechanism: 'both',
  deleteFolders: true,
  blockReinstall: ['outlook', 'teams'],
  capabilities: ['wordpad', 'recall'],
  enableFeatures: ['netfx3'],
};

describe('remove-apps options', () => {
  test('the schema is strict and wants something to do', () => {
    assert.equal(removeAppsStep.schema.safeParse({ type: 'remove-apps', apps: ['bing-news'], colour: 'blue' }).success, false);
    assert.equal(removeAppsStep.schema.safeParse({ type: 'remove-apps' }).success, false);
    assert.equal(removeAppsStep.schema.safeParse({ type: 'remove-apps', apps: ['bing-news'], mechanism: 'setup', deleteFolders: true }).success, false);
    assert.equal(removeAppsStep.schema.safeParse({ type: 'remove-apps', blockReinstall: ['skype'] }).success, false);
    assert.equal(removeAppsStep.schema.safeParse({ type: 'remove-apps', edgeWebView: true }).success, false);
    assert.equal(removeAppsStep.schema.safeParse({ type: 'remove-apps', onedrive: true }).success, true);
  });
});

describe('remove-apps plan', () => {
  test('lists per app the mechanism, when, and what the image holds; reads nothing it would write', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const before = await sha256(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await planFor(image, SELECTION);
      const apps = ofKind(plan.changes, 'app');
      assert.deepEqual(
        apps.map((a) => a.id),
        [
          'bing-news',
          'clipchamp',
          'paint',
          'gaming-app',
          'xbox-console-companion',
          'xbox-tcui',
          'xbox-game-overlay',
          'xbox-gaming-overlay',
          'xbox-speech-to-text',
          'solitaire',
          'game-assist',
          'outlook',
        ],
        'catalog order; xbox-identity-provider excluded',
      );
      const news = apps.find((a) => a.id === 'bing-news');
      assert.deepEqual(news, {
        kind: 'app',
        id: 'bing-news',
        displayName: 'Microsoft News',
        packageName: 'Microsoft.BingNews',
        family: 'Microsoft.BingNews_8wekyb3d8bbwe',
        mechanism: 'both',
        deleteFolders: true,
        when: ['offline', 'windows-setup'],
        inImage: { folders: [BING_NEWS], registered: [BING_NEWS] },
        listedForRelease: 'yes',
      });
      // Clipchamp's family is not in the catalog: it comes from the image's folder name.
      assert.equal(apps.find((a) => a.id === 'clipchamp')?.family, 'Clipchamp.Clipchamp_yxz26nhyzhsrt');
      // Exact names only: Microsoft.Paint's entry holds Microsoft.Paint and nothing else.
      assert.deepEqual(apps.find((a) => a.id === 'paint')?.inImage, { folders: [PAINT], registered: [PAINT] });
      assert.deepEqual(apps.find((a) => a.id === 'xbox-console-companion')?.inImage, { folders: [], registered: [] });
      assert.equal(apps.find((a) => a.id === 'xbox-console-companion')?.listedForRelease, 'no', 'a Windows 10 app on a 24H2 image');
      assert.ok(plan.warnings.some((w) => w.startsWith('xbox-console-companion') && /not listed for Windows 11 24H2/.test(w)));
      assert.ok(plan.warnings.some((w) => /offline deprovisioning writes AppxAllUserStore keys only/.test(w)));

      const components = ofKind(plan.changes, 'component');
      assert.deepEqual(
        components.map((c) => [c.id, c.name, c.componentKind, c.action, c.when]),
        [
          ['wordpad', 'Microsoft.Windows.WordPad', 'capability', 'remove', 'windows-setup'],
          ['recall', 'Recall', 'feature', 'remove', 'windows-setup'],
          ['netfx3', 'NetFx3', 'feature', 'enable', 'windows-setup'],
        ],
      );

      const registry = ofKind(plan.changes, 'registry');
      const keys = registry.map((r) => [r.change.kind, r.change.key, 'value' in r.change ? r.change.value : null, r.when]);
      assert.ok(keys.some(([k, key]) => k === 'create-key' && key === `${APPX_STORE}\\Deprovisioned\\Microsoft.BingNews_8wekyb3d8bbwe`));
      assert.ok(keys.some(([k, key]) => k === 'create-key' && key === `${APPX_STORE}\\Deprovisioned\\Clipchamp.Clipchamp_yxz26nhyzhsrt`));
      assert.ok(keys.some(([k, key]) => k === 'delete-key' && key === `${APPX_STORE}\\Applications\\${BING_NEWS}`));
      assert.ok(
        keys.some(
          ([k, key, value]) =>
            k === 'set-value' && key === 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator\\UScheduler\\OutlookUpdate' && value === 'workCompleted',
        ),
      );
      assert.ok(keys.some(([k, key, value]) => k === 'set-value' && key === 'Policies\\Microsoft\\Teams' && value === 'DisableInstallation'));
      assert.ok(registry.every((r) => r.when === 'offline' && r.reason !== ''));
      // The sample has UScheduler_Oobe but no OutlookUpdate below it: said once, not planned.
      assert.ok(!keys.some(([k, key]) => k === 'delete-key' && String(key).startsWith('Microsoft\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe\\')));
      assert.ok(plan.warnings.some((w) => w.includes('UScheduler_Oobe\\OutlookUpdate is not in image 1')));

      const removals = ofKind(plan.changes, 'remove-path');
      assert.deepEqual(
        removals.map((r) => r.path).sort(),
        [
          `/Program Files/WindowsApps/${CLIPCHAMP}`,
          `/Program Files/WindowsApps/${BING_NEWS}`,
          '/Program Files/WindowsApps/Microsoft.GamingApp_2021.427.138.0_neutral_~_8wekyb3d8bbwe',
          `/Program Files/WindowsApps/${PAINT}`,
          `/Program Files/WindowsApps/${OUTLOOK}`,
          '/Program Files/WindowsApps/Microsoft.MicrosoftSolitaireCollection_4.12.3171.0_neutral_~_8wekyb3d8bbwe',
          '/Program Files/WindowsApps/Microsoft.Xbox.TCUI_1.23.28004.0_neutral_~_8wekyb3d8bbwe',
          '/Program Files/WindowsApps/Microsoft.XboxGamingOverlay_2.622.3232.0_neutral_~_8wekyb3d8bbwe',
        ].sort(),
      );
      assert.ok(removals.every((r) => r.isDirectory && r.files === 1 && r.size > 0));

      const [script] = ofKind(plan.changes, 'write-script');
      assert.equal(script.path, SCRIPT_IMAGE_PATH);
      assert.match(script.text, /'Microsoft\.BingNews',\r\n/);
      assert.match(script.text, /\$CapabilitiesToRemove = @\(\r\n {2}'Microsoft\.Windows\.WordPad'\r\n\)/);
      assert.match(script.text, /\$FeaturesToRemove = @\(\r\n {2}'Recall'\r\n\)/);
      assert.match(script.text, /\$FeaturesToEnable = @\(\r\n {2}'NetFx3'\r\n\)/);
      assert.match(script.text, /Remove-AppxProvisionedPackage -Online/);
      assert.match(script.text, /DisplayName -eq \$name/);
      assert.doesNotMatch(script.text, /-like|\*/, 'no wildcard matching');
      assert.ok(/^[\x09\x0a\x0d\x20-\x7e]*$/.test(script.text), 'ASCII only');
      assert.ok(!/[^\r]\n/.test(script.text), 'CRLF line ends');
      assert.deepEqual(ofKind(plan.changes, 'specialize-command'), [
        {
          kind: 'specialize-command',
          when: 'windows-setup',
          commandLine: 'powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Windows\\Setup\\Scripts\\remove-apps.ps1',
          description: 'DeployForge remove-apps: remove provisioned apps, capabilities and features',
        },
      ]);
      assert.equal(plan.setupTimeNotes?.length, 3, 'apps, capabilities, answer file');
      assert.ok(plan.setupTimeNotes?.some((note) => /servicing stack/.test(note)));
      assert.equal(image.isDirty(), false, 'plan staged nothing');
    } finally {
      await image.close();
    }
    assert.equal(await sha256(wim), before, 'the WIM is byte-identical after plan');
  });

  test('setup is the per-app default: no keys or folders, only the script', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const plan = await planFor(image, { type: 'remove-apps', apps: ['bing-news', 'todo'] });
      assert.deepEqual(
        ofKind(plan.changes, 'app').map((a) => [a.id, a.mechanism, a.when]),
        [
          ['bing-news', 'setup', ['windows-setup']],
          ['todo', 'setup', ['windows-setup']],
        ],
      );
      assert.deepEqual(ofKind(plan.changes, 'registry'), []);
      assert.deepEqual(ofKind(plan.changes, 'remove-path'), []);
      assert.equal(ofKind(plan.changes, 'write-script').length, 1);
    } finally {
      await image.close();
    }
  });

  test('unknown ids, substrings and apps kept by default are refused', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      await assert.rejects(planFor(image, { type: 'remove-apps', apps: ['no-such-app'] }), code('DF_APP_UNKNOWN'));
      await assert.rejects(planFor(image, { type: 'remove-apps', apps: ['Microsoft.Bing'] }), code('DF_APP_UNKNOWN'));
      await assert.rejects(planFor(image, { type: 'remove-apps', apps: ['Microsoft.WindowsStore'] }), (error: DeployForgeError) => {
        return error.code === 'DF_APP_KEEP_BY_DEFAULT' && /shouldn't be removed|restore/.test(error.message);
      });
      await assert.rejects(planFor(image, { type: 'remove-apps', apps: ['vclibs-140'] }), code('DF_APP_KEEP_BY_DEFAULT'));
      await assert.rejects(planFor(image, { type: 'remove-apps', capabilities: ['no-such-capability'] }), code('DF_CAPABILITY_UNKNOWN'));
      await assert.rejects(planFor(image, { type: 'remove-apps', enableFeatures: ['wordpad'] }), code('DF_CAPABILITY_ACTION'));
      const forced = await planFor(image, { type: 'remove-apps', apps: ['store'], force: true });
      assert.deepEqual(
        ofKind(forced.changes, 'app').map((a) => a.id),
        ['store'],
      );
    } finally {
      await image.close();
    }
  });
});

describe('remove-apps apply', () => {
  test('keys and folders gone or present as planned, script in the image, specialize command contributed once', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const context = imageOnlyContext();
    for (const index of [1, 2]) {
      const image = await openWindowsImage(wim, index);
      try {
        const plan = await planFor(image, SELECTION);
        await removeAppsStep.apply(plan.changes, image, silentProgress, context);
        const result = await image.commit();
        assert.deepEqual(result.hivesWritten, [SOFTWARE], 'only SOFTWARE changes for this selection');
      } finally {
        await image.close();
      }
    }
    assert.deepEqual(context.unattend.specializeCommands, [
      { commandLine: SPECIALIZE_COMMAND, description: 'DeployForge remove-apps: remove provisioned apps, capabilities and features' },
    ]);
    await runTool('wimlib-imagex', ['verify', wim]);

    for (const index of [1, 2]) {
      // hivex on the extracted hive.
      const dir = await wimlibExtract(tmp.path, wim, index, SOFTWARE, SCRIPT_IMAGE_PATH);
      const hive = join(dir, 'SOFTWARE');
      const deprovisioned = await hivexSubkeys(hive, `${APPX_STORE}\\Deprovisioned`);
      for (const family of ['Microsoft.BingNews_8wekyb3d8bbwe', 'Clipchamp.Clipchamp_yxz26nhyzhsrt', 'Microsoft.Paint_8wekyb3d8bbwe', 'Microsoft.GamingApp_8wekyb3d8bbwe']) {
        assert.ok(deprovisioned.includes(family), `Deprovisioned\\${family} in image ${index}`);
      }
      assert.ok(!deprovisioned.includes('Microsoft.XboxIdentityProvider_8wekyb3d8bbwe'), 'excluded app untouched');
      const applications = await hivexSubkeys(hive, `${APPX_STORE}\\Applications`);
      for (const gone of [BING_NEWS, CLIPCHAMP, PAINT, OUTLOOK]) assert.ok(!applications.includes(gone), `Applications\\${gone} deleted`);
      assert.ok(applications.includes('Microsoft.WindowsStore_22204.1400.4.0_neutral_~_8wekyb3d8bbwe'), 'apps not selected stay registered');
      assert.equal(applications.length, 31 - 8, 'eight apps of the selection are in the sample');
      assert.equal(await hivexget(hive, 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator\\UScheduler\\OutlookUpdate', 'workCompleted'), '1');
      assert.equal(await hivexget(hive, 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe\\OutlookUpdate', 'workCompleted'), '1');
      assert.equal(await hivexget(hive, 'Microsoft\\Windows\\CurrentVersion\\Communications', 'ConfigureChatAutoInstall'), '0');
      assert.equal(await hivexget(hive, 'Policies\\Microsoft\\Teams', 'DisableInstallation'), '1');
      assert.equal(await hivexHasKey(hive, 'Policies\\Microsoft\\Windows\\WindowsCopilot'), false, 'copilot was not asked for');

      // wimlib's view of the folders.
      const folders = await wimlibList(wim, index, '/Program Files/WindowsApps');
      for (const gone of [BING_NEWS, CLIPCHAMP, PAINT, OUTLOOK]) assert.ok(!folders.includes(gone), `${gone} folder deleted from image ${index}`);
      assert.ok(folders.includes('Microsoft.WindowsStore_22204.1400.4.0_neutral_~_8wekyb3d8bbwe'));
      assert.equal(folders.length, 31 - 8);

      // The script as Windows will find it.
      const script = await readFile(join(dir, 'remove-apps.ps1'), 'latin1');
      assert.match(script, /^# remove-apps\.ps1/);
      assert.match(script, /'Microsoft\.BingNews'/);
    }

    // Our reader agrees.
    const image = await openWindowsImage(wim, 1);
    try {
      const software = (await image.hives.get('SOFTWARE')).hive;
      assert.ok(software.key(`${APPX_STORE}\\Deprovisioned\\Microsoft.BingNews_8wekyb3d8bbwe`));
      assert.equal(software.key(`${APPX_STORE}\\Applications\\${BING_NEWS}`), undefined);
      assert.equal(image.exists(`/Program Files/WindowsApps/${BING_NEWS}`), false);
      assert.ok(image.exists(`/Program Files/WindowsApps/Microsoft.WindowsStore_22204.1400.4.0_neutral_~_8wekyb3d8bbwe`));
      assert.match(Buffer.from(await image.readFile(SCRIPT_IMAGE_PATH)).toString('ascii'), /Remove-AppxProvisionedPackage/);
    } finally {
      await image.close();
    }
  });

  test('Edge and OneDrive go the anchors\u2019 way; blockReinstall true sets every blocker; what remains is said', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    // The sample has no Edge or OneDrive: add them through the WindowsImage API first.
    const setup = await openWindowsImage(wim, 1);
    try {
      const bytes = new Uint8Array(Buffer.from('stub'));
      setup.writeFile('/Program Files (x86)/Microsoft/Edge/Application/msedge.exe', bytes);
      setup.writeFile('/Program Files (x86)/Microsoft/EdgeUpdate/MicrosoftEdgeUpdate.exe', bytes);
      setup.writeFile('/Windows/System32/Microsoft-Edge-Webview/msedgewebview2.exe', bytes);
      setup.writeFile('/Windows/System32/OneDriveSetup.exe', bytes);
      setup.writeFile('/Users/Default/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/OneDrive.lnk', bytes);
      const software = await setup.hives.get('SOFTWARE');
      software.setValue(
        'WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Microsoft Edge',
        'DisplayName',
        REG_TYPE.REG_SZ,
        new Uint8Array(Buffer.from('Microsoft Edge\0', 'utf16le')),
      );
      software.createKey('Microsoft\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe\\DevHomeUpdate');
      const ntuser = await setup.hives.get('NTUSER');
      const run = new Uint8Array(Buffer.from('C:\\Windows\\System32\\OneDriveSetup.exe /thfirstsetup\0', 'utf16le'));
      ntuser.setValue('Software\\Microsoft\\Windows\\CurrentVersion\\Run', 'OneDriveSetup', REG_TYPE.REG_EXPAND_SZ, run);
      await setup.commit();
    } finally {
      await setup.close();
    }

    const context = imageOnlyContext();
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await planFor(image, { type: 'remove-apps', edge: true, onedrive: true, blockReinstall: true });
      assert.deepEqual(ofKind(plan.changes, 'app'), []);
      assert.deepEqual(ofKind(plan.changes, 'write-script'), [], 'nothing for setup to do');
      assert.deepEqual(
        ofKind(plan.changes, 'remove-path').map((r) => [r.path, r.reason]),
        [
          ['/Program Files (x86)/Microsoft/Edge', 'remove Microsoft Edge'],
          ['/Program Files (x86)/Microsoft/EdgeUpdate', 'remove Microsoft Edge'],
          ['/Windows/System32/OneDriveSetup.exe', 'remove OneDrive'],
          ['/Users/Default/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/OneDrive.lnk', 'remove OneDrive'],
        ],
      );
      assert.ok(plan.warnings.some((w) => /Edge is removed as tiny11 does it/.test(w)));
      assert.ok(plan.warnings.some((w) => /WebView2 runtime .* stays/.test(w)));
      assert.ok(plan.warnings.some((w) => /not removed/.test(w) && /OneDrive/.test(w)));
      assert.ok(plan.warnings.some((w) => w.startsWith('/Program Files (x86)/Microsoft/EdgeCore is not in image 1')));
      await removeAppsStep.apply(plan.changes, image, silentProgress, context);
      const result = await image.commit();
      assert.deepEqual(result.hivesWritten.sort(), [NTUSER, SOFTWARE].sort());
    } finally {
      await image.close();
    }
    assert.deepEqual(context.unattend.specializeCommands, []);

    const dir = await wimlibExtract(tmp.path, wim, 1, SOFTWARE, NTUSER);
    const software = join(dir, 'SOFTWARE');
    const ntuser = join(dir, 'NTUSER.DAT');
    assert.equal(await hivexHasKey(software, 'WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Microsoft Edge'), false);
    assert.equal(await hivexHasKey(software, 'Microsoft\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe\\DevHomeUpdate'), false);
    assert.equal(await hivexHasKey(software, 'Microsoft\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe'), true, 'only the app keys below it go');
    assert.equal(await hivexget(software, 'Policies\\Microsoft\\Windows\\OneDrive', 'DisableFileSyncNGSC'), '1');
    assert.equal(await hivexget(software, 'Policies\\Microsoft\\Windows\\WindowsCopilot', 'TurnOffWindowsCopilot'), '1');
    assert.equal(await hivexget(software, 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator\\UScheduler\\DevHomeUpdate', 'workCompleted'), '1');
    assert.equal(await hivexget(ntuser, 'Software\\Policies\\Microsoft\\Windows\\WindowsCopilot', 'TurnOffWindowsCopilot'), '1');
    await assert.rejects(hivexget(ntuser, 'Software\\Microsoft\\Windows\\CurrentVersion\\Run', 'OneDriveSetup'), 'Run\\OneDriveSetup deleted');
    assert.deepEqual(await wimlibList(wim, 1, '/Program Files (x86)/Microsoft'), []);
    assert.deepEqual(await wimlibList(wim, 1, '/Windows/System32/Microsoft-Edge-Webview'), ['msedgewebview2.exe'], 'WebView2 kept');
    const system32 = await wimlibList(wim, 1, '/Windows/System32');
    assert.ok(!system32.includes('OneDriveSetup.exe'));
    assert.ok(system32.includes('kernel32.dll'));
  });
});
