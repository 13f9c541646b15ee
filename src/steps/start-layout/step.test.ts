// The `start-layout` step on a copy of the sample install.wim (Windows 11, build 26100): plan lists
// the pins, the layout file and the policy values and changes nothing; apply + commit writes a
// layout file xmllint accepts, with the pins in order and the right namespaces, and the Start
// Layout policy values hivexget reads back. A Windows 10 image gets the tile-lock warning.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyWim, hivexget, sha256, useSampleInstallWim, useTempDir, wimlibExtract } from '../../../test/helpers/step-harness.js';
import { BuildStepContext } from '../../build/step-context.js';
import { REG_TYPE } from '../../formats/regf/constants.js';
import { openWindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { changeTime } from '../define-step.js';
import { buildTaskbarLayout, LAYOUT_IMAGE_PATH, LAYOUT_POLICY_PATH, POLICY_KEY, StartLayoutStepSchema, startLayoutStep } from './step.js';

const tmp = useTempDir('deployforge-start-layout-step-');
const sampleWim = useSampleInstallWim(tmp, 1);

const recipe = StartLayoutStepSchema.parse({
  type: 'start-layout',
  taskbar: {
    replaceDefaultPins: true,
    pins: [
      { desktopAppId: 'Microsoft.Windows.Explorer' },
      { aumid: 'Microsoft.WindowsTerminal_8wekyb3d8bbwe!App' },
      { desktopAppLink: '%ALLUSERSPROFILE%\\Microsoft\\Windows\\Start Menu\\Programs\\R&D "Tools".lnk' },
    ],
  },
});

const xpath = async (file: string, expression: string) => (await runTool('xmllint', ['--xpath', expression, file])).stdout.trim();

describe('start-layout step', () => {
  test('the schema takes taskbar pins of three kinds and is strict', () => {
    const ok = (taskbar: unknown) => StartLayoutStepSchema.safeParse({ type: 'start-layout', taskbar }).success;
    assert.equal(ok({ pins: [{ aumid: 'Microsoft.WindowsCalculator_8wekyb3d8bbwe!App' }] }), true);
    assert.equal(ok({ replaceDefaultPins: true }), true, 'no pins at all: remove the defaults');
    assert.equal(ok({}), false, 'pins or replaceDefaultPins');
    assert.equal(ok({ pins: [] }), false);
    assert.equal(ok({ pins: [{ aumid: 'a', desktopAppId: 'b' }] }), false, 'one kind per pin');
    assert.equal(ok({ pins: [{ aumid: 'a\nb' }] }), false, 'no control characters');
    assert.equal(ok({ pins: [{ exe: 'notepad.exe' }] }), false);
    assert.equal(StartLayoutStepSchema.safeParse({ type: 'start-layout', taskbar: { replaceDefaultPins: true }, start: {} }).success, false, 'strict');
  });

  test('plan lists the pins, the layout file and the policy values, and changes nothing', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const was = await sha256(wim);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await startLayoutStep.plan(recipe, image, { baseDir: tmp.path });
      assert.deepEqual(
        plan.changes.map((c) => [c.kind, changeTime(c)]),
        [
          ['taskbar', 'first-logon'],
          ['write-layout', 'offline'],
          ['registry', 'offline'],
          ['registry', 'offline'],
        ],
      );
      assert.deepEqual(startLayoutStep.describe?.(plan.changes[0]), [
        'taskbar pins (replacing the defaults): Microsoft.Windows.Explorer, Microsoft.WindowsTerminal_8wekyb3d8bbwe!App, %ALLUSERSPROFILE%\\Microsoft\\Windows\\Start Menu\\Programs\\R&D "Tools".lnk',
      ]);
      assert.deepEqual(startLayoutStep.describe?.(plan.changes[3]), [`set    SOFTWARE\\${POLICY_KEY} StartLayoutFile: absent → ${LAYOUT_POLICY_PATH}`]);
      assert.deepEqual(plan.warnings, [], 'no Windows 10 warning on build 26100');
      assert.equal(image.isDirty(), false);
    } finally {
      await image.close();
    }
    assert.equal(await sha256(wim), was);
  });

  test('apply + commit: a well-formed layout file (xmllint) and the Start Layout policy (hivexget)', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const image = await openWindowsImage(wim, 1);
    try {
      const plan = await startLayoutStep.plan(recipe, image, { baseDir: tmp.path });
      await startLayoutStep.apply(plan.changes, image, silentProgress, new BuildStepContext());
      await image.commit();
    } finally {
      await image.close();
    }
    await runTool('wimlib-imagex', ['verify', wim]);
    const dest = await wimlibExtract(tmp.path, wim, 1, LAYOUT_IMAGE_PATH, '/Windows/System32/config/SOFTWARE');
    const file = join(dest, 'TaskbarLayout.xml');
    await runTool('xmllint', ['--noout', file]);
    const bytes = await readFile(file);
    assert.notDeepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'no BOM');
    assert.ok(bytes.toString('utf8').startsWith('<LayoutModificationTemplate '), 'no XML declaration (Microsoft: no prolog in a Start layout file)');

    const ns = (local: string, uri: string) => `*[local-name()='${local}' and namespace-uri()='${uri}']`;
    const pinList = `/${ns('LayoutModificationTemplate', 'http://schemas.microsoft.com/Start/2014/LayoutModification')}/${ns('CustomTaskbarLayoutCollection', 'http://schemas.microsoft.com/Start/2014/LayoutModification')}/${ns('TaskbarLayout', 'http://schemas.microsoft.com/Start/2014/FullDefaultLayout')}/${ns('TaskbarPinList', 'http://schemas.microsoft.com/Start/2014/TaskbarLayout')}`;
    assert.equal(await xpath(file, `count(${pinList}/*)`), '3');
    assert.equal(await xpath(file, `string(${pinList}/*[1]/@DesktopApplicationID)`), 'Microsoft.Windows.Explorer');
    assert.equal(await xpath(file, `local-name(${pinList}/*[2])`), 'UWA');
    assert.equal(await xpath(file, `string(${pinList}/*[2]/@AppUserModelID)`), 'Microsoft.WindowsTerminal_8wekyb3d8bbwe!App');
    assert.equal(
      await xpath(file, `string(${pinList}/*[3]/@DesktopApplicationLinkPath)`),
      '%ALLUSERSPROFILE%\\Microsoft\\Windows\\Start Menu\\Programs\\R&D "Tools".lnk',
      'attribute text is escaped and reads back',
    );
    assert.equal(await xpath(file, 'string(/*/*/@PinListPlacement)'), 'Replace');

    const hive = join(dest, 'SOFTWARE');
    assert.equal(await hivexget(hive, POLICY_KEY, 'LockedStartLayout'), '1');
    assert.equal(await hivexget(hive, POLICY_KEY, 'StartLayoutFile'), LAYOUT_POLICY_PATH);
    const image2 = await openWindowsImage(wim, 1);
    try {
      assert.equal((await image2.hives.get('SOFTWARE')).hive.key(POLICY_KEY)?.value('StartLayoutFile')?.type, REG_TYPE.REG_EXPAND_SZ);
    } finally {
      await image2.close();
    }
  });

  test('pins after the defaults leave out PinListPlacement', () => {
    const xml = buildTaskbarLayout([{ aumid: 'A!App' }], false);
    assert.match(xml, /<CustomTaskbarLayoutCollection>/);
    assert.doesNotMatch(xml, /PinListPlacement/);
  });

  test('a Windows 10 image gets the Start tile-lock warning', async () => {
    const wim = await copyWim(tmp.path, sampleWim.path);
    const image = await openWindowsImage(wim, 1);
    try {
      const software = await image.hives.get('SOFTWARE');
      software.setValue('Microsoft\\Windows NT\\CurrentVersion', 'CurrentBuildNumber', REG_TYPE.REG_SZ, new Uint8Array(Buffer.from('19045\0', 'utf16le')));
      const plan = await startLayoutStep.plan(recipe, image, { baseDir: tmp.path });
      assert.ok(
        plan.warnings.some((w) => /Windows 10 \(build 19045\).*default Start tile layout/.test(w)),
        plan.warnings.join('\n'),
      );
    } finally {
      await image.close();
    }
  });
});
