// Building a recipe, the simple way round (DESIGN.md "Data flow of a build"): the install image
// is copied out of the source ISO once, the kept editions are exported into a workspace WIM
// (wimlib), each edition is opened once, every step is planned and applied through it and
// committed in one append, and the output ISO is written in one pass from the source ISO with
// the new install.wim and the media files. The source is never modified; outputs are written
// to temporary names and renamed. Not yet: the folder output and the faster patch-only route.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { openIso } from '../formats/iso/index.js';
import { exportImages, openWim, setImageProperties, setWimGuid, splitWim } from '../formats/wim/index.js';
import { openWindowsImage } from '../image/windows-image.js';
import { remasterIso } from '../media/remaster.js';
import { type ProgressSink, silentProgress } from '../progress.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { composeAnswerFile, contributionsEmpty } from '../steps/unattend/compose.js';
import { answerFileArchitecture } from '../steps/unattend/step.js';
import { FileSource } from '../util/byte-source.js';
import { withAtomicOutput } from '../util/fs.js';
import { VERSION } from '../version.js';
import { canonicalJson, catalogDigests, defaultLockPath, LOCKFILE_VERSION, sha256File, sha256Text, writeLockfile } from './lockfile.js';
import { planBuild, STEP_DEFINITIONS } from './plan.js';
import { BuildStepContext } from './step-context.js';

export interface BuildOptions {
  source: string;
  /** Output ISO (overrides the recipe's outputs.iso.path). */
  out?: string;
  workDir?: string;
  /** Resolve relative output paths from here instead of the recipe file that names them. */
  outDir?: string;
  /** Where to write the lockfile (default: `<recipe>.lock.json` in --out-dir, else beside the recipe). */
  lockPath?: string;
  /** Same inputs → same bytes (overrides the recipe's options.deterministic). */
  deterministic?: boolean;
  progress?: ProgressSink;
}

export interface BuildResult {
  outputs: { kind: 'iso' | 'wim' | 'esd' | 'swm'; path: string; size: number }[];
  editions: { index: number; name: string | null; changes: number; hivesWritten: string[] }[];
  /** Where the answer file went, when the build wrote one. */
  answerFile?: { where: 'media' | 'boot-wim'; path: string; reason: string; bytes: number };
  lockfile: string;
  warnings: string[];
}

