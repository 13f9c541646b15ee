// The `tweaks` step on a copy of the sample media's install.wim (Windows 11 24H2, build 26100):
// plan lists old → new values and changes nothing, unknown names fail, tweaks for other builds
// and missing services are skipped with warnings, and apply + commit lands the values, read back
// by our reader and by hivexget on hives extracted with wimlib, with the hive files' security
// descriptors and attributes unchanged. Undo puts the sample's values back.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { hasCorpus } from '../../../test/helpers/corpus.js';
import {
  copyWim,
  hivexget,
  imageOnlyContext,
  planStep,
  sha256,
  useSampleInstallWim,
  useTempDir,
  wimlibDetailed,
  wimlibExtract,
  wimlibExtractFile,
  wimWithSecuredHive,
} from '../../../test/helpers/step-harness.js';
import { loadTweakCatalog, type TweakCatalog } from '../../catalog/tweaks.js';
import { decodeValueData } from '../../formats/regf/value.js';
import { openWindowsImage, type WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { planTweaks, type TweakChange, type TweaksStep, TweaksStepSchema, tweaksStep } from './step.js';

const SOFTWARE = '/Windows/System32/config/SOFTWARE';
const SYSTEM = '/Windows/System32/config/SYSTEM';
const DEFAULT = '/Windows/System32/config/DEFAULT';
const NTUSER = '/Users/Default/NTUSER.DAT';
const DATA_COLLECTION = 'Policies\\Microsoft\\Windows\\DataCollection';
const ADVANCED = 'Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\Advanced';
const STICKY = 'Control Panel\\Accessibility\\StickyKeys';

const context = imageOnlyContext();

const tmp = useTempDir('deployforge-tweaks-step-');
const sampleWim = useSampleInstallWim(tmp, 1);
let catalog: TweakCatalog;

async function readValue(image: WindowsImage, hive: string, key: string, name: string): Promise<unknown> {
  const v = (await image.hives.get(hive)).hive.key(key)?.value(name);
  return v ? decodeValueData(v.type, v.raw) : undefined;
}

const plan = (options: unknown, image: WindowsImage) => planStep(tweaksStep, options, image, tmp.path);

const brief = (c: TweakChange) => ({
  tweak: c.tweak,
  kind: c.kind,
  hive: c.hive,
  key: c.key,
  value: 'value' in c ? c.value : undefined,
  old: 'old' in c ? (c.old?.data ?? null) : undefined,
  new: 'new' in c ? c.new.data : undefined,
});

before(async () => {
  catalog = await loadTweakCatalog();
});

const selection = {
  type: 'tweaks',
  ids: ['disable-telemetry', 'show-file-extensions', 'disable-sysmain', 'disable-sticky-keys-shortcut', 'no-system-sounds'],
} satisfies TweaksStep;

describe('tweaks step', () => {
  test('plan lists every value with its old and new data, tagged with the tweak, and changes nothing', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const before = await sha256(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const result = await plan(selection, image);
      assert.deepEqual(result.changes.map(brief), [
        { tweak: 'disable-telemetry', kind: 'set-value', hive: 'SOFTWARE', key: DATA_COLLECTION, value: 'AllowTelemetry', old: null, new: '0' },
        { tweak: 'disable-sysmain', kind: 'set-value', hive: 'SYSTEM', key: 'ControlSet001\\Services\\SysMain', value: 'Start', old: '2', new: '4' },
        { tweak: 'show-file-extensions', kind: 'set-value', hive: 'NTUSER', key: ADVANCED, value: 'HideFileExt', old: '1', new: '0' },
        { tweak: 'no-system-sounds', kind: 'set-value', hive: 'NTUSER', key: 'AppEvents\\Schemes', value: '', old: null, new: '.None' },
        { tweak: 'disable-sticky-keys-shortcut', kind: 'set-value', hive: 'NTUSER', key: STICKY, value: 'Flags', old: null, new: '506' },
        { tweak: 'disable-sticky-keys-shortcut', kind: 'set-value', hive: 'DEFAULT', key: STICKY, value: 'Flags', old: null, new: '506' },
      ]);
      assert.ok(result.changes.every((c) => c.when === 'offline'));
      assert.deepEqual(result.warnings, []);
      assert.equal(image.isDirty(), false, 'plan staged nothing');
    } finally {
      await image.close();
    }
    assert.equal(await sha256(wim), before, 'the WIM is byte-identical after plan');
  });

  test('unknown ids and presets fail plan with InputError', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      await assert.rejects(plan({ type: 'tweaks', ids: ['disable-telemtry'] }, image), { code: 'DF_TWEAK_UNKNOWN' });
      await assert.rejects(plan({ type: 'tweaks', presets: ['privacy-basics'] }, image), { code: 'DF_TWEAK_UNKNOWN_PRESET' });
      await assert.rejects(plan({ type: 'tweaks', ids: ['wu-notify-before-install', 'wu-disable-automatic-updates'] }, image), { code: 'DF_TWEAK_CONFLICT' });
    } finally {
      await image.close();
    }
  });

  test('the step schema is strict and needs a selection', () => {
    assert.equal(TweaksStepSchema.safeParse({ type: 'tweaks' }).success, false);
    assert.equal(TweaksStepSchema.safeParse({ type: 'tweaks', ids: ['a'], colour: 'red' }).success, false);
    assert.equal(TweaksStepSchema.safeParse({ type: 'tweaks', categories: ['privcy'] }).success, false);
    assert.equal(TweaksStepSchema.safeParse({ type: 'tweaks', ids: ['a'], undo: true, overrides: { a: { data: 1 } } }).success, false);
    assert.equal(TweaksStepSchema.safeParse({ type: 'tweaks', presets: ['minimal'], securityLevel: 2, exclude: ['disable-llmnr'] }).success, true);
  });

  test('skips tweaks for other Windows builds and services the image lacks, with warnings', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const result = await planTweaks(
        { type: 'tweaks', ids: ['disable-news-and-interests', 'hide-chat-button', 'disable-xbox-services', 'disable-recall-feature'] },
        image,
        catalog,
      );
      assert.deepEqual(
        result.changes.map((c) => c.tweak),
        ['disable-recall-feature'],
      );
      assert.equal(result.warnings.filter((w) => /skipped: it is for/.test(w)).length, 2, result.warnings.join('\n'));
      assert.equal(result.warnings.filter((w) => /is not in this image/.test(w)).length, 4, result.warnings.join('\n'));
    } finally {
      await image.close();
    }
  });

  test('overrides change the planned data', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const result = await plan({ type: 'tweaks', ids: ['search-icon-only'], overrides: { 'search-icon-only': { data: 0 } } }, image);
      assert.deepEqual(result.changes.map(brief), [
        {
          tweak: 'search-icon-only',
          kind: 'set-value',
          hive: 'NTUSER',
          key: 'Software\\Microsoft\\Windows\\CurrentVersion\\Search',
          value: 'SearchboxTaskbarMode',
          old: '2',
          new: '0',
        },
      ]);
    } finally {
      await image.close();
    }
  });

  test('a whole preset plans on the sample image', async () => {
    const image = await openWindowsImage(sampleWim.path, 1);
    try {
      const result = await plan({ type: 'tweaks', presets: ['debloat', 'gaming'], securityLevel: 3 }, image);
      assert.ok(result.changes.length > 50, `${result.changes.length} changes`);
      assert.ok(result.changes.every((c) => c.hive !== 'SYSTEM' || c.key.startsWith('ControlSet001\\')));
      assert.equal(image.isDirty(), false);
    } finally {
      await image.close();
    }
  });

  test('apply + commit: our reader and hivexget see the values; hive files keep attributes and security descriptors', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const hives = [SOFTWARE, SYSTEM, NTUSER, DEFAULT];
    const was = await Promise.all(hives.map((h) => wimlibDetailed(wim, 1, h)));
    let image = await openWindowsImage(wim, 1);
    try {
      const result = await plan(selection, image);
      await tweaksStep.apply(result.changes, image, silentProgress, context);
      const committed = await image.commit();
      assert.deepEqual(committed.hivesWritten.sort(), [...hives].sort(), 'each touched hive is written once');
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);

    image = await openWindowsImage(wim, 1);
    try {
      assert.equal(await readValue(image, 'SOFTWARE', DATA_COLLECTION, 'AllowTelemetry'), 0);
      assert.equal(await readValue(image, 'SYSTEM', 'ControlSet001\\Services\\SysMain', 'Start'), 4);
      assert.equal(await readValue(image, 'NTUSER', ADVANCED, 'HideFileExt'), 0);
      assert.equal(await readValue(image, 'NTUSER', STICKY, 'Flags'), '506');
      assert.equal(await readValue(image, 'DEFAULT', STICKY, 'Flags'), '506');
      assert.equal((await image.hives.get('SYSTEM')).hive.key('CurrentControlSet'), undefined, 'no CurrentControlSet key was created');
    } finally {
      await image.close();
    }

    const out = await wimlibExtract(tmp.path, wim, 1, ...hives);
    assert.equal(await hivexget(join(out, 'SOFTWARE'), DATA_COLLECTION, 'AllowTelemetry'), '0');
    assert.equal(await hivexget(join(out, 'SYSTEM'), 'ControlSet001\\Services\\SysMain', 'Start'), '4');
    assert.equal(await hivexget(join(out, 'NTUSER.DAT'), ADVANCED, 'HideFileExt'), '0');
    assert.equal(await hivexget(join(out, 'NTUSER.DAT'), STICKY, 'Flags'), '506');
    assert.equal(await hivexget(join(out, 'NTUSER.DAT'), 'AppEvents\\Schemes', '@'), '.None');
    assert.equal(await hivexget(join(out, 'DEFAULT'), STICKY, 'Flags'), '506');
    assert.deepEqual(await Promise.all(hives.map((h) => wimlibDetailed(wim, 1, h))), was, 'attributes and security descriptors unchanged');
  });

  test("keeps a hive file's NT security descriptor (empty_dacl.wim)", { skip: !hasCorpus() && 'the shared corpus is not there' }, async () => {
    // The sample's hive files carry no security descriptor; empty_dacl.wim's /file does. Move it
    // to the SOFTWARE hive's path and give it the sample's SOFTWARE contents.
    const wim = await wimWithSecuredHive(tmp.path, sampleWim.path, SOFTWARE);
    const was = await wimlibDetailed(wim, 1, SOFTWARE);
    assert.notEqual(was.sd, '', 'the fixture hive has a security descriptor');

    const image = await openWindowsImage(wim, 1);
    try {
      const result = await plan({ type: 'tweaks', ids: ['disable-telemetry', 'disable-widgets'] }, image);
      await tweaksStep.apply(result.changes, image, silentProgress, context);
      await image.commit();
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    assert.deepEqual(await wimlibDetailed(wim, 1, SOFTWARE), was, 'security descriptor and attributes unchanged');
    const out = await wimlibExtractFile(tmp.path, wim, 1, SOFTWARE);
    assert.equal(await hivexget(out, DATA_COLLECTION, 'AllowTelemetry'), '0');
    assert.equal(await hivexget(out, 'Policies\\Microsoft\\Dsh', 'AllowNewsAndInterests'), '0');
  });

  test('undo restores the Windows defaults and deletes policy values', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const image = await openWindowsImage(wim, 1);
    try {
      const applied = await plan(selection, image);
      await tweaksStep.apply(applied.changes, image, silentProgress, context);
      const undone = await plan({ ...selection, undo: true }, image);
      assert.deepEqual(undone.changes.filter((c) => c.hive !== 'DEFAULT').map(brief), [
        { tweak: 'disable-telemetry', kind: 'delete-value', hive: 'SOFTWARE', key: DATA_COLLECTION, value: 'AllowTelemetry', old: '0', new: undefined },
        { tweak: 'disable-sysmain', kind: 'set-value', hive: 'SYSTEM', key: 'ControlSet001\\Services\\SysMain', value: 'Start', old: '4', new: '2' },
        { tweak: 'show-file-extensions', kind: 'set-value', hive: 'NTUSER', key: ADVANCED, value: 'HideFileExt', old: '0', new: '1' },
        { tweak: 'no-system-sounds', kind: 'set-value', hive: 'NTUSER', key: 'AppEvents\\Schemes', value: '', old: '.None', new: '.Default' },
        { tweak: 'disable-sticky-keys-shortcut', kind: 'set-value', hive: 'NTUSER', key: STICKY, value: 'Flags', old: '506', new: '510' },
      ]);
      await tweaksStep.apply(undone.changes, image, silentProgress, context);
      await image.commit();
    } finally {
      await image.close();
    }
    const out = await wimlibExtract(tmp.path, wim, 1, SOFTWARE, SYSTEM, NTUSER);
    await assert.rejects(hivexget(join(out, 'SOFTWARE'), DATA_COLLECTION, 'AllowTelemetry'), 'the policy value is gone');
    assert.equal(await hivexget(join(out, 'SYSTEM'), 'ControlSet001\\Services\\SysMain', 'Start'), '2');
    assert.equal(await hivexget(join(out, 'NTUSER.DAT'), ADVANCED, 'HideFileExt'), '1');
  });
});
