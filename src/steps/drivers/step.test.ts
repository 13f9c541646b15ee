// The drivers step on copies of the sample install.wim and boot.wim: driver folders built from the
// corpus virtio-win INFs (stamped for an architecture the way the virtio-win build and stampinf
// do) plus dummy payload files. The plan is checked, then apply + commit is read back with
// `wimlib-imagex dir`/`extract`, the media overlay is listed, and the answer file the build would
// write from the contributions is checked with xmllint. Refusals: wrong architecture, a missing
// file, a missing catalog without allowWarnings.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { makeSampleSetupWims } from '../../../test/helpers/fixtures.js';
import { copyWim, freshPath, type Later, planStep, useTempDir, wimlibCat, wimlibDir } from '../../../test/helpers/step-harness.js';
import { putFile, stampInf } from '../../../test/helpers/step-inputs.js';
import { BuildStepContext } from '../../build/step-context.js';
import type { DeployForgeError } from '../../errors.js';
import { openWindowsImage, type WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { runTool } from '../../util/exec.js';
import { composeAnswerFile } from '../unattend/compose.js';
import { BOOT_DRIVER_SETUP_PATH, type DriversChange, driversStep, IMAGE_DRIVER_SETUP_PATH, PNPUTIL_COMMAND } from './step.js';

let tmp: Later;
let sampleInstall: string;
let sampleBoot: string;

/** Deterministic dummy bytes that differ per file. */
const payload = (name: string) => Buffer.from(`MZ DeployForge test payload for ${name}\r\n`.repeat(8));

async function vioscsiFolder(arch = 'amd64', options: { catalog?: boolean; sys?: boolean } = {}): Promise<string> {
  const root = freshPath(tmp.path, 'vioscsi');
  await putFile(join(root, 'vioscsi.inf'), stampInf(await readFile(corpusPath('inf/virtio-win/vioscsi_vioscsi.inx'), 'utf8'), arch));
  if (options.sys !== false) await putFile(join(root, 'vioscsi.sys'), payload('vioscsi.sys'));
  if (options.catalog !== false) await putFile(join(root, 'vioscsi.cat'), payload('vioscsi.cat'));
  await putFile(join(root, 'README.txt'), 'not part of the driver package\r\n');
  return root;
}

async function viorngFolder(): Promise<string> {
  const root = freshPath(tmp.path, 'viorng');
  await putFile(join(root, 'rng/viorng.inf'), stampInf(await readFile(corpusPath('inf/virtio-win/viorng_viorng_viorng.inf'), 'utf8'), 'amd64'));
  for (const file of ['viorng.sys', 'viorngum.dll', 'viorng.cat']) await putFile(join(root, `rng/${file}`), payload(file));
  return root;
}

const code = (expected: string) => (error: unknown) => (error as DeployForgeError).code === expected;
const findingCodes = (error: unknown) => ((error as DeployForgeError).details.findings as { code: string }[]).map((f) => f.code).sort();

const planFor = (image: WindowsImage, options: unknown) => planStep(driversStep, options, image, tmp.path);

const ofKind = <K extends DriversChange['kind']>(changes: DriversChange[], kind: K) => changes.filter((c): c is Extract<DriversChange, { kind: K }> => c.kind === kind);

describe('drivers step', { skip: !hasCorpus() && 'no corpus' }, () => {
  tmp = useTempDir('deployforge-drivers-');
  before(async () => {
    ({ install: sampleInstall, boot: sampleBoot } = await makeSampleSetupWims(await tmp.ready, { editions: 1, seed: 5 }));
  });

  test('the schema is strict and needs folders from a known set of injections', () => {
    const schema = driversStep.schema;
    assert.equal(schema.safeParse({ type: 'drivers', folders: ['a'] }).success, true);
    assert.equal(schema.safeParse({ type: 'drivers', folders: [] }).success, false);
    assert.equal(schema.safeParse({ type: 'drivers', folders: ['a'], inject: ['dism'] }).success, false);
    assert.equal(schema.safeParse({ type: 'drivers', folders: ['a'], extra: 1 }).success, false);
    assert.equal(schema.safeParse({ type: 'drivers', folders: ['a'], inject: ['image', 'boot-wim', 'winpe-driver-folder'], allowWarnings: true }).success, true);
  });

  test('plans a storage and a non-boot driver for the image, the media and boot.wim, all applied by Windows Setup', async () => {
    const scsi = await vioscsiFolder();
    const rng = await viorngFolder();
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      const plan = await planFor(image, { type: 'drivers', folders: [scsi, rng], inject: ['image', 'winpe-driver-folder', 'boot-wim'] });
      assert.ok(
        plan.changes.every((c) => c.when === 'windows-setup'),
        'drivers are staged; Setup installs them',
      );
      const packages = ofKind(plan.changes, 'package');
      assert.deepEqual(
        packages.map((p) => [p.name, p.architecture, p.files]),
        [
          [`01-${basename(scsi)}`, 'amd64', 4],
          [`02-${basename(rng)}`, 'amd64', 4],
        ],
      );
      assert.equal(packages[0].infs[0].class, 'SCSIAdapter');
      assert.equal(packages[0].infs[0].bootCritical, true);
      assert.equal(packages[1].infs[0].bootCritical, false);

      const copies = ofKind(plan.changes, 'copy');
      assert.deepEqual(
        copies.map((c) => [c.target, c.destination]),
        [
          ['image', `/Drivers/DeployForge/${packages[0].name}`],
          ['media', `$WinPEDriver$/${packages[0].name}`],
          ['boot-wim', `/Drivers/DeployForge/${packages[0].name}`],
          ['image', `/Drivers/DeployForge/${packages[1].name}`],
          ['media', `$WinPEDriver$/${packages[1].name}`],
        ],
      );
      assert.deepEqual(copies[0].files, ['README.txt', 'vioscsi.cat', 'vioscsi.inf', 'vioscsi.sys']);
      assert.deepEqual(copies[2].files, ['vioscsi.cat', 'vioscsi.inf', 'vioscsi.sys'], 'boot.wim gets only what the boot-critical INF needs');

      assert.deepEqual(
        ofKind(plan.changes, 'driver-path').map((c) => [c.pass, c.path]),
        [
          ['offlineServicing', IMAGE_DRIVER_SETUP_PATH],
          ['windowsPE', BOOT_DRIVER_SETUP_PATH],
        ],
      );
      assert.deepEqual(
        ofKind(plan.changes, 'specialize-command').map((c) => c.commandLine),
        [PNPUTIL_COMMAND],
      );
      assert.ok(plan.setupTimeNotes?.some((note) => /offlineServicing pass/.test(note)));
      assert.ok(plan.setupTimeNotes?.some((note) => /\$WinPEDriver\$/.test(note)));
      assert.ok(plan.setupTimeNotes?.some((note) => /windowsPE pass/.test(note)));
      const lines = plan.changes.flatMap((c) => driversStep.describe?.(c) ?? []);
      assert.ok(lines.some((l) => /SCSIAdapter.*boot-critical/.test(l)));
      assert.ok(lines.some((l) => l.includes('$WinPEDriver$')));
    } finally {
      await image.close();
    }
  });

  test('apply puts the files where planned in install.wim, boot.wim and on the media, and contributes DriverPaths once', async () => {
    const scsi = await vioscsiFolder();
    const rng = await viorngFolder();
    const installWim = await copyWim(tmp.path, sampleInstall, 'copy');
    const bootWim = await copyWim(tmp.path, sampleBoot, 'copy');
    const context = new BuildStepContext({ extractBootWim: async () => bootWim });
    const image = await openWindowsImage(installWim, 1);
    let plan: Awaited<ReturnType<typeof planFor>>;
    try {
      plan = await planFor(image, { type: 'drivers', folders: [scsi, rng], inject: ['image', 'winpe-driver-folder', 'boot-wim'] });
      await driversStep.apply(plan.changes, image, silentProgress, context);
      // A second edition applies the same plan: nothing is contributed twice.
      await driversStep.apply(plan.changes, image, silentProgress, context);
      await image.commit();
    } finally {
      await image.close();
    }
    assert.equal(await context.finishBootImage(), bootWim);
    const [scsiPkg, rngPkg] = ofKind(plan.changes, 'package');

    // install.wim, as wimlib lists it.
    assert.deepEqual(await wimlibDir(installWim, 1, '/Drivers/DeployForge'), [
      `/Drivers/DeployForge/${scsiPkg.name}`,
      `/Drivers/DeployForge/${scsiPkg.name}/README.txt`,
      `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.cat`,
      `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.inf`,
      `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.sys`,
      `/Drivers/DeployForge/${rngPkg.name}`,
      `/Drivers/DeployForge/${rngPkg.name}/rng`,
      `/Drivers/DeployForge/${rngPkg.name}/rng/viorng.cat`,
      `/Drivers/DeployForge/${rngPkg.name}/rng/viorng.inf`,
      `/Drivers/DeployForge/${rngPkg.name}/rng/viorng.sys`,
      `/Drivers/DeployForge/${rngPkg.name}/rng/viorngum.dll`,
    ]);
    assert.deepEqual(await wimlibCat(tmp.path, installWim, 1, `/Drivers/DeployForge/${rngPkg.name}/rng/viorngum.dll`), payload('viorngum.dll'));
    await runTool('wimlib-imagex', ['verify', installWim]);

    // boot.wim index 2 (Setup) holds only the boot-critical package; index 1 is untouched.
    assert.deepEqual(await wimlibDir(bootWim, 2, '/Drivers/DeployForge'), [
      `/Drivers/DeployForge/${scsiPkg.name}`,
      `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.cat`,
      `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.inf`,
      `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.sys`,
    ]);
    assert.deepEqual(await wimlibCat(tmp.path, bootWim, 2, `/Drivers/DeployForge/${scsiPkg.name}/vioscsi.sys`), payload('vioscsi.sys'));
    await assert.rejects(runTool('wimlib-imagex', ['dir', bootWim, '1', '--path=/Drivers']));

    // The media overlay.
    const media = await context.media.materialize(freshPath(tmp.path, 'media'));
    assert.deepEqual(Object.keys(media).sort(), [
      `$WinPEDriver$/${scsiPkg.name}/README.txt`,
      `$WinPEDriver$/${scsiPkg.name}/vioscsi.cat`,
      `$WinPEDriver$/${scsiPkg.name}/vioscsi.inf`,
      `$WinPEDriver$/${scsiPkg.name}/vioscsi.sys`,
      `$WinPEDriver$/${rngPkg.name}/rng/viorng.cat`,
      `$WinPEDriver$/${rngPkg.name}/rng/viorng.inf`,
      `$WinPEDriver$/${rngPkg.name}/rng/viorng.sys`,
      `$WinPEDriver$/${rngPkg.name}/rng/viorngum.dll`,
    ]);
    assert.equal(media[`$WinPEDriver$/${scsiPkg.name}/vioscsi.sys`], join(scsi, 'vioscsi.sys'));

    // Contributions, and the answer file the build makes of them.
    assert.deepEqual(context.unattend.driverPaths, { windowsPE: [BOOT_DRIVER_SETUP_PATH], offlineServicing: [IMAGE_DRIVER_SETUP_PATH] });
    assert.deepEqual(
      context.unattend.specializeCommands.map((c) => c.commandLine),
      [PNPUTIL_COMMAND],
    );
    const composed = await composeAnswerFile(context.unattend, 'amd64');
    assert.equal(composed.target.path, 'autounattend.xml', 'a windowsPE pass puts the answer file at the media root');
    const file = freshPath(tmp.path, 'autounattend', '.xml');
    await writeFile(file, composed.bytes);
    await runTool('xmllint', ['--noout', file]);
    const xpath = async (expr: string) => (await runTool('xmllint', ['--xpath', expr, file])).stdout.trim();
    const ns = "*[local-name()='settings'][@pass='%s']/*[local-name()='component'][@name='%c']//*[local-name()='Path']/text()";
    assert.equal(await xpath(`//${ns.replace('%s', 'offlineServicing').replace('%c', 'Microsoft-Windows-PnpCustomizationsNonWinPE')}`), IMAGE_DRIVER_SETUP_PATH);
    assert.equal(await xpath(`//${ns.replace('%s', 'windowsPE').replace('%c', 'Microsoft-Windows-PnpCustomizationsWinPE')}`), BOOT_DRIVER_SETUP_PATH);
  });

  test('the default injection is the image only, with a warning for a boot-critical driver Setup cannot see', async () => {
    const scsi = await vioscsiFolder();
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      const plan = await planFor(image, { type: 'drivers', folders: [scsi] });
      assert.deepEqual(
        ofKind(plan.changes, 'copy').map((c) => c.target),
        ['image'],
      );
      assert.deepEqual(
        ofKind(plan.changes, 'driver-path').map((c) => c.pass),
        ['offlineServicing'],
      );
      assert.ok(plan.warnings.some((w) => /boot-critical.*winpe-driver-folder or boot-wim/.test(w)));
    } finally {
      await image.close();
    }
  });

  test('boot-wim with no boot-critical driver adds nothing to boot.wim and says so', async () => {
    const rng = await viorngFolder();
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      const plan = await planFor(image, { type: 'drivers', folders: [rng], inject: ['boot-wim'] });
      assert.deepEqual(ofKind(plan.changes, 'copy'), []);
      assert.deepEqual(ofKind(plan.changes, 'driver-path'), []);
      assert.ok(plan.warnings.some((w) => /no driver package is boot-critical/.test(w)));
    } finally {
      await image.close();
    }
  });

  test('refuses drivers built for another architecture', async () => {
    const arm = await vioscsiFolder('arm64');
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      const error = await planFor(image, { type: 'drivers', folders: [arm] }).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
      assert.ok(code('DF_DRIVERS_INVALID')(error));
      assert.deepEqual(findingCodes(error), ['DF_DRIVER_ARCH_UNSUPPORTED']);
      assert.equal((error as DeployForgeError).details.architecture, 'amd64');
    } finally {
      await image.close();
    }
  });

  test('refuses a package whose driver file is missing, even with allowWarnings', async () => {
    const broken = await vioscsiFolder('amd64', { sys: false });
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      const error = await planFor(image, { type: 'drivers', folders: [broken], allowWarnings: true }).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
      assert.ok(code('DF_DRIVERS_INVALID')(error));
      assert.deepEqual(findingCodes(error), ['DF_DRIVER_FILE_MISSING']);
      assert.match((error as Error).message, /vioscsi\.sys/);
    } finally {
      await image.close();
    }
  });

  test('a missing catalog fails the plan unless allowWarnings accepts it as a warning', async () => {
    const unsigned = await vioscsiFolder('amd64', { catalog: false });
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      const error = await planFor(image, { type: 'drivers', folders: [unsigned] }).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
      assert.deepEqual(findingCodes(error), ['DF_DRIVER_CATALOG_MISSING']);
      assert.match((error as Error).message, /allowWarnings/);
      const plan = await planFor(image, { type: 'drivers', folders: [unsigned], allowWarnings: true });
      assert.ok(plan.warnings.some((w) => w.includes('DF_DRIVER_CATALOG_MISSING')));
      assert.equal(ofKind(plan.changes, 'package')[0].infs[0].catalogPresent, false);
    } finally {
      await image.close();
    }
  });

  test('a folder that does not exist is an input error', async () => {
    const image = await openWindowsImage(sampleInstall, 1);
    try {
      await assert.rejects(planFor(image, { type: 'drivers', folders: ['no-such-folder'] }), code('DF_DRIVER_FOLDER_NOT_FOUND'));
    } finally {
      await image.close();
    }
  });
});