/** The clock of a deterministic build: SOURCE_DATE_EPOCH (reproducible-builds.org) or a fixed date. */
function deterministicClock(): Date {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return Number.isInteger(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date('2024-07-01T00:00:00Z');
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
  const deterministic = options.deterministic ?? loaded.recipe.options?.deterministic ?? false;
  const clock = deterministic ? deterministicClock() : undefined;
  const imageOptions = clock ? { now: () => clock, hiveNow: () => clock } : {};
  const sourceDigest = await sha256File(options.source, progress, 'hash source');
  const stepDigests = loaded.steps.map((s) => ({
    index: s.index,
    type: s.step.type,
    file: s.file,
    line: s.line,
    sha256: sha256Text(canonicalJson({ step: s.step, changes: plan.editions.map((e) => e.steps.find((p) => p.index === s.index)?.plan.changes ?? []) })),
  }));
  const recipeDigest = sha256Text(canonicalJson(loaded.recipe));
  // What a deterministic build's IDs derive from: everything that decides the output's bytes.
  const inputDigest = sha256Text(canonicalJson({ tool: VERSION, source: sourceDigest.sha256, recipe: recipeDigest, steps: stepDigests.map((d) => d.sha256) }));
  const guidFor = (what: string) => createHash('sha256').update(`${inputDigest}:${what}`).digest().subarray(0, 16);
  const workRoot = options.workDir ?? tmpdir();
  await mkdir(workRoot, { recursive: true });
  const work = await mkdtemp(join(workRoot, 'deployforge-build-'));
  let contextForCleanup: BuildStepContext | undefined;
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
    const context = new BuildStepContext({
      imageOptions,
      extractBootWim: async () => {
        if (!isIso) return undefined;
        const iso = await FileSource.open(options.source);
        try {
          const entry = await (await openIso(iso)).stat('sources/boot.wim');
          if (!entry || entry.isDirectory) return undefined;
          const target = join(work, 'boot.wim');
          await copyOut(await (await openIso(iso)).openFile('sources/boot.wim'), target);
          return target;
        } finally {
          await iso.close();
        }
      },
    });
    contextForCleanup = context;

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
    // wimlib gives each export a random GUID, the only byte that differs between two exports.
    if (deterministic) await setWimGuid(workspace, guidFor('install.wim'));
    step(1);

    // 3. Each edition: plan and apply every step through one WindowsImage, one commit.
    const editions: BuildResult['editions'] = [];
    const warnings: string[] = [];
    let architecture: Awaited<ReturnType<typeof answerFileArchitecture>> | undefined;
    for (const [i, edition] of plan.editions.entries()) {
      const image = await openWindowsImage(workspace, i + 1, imageOptions);
      try {
        let changes = 0;
        architecture ??= await answerFileArchitecture(image);
        for (const loadedStep of loaded.steps) {
          const definition = STEP_DEFINITIONS[loadedStep.step.type];
          const stepPlan = await definition.plan(loadedStep.step, image, { baseDir: dirname(loadedStep.file) });
          await definition.apply(stepPlan.changes, image, progress, context);
          changes += stepPlan.changes.length;
        }
        const result = await image.commit();
        editions.push({ index: i + 1, name: edition.rename ?? edition.name, changes, hivesWritten: result.hivesWritten });
      } finally {
        await image.close();
      }
      step(2 + i);
    }

    // 4. The answer file (the unattend step plus what other steps contributed), then boot.wim.
    let answerFile: BuildResult['answerFile'];
    if (!contributionsEmpty(context.unattend)) {
      const composed = await composeAnswerFile(context.unattend, architecture ?? 'amd64');
      warnings.push(...composed.warnings);
      if (composed.target.where === 'boot-wim') (await context.bootImage()).writeFile(composed.target.path, composed.bytes);
      else context.media.addFile(composed.target.path, composed.bytes);
      answerFile = { ...composed.target, bytes: composed.bytes.length };
    }
    const bootWim = await context.finishBootImage();

    // 5. Outputs.
    const outputs: BuildResult['outputs'] = [];
    if (isoOut) {
      await mkdir(dirname(isoOut), { recursive: true });
      const inner = plan.installImage.slice(plan.installImage.lastIndexOf(':') + 1);
      const isEsd = inner.toLowerCase().endsWith('.esd');
      const add: Record<string, string> = isEsd ? { 'sources/install.wim': workspace } : {};
      Object.assign(add, await context.media.materialize(work));
      for (const media of loaded.recipe.media ?? []) {
        const from = resolve(recipeDir, media.from);
        if (!(await stat(from)).isFile()) throw new InputError('DF_MEDIA_NOT_FILE', `media entry ${media.from}: only files can be added to the media so far`);
        add[media.to.endsWith('/') ? `${media.to}${basename(from)}` : media.to] = from;
      }
      const result = await remasterIso(options.source, isoOut, {
        replace: { ...(isEsd ? {} : { [inner]: workspace }), ...(bootWim ? { 'sources/boot.wim': bootWim } : {}) },
        remove: isEsd ? [inner] : [],
        add,
        label: loaded.recipe.outputs?.iso?.label ?? loaded.recipe.options?.label,
        timestamp: clock,
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
      if (deterministic) await setWimGuid(partial, guidFor('install.esd'));
      await withAtomicOutput(esdOut, (target) => copyFile(partial, target));
      outputs.push({ kind: 'esd', path: esdOut, size: (await stat(esdOut)).size });
    }
    if (swmOut) {
      // Parts of at most 4,000 MiB by default, so each fits a FAT32 stick.
      await mkdir(dirname(swmOut), { recursive: true });
      const { parts } = await splitWim(workspace, swmOut, { partSizeMiB: outputsSpec.swm?.partSizeMb ?? 4000, progress });
      for (const part of parts) outputs.push({ kind: 'swm', path: part, size: (await stat(part)).size });
    }
    if (!isoOut && (context.media.size > 0 || bootWim)) warnings.push('steps added files to the media or changed boot.wim, which only an ISO output carries');

    // 6. The lockfile: inputs, per-step digests, and each output's digest.
    const lockfile = options.lockPath ?? defaultLockPath(loaded.file, options.outDir);
    const hashed = [];
    for (const output of outputs) hashed.push({ kind: output.kind, path: output.path, size: output.size, sha256: (await sha256File(output.path, progress, 'hash output')).sha256 });
    await mkdir(dirname(lockfile), { recursive: true });
    await writeLockfile(lockfile, {
      lockfileVersion: LOCKFILE_VERSION,
      tool: { name: 'deployforge', version: VERSION },
      catalogs: await catalogDigests(),
      deterministic,
      source: { path: options.source, size: sourceDigest.size, sha256: sourceDigest.sha256 },
      recipe: { file: loaded.file, sha256: recipeDigest, resolved: loaded.recipe },
      steps: stepDigests,
      editions: plan.editions.map((e, i) => ({ index: i + 1, sourceIndex: e.index, name: e.rename ?? e.name })),
      outputs: hashed,
    });
    step(total);
    return { outputs, editions, answerFile, lockfile, warnings };
  } finally {
    await contextForCleanup?.abandon();
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
