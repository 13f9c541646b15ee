// The plan of a build: for every edition the recipe keeps, what each step would change, read
// from the source without writing anything (the source is opened read-only; a WIM inside an ISO
// is read through the ISO's extents). `deployforge plan` prints it; the build will apply it.
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';
import { openIso } from '../formats/iso/index.js';
import { HIVE_FILES, type HiveId } from '../formats/regf/reg-roots.js';
import { openWim, rawExportRefusal, type WimImageInfo } from '../formats/wim/index.js';
import { openWindowsImage, type WindowsImage } from '../image/windows-image.js';
import { bytesMovedInPlace } from '../media/remaster.js';
import type { LoadedRecipe } from '../recipe/index.js';
import type { EditionSelector } from '../recipe/schema.js';
import type { StepPlan } from '../steps/define-step.js';
import { STEP_DEFINITIONS } from '../steps/index.js';
import { type ByteSource, FileSource } from '../util/byte-source.js';
import { estimateKeptEditions } from './size-estimate.js';

export { STEP_DEFINITIONS };

export interface PlannedStep {
  index: number;
  type: string;
  file: string;
  line: number;
  plan: StepPlan<unknown>;
}

export interface EditionPlan {
  index: number;
  name: string | null;
  editionId: string | null;
  rename?: string;
  steps: PlannedStep[];
}

export interface BuildPlan {
  source: string;
  installImage: string;
  editions: EditionPlan[];
  /** Expected sizes: the new install.wim (kept editions, LZX) and, for an ISO source, the ISO.
   *  `isoLayout` says how an ISO output carries install.wim: 'patch' keeps the source's resources
   *  where they are and appends the changes (a non-solid source, options.compact not set); 'compact'
   *  writes only the kept editions' resources. */
  expectedSize: { installImage: number; iso?: number; isoLayout?: 'patch' | 'compact' /** What the edits append (an estimate). */; edits: number; note: string };
  /** How many editions the source has. */
  sourceEditions: number;
  warnings: string[];
}

const INSTALL_IMAGES = ['sources/install.wim', 'sources/install.esd'];

/** Opens the install image read-only: a WIM/ESD file, or the one inside an ISO. */
async function openInstallImage(
  sourcePath: string,
): Promise<{ describe: string; open: () => Promise<ByteSource>; close: () => Promise<void>; movedInPlace?: () => Promise<number> }> {
  const file = await FileSource.open(sourcePath);
  const head = await file.read(0, Math.min(8, file.size));
  if (Buffer.from(head).toString('latin1').startsWith('MSWIM')) {
    await file.close();
    return { describe: sourcePath, open: () => FileSource.open(sourcePath), close: async () => {} };
  }
  try {
    const iso = await openIso(file);
    for (const inner of INSTALL_IMAGES) {
      const entry = await iso.stat(inner);
      if (entry && !entry.isDirectory) {
        return { describe: `${sourcePath}:${entry.path}`, open: () => iso.openFile(inner), close: () => file.close(), movedInPlace: () => bytesMovedInPlace(iso) };
      }
    }
    throw new InputError('DF_NO_INSTALL_IMAGE', `${sourcePath} has no sources/install.wim or install.esd: is it Windows install media?`);
  } catch (error) {
    await file.close();
    throw error;
  }
}

function selectEditions(images: WimImageInfo[], keep: EditionSelector[] | undefined): { image: WimImageInfo; rename?: string }[] {
  if (!keep) return images.map((image) => ({ image }));
  return keep.map((selector) => {
    const image = images.find((i) =>
      selector.index !== undefined
        ? i.index === selector.index
        : selector.name !== undefined
          ? i.name?.toLowerCase() === selector.name.toLowerCase() || i.displayName?.toLowerCase() === selector.name.toLowerCase()
          : (i.windows?.editionId ?? i.flags)?.toLowerCase() === selector.id?.toLowerCase(),
    );
    if (!image) {
      const known = images.map((i) => `${i.index}: ${i.name} (${i.windows?.editionId ?? i.flags})`).join('; ');
      throw new InputError('DF_EDITION_NOT_FOUND', `no edition matches ${JSON.stringify(selector)}; the source has ${known}`);
    }
    return { image, rename: selector.rename };
  });
}

