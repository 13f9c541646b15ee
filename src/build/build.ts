// Building a recipe, the simple way round (DESIGN.md "Data flow of a build"): the install image
// is copied out of the source ISO once, the kept editions are exported into a workspace WIM
// (wimlib), each edition is opened once, every step is planned and applied through it and
// committed in one append, and the output ISO is written in one pass from the source ISO with
// the new install.wim and the media files. The source is never modified; outputs are written
// to temporary names and renamed. Not yet: the folder output and the faster patch-only route.
import { copyFile, mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { openIso } from '../formats/iso/index.js';
import { exportImages, openWim, setImageProperties, splitWim } from '../formats/wim/index.js';
import { openWindowsImage } from '../image/windows-image.js';
import { remasterIso } from '../media/remaster.js';
import { type ProgressSink, silentProgress } from '../progress.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { FileSource } from '../util/byte-source.js';
import { withAtomicOutput } from '../util/fs.js';
import { planBuild, STEP_DEFINITIONS } from './plan.js';

export interface BuildOptions {
  source: string;
  /** Output ISO (overrides the recipe's outputs.iso.path). */
  out?: string;
  workDir?: string;
  /** Resolve relative output paths from here instead of the recipe file that names them. */
  outDir?: string;
  progress?: ProgressSink;
}

export interface BuildResult {
  outputs: { kind: 'iso' | 'wim' | 'esd' | 'swm'; path: string; size: number }[];
  editions: { index: number; name: string | null; changes: number; hivesWritten: string[] }[];
}

async function copyOut(source: FileSource | Awaited<ReturnType<Awaited<ReturnType<typeof openIso>>['openFile']>>, target: string): Promise<void> {
  await withAtomicOutput(target, async (partial) => {
    const handle = await open(partial, 'w');
    try {
      const chunk = 16 * 1024 * 1024;
      for (let at = 0; at < source.size; at += chunk) await handle.write(await source.read(at, Math.min(chunk, source.size - at)));
    } finally {
      await handle.close();
    }
  });
}

export async function buildRecipe(loaded: LoadedRecipe, options: BuildOptions): Promise<BuildResult> {
  const progress = options.progress ?? silentProgress;
  const recipeDir = dirname(loaded.file);
  const outputsSpec = loaded.recipe.outputs ?? {};
  // A relative output path is relative to the recipe file that names it (an extended base's
  // outputs land beside the base), unless the caller gives an output folder.
  const outputPath = (kind: 'iso' | 'wim' | 'esd' | 'swm', path: string | undefined) =>
    path === undefined ? undefined : resolve(options.outDir ?? dirname(loaded.sourceOf(`outputs.${kind}.path`)?.file ?? loaded.file), path);
  const isoOut = options.out ?? outputPath('iso', outputsSpec.iso?.path);
  const wimOut = outputPath('wim', outputsSpec.wim?.path);
  const esdOut = outputPath('esd', outputsSpec.esd?.path);
  const swmOut = outputPath('swm', outputsSpec.swm?.path);
  if (!isoOut && !wimOut && !esdOut && !swmOut) throw new InputError('DF_NO_OUTPUT', 'the recipe writes nothing: give --out OUT.iso or set outputs.iso, wim, esd or swm');
  if (outputsSpec.folder) throw new InputError('DF_OUTPUT_NOT_SUPPORTED', 'outputs.folder is not supported yet: write an ISO and copy it with `deployforge iso extract`');

  // Plan first: every edition and step is checked before anything is written.
  const plan = await planBuild(loaded, options.source);
  const workRoot = options.workDir ?? tmpdir();
  await mkdir(workRoot, { recursive: true });
  const work = await mkdtemp(join(workRoot, 'deployforge-build-'));
  const total = plan.editions.length + 2;
  const step = (done: number) => progress.emit({ phase: 'build', done, total, unit: 'steps' });
  try {
    step(0);
    // 1. The install image, out of the ISO (or the WIM given as the source).
    const source = await FileSource.open(options.source);
    let sourceWim = options.source;
    let isIso = false;
    try {
      const head = Buffer.from(await source.read(0, Math.min(8, source.size))).toString('latin1');
      if (!head.startsWith('MSWIM')) {
        isIso = true;
        const iso = await openIso(source);
        const inner = plan.installImage.slice(plan.installImage.lastIndexOf(':') + 1);
        sourceWim = join(work, `source-${basename(inner)}`);
        await copyOut(await iso.openFile(inner), sourceWim);
      }
    } finally {
      await source.close();
    }
    if (isoOut && !isIso) throw new InputError('DF_NEEDS_ISO_SOURCE', 'an ISO output needs an ISO source: give --source X.iso, or write outputs.wim only');

    // 2. The kept editions, in order, into a workspace WIM (LZX, Microsoft's chunk size).
    const workspace = join(work, 'install.wim');
    await exportImages(
      sourceWim,
      plan.editions.map((e) => e.index),
      workspace,
      { compress: 'lzx', progress },
    );
    for (const [i, edition] of plan.editions.entries()) {
      if (edition.rename) await setImageProperties(workspace, i + 1, { NAME: edition.rename, DISPLAYNAME: edition.rename });
    }
    step(1);

    // 3. Each edition: plan and apply every step through one WindowsImage, one commit.
    const editions: BuildResult['editions'] = [];
    for (const [i, edition] of plan.editions.entries()) {
      const image = await openWindowsImage(workspace, i + 1);
      try {
        let changes = 0;
        for (const loadedStep of loaded.steps) {
          const definition = STEP_DEFINITIONS[loadedStep.step.type];
          const stepPlan = await definition.plan(loadedStep.step, image, { baseDir: dirname(loadedStep.file) });
          await definition.apply(stepPlan.changes, image, progress);
          changes += stepPlan.changes.length;
        }
        const result = await image.commit();
        editions.push({ index: i + 1, name: edition.rename ?? edition.name, changes, hivesWritten: result.hivesWritten });
      } finally {
        await image.close();
      }
      step(2 + i);
    }

    // 4. Outputs.
    const outputs: BuildResult['outputs'] = [];
    if (isoOut) {
      await mkdir(dirname(isoOut), { recursive: true });
      const inner = plan.installImage.slice(plan.installImage.lastIndexOf(':') + 1);
      const isEsd = inner.toLowerCase().endsWith('.esd');
      const add: Record<string, string> = isEsd ? { 'sources/install.wim': workspace } : {};
      for (const media of loaded.recipe.media ?? []) {
        const from = resolve(recipeDir, media.from);
        if (!(await stat(from)).isFile()) throw new InputError('DF_MEDIA_NOT_FILE', `media entry ${media.from}: only files can be added to the media so far`);
        add[media.to.endsWith('/') ? `${media.to}${basename(from)}` : media.to] = from;
      }
      const result = await remasterIso(options.source, isoOut, {
        replace: isEsd ? {} : { [inner]: workspace },
        remove: isEsd ? [inner] : [],
        add,
        label: loaded.recipe.outputs?.iso?.label ?? loaded.recipe.options?.label,
        timestamp: loaded.recipe.options?.deterministic ? new Date('2024-07-01T00:00:00Z') : undefined,
        progress,
      });
      outputs.push({ kind: 'iso', path: isoOut, size: result.size });
    }
    if (wimOut) {
      await mkdir(dirname(wimOut), { recursive: true });
      await withAtomicOutput(wimOut, (partial) => copyFile(workspace, partial));
      outputs.push({ kind: 'wim', path: wimOut, size: (await stat(wimOut)).size });
    }
    if (esdOut) {
      // Solid LZMS with Microsoft's 64 MiB solid chunks (the wimlib driver's default for .esd).
      await mkdir(dirname(esdOut), { recursive: true });
      const partial = join(work, 'install.esd');
      await exportImages(workspace, 'all', partial, { solid: true, compress: 'lzms', progress });
      await withAtomicOutput(esdOut, (target) => copyFile(partial, target));
      outputs.push({ kind: 'esd', path: esdOut, size: (await stat(esdOut)).size });
    }
    if (swmOut) {
      // Parts of at most 4,000 MiB by default, so each fits a FAT32 stick.
      await mkdir(dirname(swmOut), { recursive: true });
      const { parts } = await splitWim(workspace, swmOut, { partSizeMiB: outputsSpec.swm?.partSizeMb ?? 4000, progress });
      for (const part of parts) outputs.push({ kind: 'swm', path: part, size: (await stat(part)).size });
    }
    step(total);
    return { outputs, editions };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The editions of a WIM file (for messages and tests). */
export async function listEditions(wimPath: string): Promise<string[]> {
  const source = await FileSource.open(wimPath);
  try {
    return (await openWim(source)).images.map((i) => i.name ?? '');
  } finally {
    await source.close();
  }
}
