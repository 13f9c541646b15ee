// The `bypass` step on copies of the sample media's install.wim and boot.wim: plan lists the
// boot.wim values (no old value), the install image's values with old → new, the answer-file
// fallback and the media file; apply over two editions writes boot.wim once, and wimlib + hivexget
// read LabConfig back from boot.wim index 2 and LabConfig/MoSetup from each edition.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { makeSampleSetupWims } from '../../../test/helpers/fixtures.js';
import { copyWim, freshPath, hivexget, planStep, useTempDir, wimlibExtractFile } from '../../../test/helpers/step-harness.js';
import { BuildStepContext } from '../../build/step-context.js';
import { openWindowsImage, type WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { type BypassChange, BypassStepSchema, bypassStep } from './step.js';

const SYSTEM = '/Windows/System32/config/SYSTEM';
const LAB_CONFIG = 'Setup\\LabConfig';
const ALL_VALUES = ['BypassTPMCheck', 'BypassSecureBootCheck', 'BypassRAMCheck', 'BypassCPUCheck', 'BypassStorageCheck'];

const tmp = useTempDir('deployforge-bypass-');
let sampleInstall: string;
let sampleBoot: string;

/** SYSTEM of image `index` of `wim`, extracted by wimlib. */
const extractSystem = (wim: string, index: number) => wimlibExtractFile(tmp.path, wim, index, SYSTEM);

/** Every value under `key`, as hivexget lists them: name → data text. */
async function hivexValues(hive: string, key: string): Promise<Record<string, string>> {
  const text = (await runTool('hivexget', [hive, key])).stdout;
  return Object.fromEntries([...text.matchAll(/^"([^"]*)"=(.*)$/gm)].map((m) => [m[1], m[2].trim()]));
}

const planOf = (options: unknown, image: WindowsImage) => planStep(bypassStep, options, image, tmp.path);

before(async () => {
  ({ install: sampleInstall, boot: sampleBoot } = await makeSampleSetupWims(await tmp.ready, { editions: 2, seed: 5 }));
});

describe('bypass schema', () => {
  test('defaults to every check and rejects unknown keys, empty lists and every mechanism off', () => {
    assert.deepEqual(BypassStepSchema.parse({ type: 'bypass' }), { type: 'bypass' });
    assert.equal(BypassStepSchema.safeParse({ type: 'bypass', checks: 'all' }).success, true);
    assert.equal(BypassStepSchema.safeParse({ type: 'bypass', setupDll: true }).success, false);
    assert.equal(BypassStepSchema.safeParse({ type: 'bypass', checks: [] }).success, false);
    assert.equal(BypassStepSchema.safeParse({ type: 'bypass', checks: ['tpm', 'gpu'] }).success, false);
    assert.equal(BypassStepSchema.safeParse({ type: 'bypass', bootWim: false, installImage: false, unattendFallback: false }).success, false);
    assert.equal(BypassStepSchema.safeParse({ type: 'bypass', bootWim: false, installImage: false, unattendFallback: false, appraiserres: true }).success, true);
  });
});

describe('bypass plan', () => {
  test('lists boot.wim values without old values, install image values old → new, the fallback and the media file; changes nothing', async () => {
    const image = await openWindowsImage(await copyWim(tmp.path, sampleInstall, 'install'), 1);
    try {
      const plan = await planOf({ type: 'bypass', appraiserres: true }, image);
      const sets = plan.changes.filter((c): c is Extract<BypassChange, { kind: 'set-value' }> => c.kind === 'set-value');
      const boot = sets.filter((c) => c.target === 'boot.wim:2');
      const install = sets.filter((c) => c.target === 'install');
      assert.deepEqual(
        boot.map((c) => `${c.key}\\${c.value}`),
        ALL_VALUES.map((v) => `${LAB_CONFIG}\\${v}`),
      );
      assert.ok(boot.every((c) => !('old' in c) && c.new.type === 'REG_DWORD' && c.new.data === '1' && c.when === 'offline'));
      assert.deepEqual(
        install.map((c) => `${c.key}\\${c.value}`),
        [...ALL_VALUES.map((v) => `${LAB_CONFIG}\\${v}`), 'Setup\\MoSetup\\AllowUpgradesWithUnsupportedTPMOrCPU'],
      );
      assert.ok(
        install.every((c) => c.old === null && c.new.data === '1'),
        'the sample install image has none of them',
      );
      assert.deepEqual(
        plan.changes.find((c) => c.kind === 'unattend-bypass'),
        { kind: 'unattend-bypass', checks: ['tpm', 'secureBoot', 'ram', 'cpu', 'storage'], when: 'windows-setup' },
      );
      assert.deepEqual(
        plan.changes.find((c) => c.kind === 'media-file'),
        { kind: 'media-file', path: 'sources/appraiserres.dll', size: 0, when: 'offline' },
      );
      assert.equal(plan.setupTimeNotes?.length, 1);
      // The sample is build 26100, where Rufus also needs its setup.exe wrapper.
      assert.equal(plan.warnings.length, 1);
      assert.match(plan.warnings[0], /26100/);
      assert.equal(image.isDirty(), false);

      const lines = plan.changes.flatMap((c) => bypassStep.describe?.(c) ?? []);
      assert.ok(lines.includes("set    boot.wim:2 SYSTEM\\Setup\\LabConfig BypassTPMCheck → REG_DWORD 1 (Windows Setup's own registry)"));
      assert.ok(lines.includes('set    SYSTEM\\Setup\\MoSetup AllowUpgradesWithUnsupportedTPMOrCPU: absent → REG_DWORD 1'));
      assert.ok(lines.some((l) => l.startsWith('add    sources/appraiserres.dll')));
      assert.ok(lines.some((l) => l.startsWith('answer file windowsPE: reg.exe add HKLM\\SYSTEM\\Setup\\LabConfig BypassTPMCheck, ')));
    } finally {
      await image.close();
    }
  });

  test('a subset of checks plans only those values, and MoSetup only with tpm or cpu', async () => {
    const image = await openWindowsImage(await copyWim(tmp.path, sampleInstall, 'install'), 1);
    try {
      const plan = await planOf({ type: 'bypass', checks: ['storage', 'ram'], unattendFallback: false }, image);
      assert.deepEqual(
        plan.changes.map((c) => (c.kind === 'set-value' ? `${c.target} ${c.value}` : c.kind)),
        ['boot.wim:2 BypassRAMCheck', 'boot.wim:2 BypassStorageCheck', 'install BypassRAMCheck', 'install BypassStorageCheck'],
      );
      assert.equal(plan.warnings.length, 1);
      assert.match(plan.warnings[0], /MoSetup/);
      assert.equal(plan.setupTimeNotes, undefined);
    } finally {
      await image.close();
    }
  });
});

describe('bypass apply', () => {
  test('writes LabConfig into boot.wim index 2 once across editions, LabConfig and MoSetup into each edition, the fallback and the empty appraiserres.dll', async () => {
    const installWim = await copyWim(tmp.path, sampleInstall, 'install');
    const bootWim = await copyWim(tmp.path, sampleBoot, 'boot');
    const context = new BuildStepContext({ extractBootWim: async () => bootWim });
    const options = { type: 'bypass', appraiserres: true };
    for (const index of [1, 2]) {
      const image = await openWindowsImage(installWim, index);
      try {
        const plan = await planOf(options, image);
        await bypassStep.apply(plan.changes, image, silentProgress, context);
        if (index === 2) assert.equal((await context.bootImage()).isDirty(), false, 'the second edition finds boot.wim already done');
        await image.commit();
        await context.commitBootImage();
      } finally {
        await image.close();
      }
    }
    assert.equal(await context.finishBootImage(), bootWim);

    const setupSystem = await extractSystem(bootWim, 2);
    assert.deepEqual(await hivexValues(setupSystem, LAB_CONFIG), Object.fromEntries(ALL_VALUES.map((v) => [v, 'dword:00000001'])));
    assert.deepEqual(await hivexValues(setupSystem, 'Setup\\MoSetup').catch(() => ({})), {}, 'boot.wim gets no MoSetup');
    const peSystem = await extractSystem(bootWim, 1);
    assert.deepEqual(await hivexValues(peSystem, LAB_CONFIG), {}, 'index 1 (plain WinPE) is untouched');

    for (const index of [1, 2]) {
      const system = await extractSystem(installWim, index);
      assert.deepEqual(await hivexValues(system, LAB_CONFIG), Object.fromEntries(ALL_VALUES.map((v) => [v, 'dword:00000001'])));
      assert.equal(await hivexget(system, 'Setup\\MoSetup', 'AllowUpgradesWithUnsupportedTPMOrCPU'), '1');
    }
    await runTool('wimlib-imagex', ['verify', bootWim]);
    await runTool('wimlib-imagex', ['verify', installWim]);

    assert.deepEqual(context.unattend.bypassRequirements, { tpm: true, secureBoot: true, ram: true, cpu: true, storage: true });
    const mediaDir = freshPath(tmp.path, 'media');
    await mkdir(mediaDir);
    const media = await context.media.materialize(mediaDir);
    assert.deepEqual(Object.keys(media), ['sources/appraiserres.dll']);
    assert.equal((await stat(media['sources/appraiserres.dll'])).size, 0);
  });

  test('a subset of checks writes only those values, and nothing else when the other mechanisms are off', async () => {
    const installWim = await copyWim(tmp.path, sampleInstall, 'install');
    const bootWim = await copyWim(tmp.path, sampleBoot, 'boot');
    const context = new BuildStepContext({ extractBootWim: async () => bootWim });
    const image = await openWindowsImage(installWim, 1);
    try {
      const plan = await planOf({ type: 'bypass', checks: ['tpm', 'secureBoot'], installImage: false, unattendFallback: false }, image);
      await bypassStep.apply(plan.changes, image, silentProgress, context);
      assert.equal(image.isDirty(), false, 'the install image is left alone');
    } finally {
      await image.close();
    }
    await context.finishBootImage();
    assert.deepEqual(await hivexValues(await extractSystem(bootWim, 2), LAB_CONFIG), { BypassTPMCheck: 'dword:00000001', BypassSecureBootCheck: 'dword:00000001' });
    assert.deepEqual(context.unattend.bypassRequirements, {});
    assert.equal(context.media.size, 0);
  });

  test('without boot.wim the step touches only the install image and never opens boot.wim', async () => {
    const installWim = await copyWim(tmp.path, sampleInstall, 'install');
    const before = await readFile(installWim);
    const context = new BuildStepContext({
      extractBootWim: async () => {
        throw new Error('boot.wim must not be opened');
      },
    });
    const image = await openWindowsImage(installWim, 1);
    try {
      const plan = await planOf({ type: 'bypass', bootWim: false, checks: ['cpu'] }, image);
      await bypassStep.apply(plan.changes, image, silentProgress, context);
      await image.commit();
      // Applying the same changes again is a no-op: the values are already there.
      await bypassStep.apply(plan.changes, image, silentProgress, context);
      assert.equal(image.isDirty(), false);
    } finally {
      await image.close();
    }
    assert.equal(context.bootTouched, false);
    assert.notDeepEqual(await readFile(installWim), before);
    const system = await extractSystem(installWim, 1);
    assert.deepEqual(await hivexValues(system, LAB_CONFIG), { BypassCPUCheck: 'dword:00000001' });
    assert.deepEqual(context.unattend.bypassRequirements, { cpu: true });
  });
});