/** An estimate of the bytes an edition's offline changes append: every hive a change names, whole
 *  (hives are written back uncompressed), and the sizes of files the changes add. */
function appendedBytes(steps: PlannedStep[], image: WindowsImage): number {
  const hives = new Set<string>();
  let files = 0;
  for (const step of steps) {
    for (const change of step.plan.changes as Array<Record<string, unknown>>) {
      if (change.when !== undefined && change.when !== 'offline') continue;
      if (typeof change.hive === 'string') hives.add(change.hive.toUpperCase());
      else if (typeof change.size === 'number') files += change.size;
    }
  }
  let bytes = files;
  for (const hive of hives) bytes += image.stat(HIVE_FILES[hive as HiveId] ?? '')?.size ?? 0;
  return bytes;
}

export async function planBuild(loaded: LoadedRecipe, sourcePath: string): Promise<BuildPlan> {
  const install = await openInstallImage(sourcePath);
  try {
    const probe = await install.open();
    let images: WimImageInfo[];
    let estimate: Awaited<ReturnType<typeof estimateKeptEditions>>;
    let rawExportable = false;
    const sourceImageSize = probe.size;
    try {
      const wim = await openWim(probe);
      images = wim.images;
      rawExportable = rawExportRefusal(wim) === null;
      estimate = await estimateKeptEditions(
        wim,
        selectEditions(images, loaded.recipe.editions?.keep).map((e) => e.image.index),
      );
    } finally {
      await probe.close();
    }
    const sourceSize = (await stat(sourcePath)).size;
    const isIso = install.describe !== sourcePath;
    const patch = isIso && rawExportable && loaded.recipe.options?.compact !== true;
    const expectedSize = {
      installImage: estimate.bytes,
      // In place, files below the new descriptors (boot images) move to the end, their old sectors zeroed.
      iso: isIso ? sourceSize - sourceImageSize + (patch ? sourceImageSize + ((await install.movedInPlace?.()) ?? 0) : estimate.bytes) : undefined,
      isoLayout: isIso ? (patch ? ('patch' as const) : ('compact' as const)) : undefined,
      edits: 0,
      note: patch
        ? "estimate: an ISO keeps the source's install.wim whole (dropped editions' data unreferenced; options.compact: true writes only the kept editions'), plus the steps' additions"
        : `estimate: the distinct blobs of the kept editions${estimate.solidSource ? ' (solid source, scaled to LZX)' : ''}, before the steps' additions`,
    };
    const editions: EditionPlan[] = [];
    // What the edits append to the install image: new hives and files, stored uncompressed.
    let appended = 0;
    for (const { image, rename } of selectEditions(images, loaded.recipe.editions?.keep)) {
      const windowsImage = await openWindowsImage(install.describe, image.index, { openSource: install.open });
      try {
        const steps: PlannedStep[] = [];
        for (const loadedStep of loaded.steps) {
          const definition = STEP_DEFINITIONS[loadedStep.step.type];
          if (!definition) throw new InputError('DF_STEP_NOT_IMPLEMENTED', `step type '${loadedStep.step.type}' (${loadedStep.file}:${loadedStep.line}) cannot be planned yet`);
          const plan = await definition.plan(loadedStep.step, windowsImage, { baseDir: dirname(loadedStep.file) });
          steps.push({ index: loadedStep.index, type: loadedStep.step.type, file: loadedStep.file, line: loadedStep.line, plan });
        }
        editions.push({ index: image.index, name: image.name, editionId: image.windows?.editionId ?? image.flags, rename, steps });
        appended += appendedBytes(steps, windowsImage);
      } finally {
        await windowsImage.close();
      }
    }
    if (expectedSize.iso !== undefined) expectedSize.iso += appended;
    expectedSize.installImage += appended;
    expectedSize.edits = appended;
    return { source: sourcePath, installImage: install.describe, editions, expectedSize, sourceEditions: images.length, warnings: [] };
  } finally {
    await install.close();
  }
}
