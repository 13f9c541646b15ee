// Building a recipe, the simple way round (DESIGN.md "Data flow of a build"): the install image
// is copied out of the source ISO once, the kept editions are exported into a workspace WIM
// (wimlib), each edition is opened once, every step is planned and applied through it and
// committed in one append, and the output ISO is written in one pass from the source ISO with
// the new install.wim and the media files. The source is never modified; outputs are written
// to temporary names and renamed. Not yet: the folder output and the faster patch-only route.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DeployForgeError, InputError, OperationError } from '../errors.js';
import { openFileInIsoPath, openIso } from '../formats/iso/index.js';
import { exportImages, exportImagesAsPatch, exportImagesRaw, openWim, rawExportRefusal, setImageProperties, setWimGuid, splitWim, WIM_HEADER_SIZE } from '../formats/wim/index.js';
import { openWindowsImage } from '../image/windows-image.js';
import { writeMediaFolder } from '../media/folder.js';
import { remasterIso, startSourceCopy } from '../media/remaster.js';
import { type ProgressSink, silentProgress } from '../progress.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { composeAnswerFile, contributionsEmpty } from '../steps/unattend/compose.js';
import { answerFileArchitecture } from '../steps/unattend/step.js';
import { type ByteSource, FileSource } from '../util/byte-source.js';
import { copySourceToFile } from '../util/copy.js';
import { cachedSha256, fileIdentity, rememberSha256 } from '../util/digest-cache.js';
import { isSameFile, partialPathFor, removeStalePartials, withAtomicOutput } from '../util/fs.js';
import { sha256FileOffThread, startStreamHasher } from '../util/hash-worker.js';
import { VERSION } from '../version.js';
import { BuildJournal, checkpointOf, folderFingerprint, JOURNAL_FILE, type JournalEntry, outputStillThere } from './journal.js';
import { canonicalJson, catalogDigests, defaultLockPath, LOCKFILE_VERSION, sha256File, sha256Folder, sha256Text, writeLockfile } from './lockfile.js';
import { type BuildPlan, planBuild, STEP_DEFINITIONS } from './plan.js';
import { checkFreeSpace, checkTools, type SpaceNeed } from './preflight.js';
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
  /** Continue an interrupted build of the same inputs from its last finished stage. */
  resume?: boolean;
  /** Stops the build at the next stage boundary (Ctrl-C); the workspace is rolled back. */
  signal?: AbortSignal;
  progress?: ProgressSink;
}

export interface BuildResult {
  outputs: { kind: 'iso' | 'wim' | 'esd' | 'swm' | 'folder'; path: string; size: number }[];
  editions: { index: number; name: string | null; changes: number; hivesWritten: string[] }[];
  /** Where the answer file went, when the build wrote one. */
  answerFile?: { where: 'media' | 'boot-wim'; path: string; reason: string; bytes: number };
  lockfile: string;
  /** How install.wim was carried: 'patch', new tables and the edits over the source's own
   *  (nothing copied; an ISO keeps its resources at their sectors), or 'compact', a new WIM of the
   *  kept editions only. */
  installLayout: 'patch' | 'compact';
  warnings: string[];
}

/** The clock of a deterministic build: SOURCE_DATE_EPOCH (reproducible-builds.org) or a fixed date. */
function deterministicClock(): Date {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return process.env.SOURCE_DATE_EPOCH !== undefined && Number.isInteger(epoch) && epoch >= 0 ? new Date(epoch * 1000) : new Date('2024-07-01T00:00:00Z');
}

/** Copies a file out of the source into the workspace. Not flushed: a killed process loses
 *  nothing the page cache holds, and the rename makes the copy appear whole or not at all. */
async function copyOut(source: Pick<FileSource, 'size' | 'read'>, target: string, signal?: AbortSignal): Promise<void> {
  const partial = partialPathFor(target);
  try {
    await copySourceToFile(source, partial, signal);
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export async function buildRecipe(loaded: LoadedRecipe, options: BuildOptions): Promise<BuildResult> {
  // The source's hash starts before the plan and stops when the build fails, so a failed build
  // in a long-lived process does not leave a worker reading the rest of a multi-GB source.
  const hashing = new AbortController();
  try {
    return await runBuild(loaded, options, hashing.signal);
  } catch (error) {
    hashing.abort(error);
    throw error;
  }
}

async function runBuild(loaded: LoadedRecipe, options: BuildOptions, hashing: AbortSignal): Promise<BuildResult> {
  const progress = options.progress ?? silentProgress;
  const recipeDir = dirname(loaded.file);
  const outputsSpec = loaded.recipe.outputs ?? {};
  // A relative output path is relative to the recipe file that names it (an extended base's
  // outputs land beside the base), unless the caller gives an output folder.
  const outputPath = (kind: 'iso' | 'wim' | 'esd' | 'swm' | 'folder', path: string | undefined) =>
    path === undefined ? undefined : resolve(options.outDir ?? dirname(loaded.sourceOf(`outputs.${kind}.path`)?.file ?? loaded.file), path);
  const isoOut = options.out ?? outputPath('iso', outputsSpec.iso?.path);
  const wimOut = outputPath('wim', outputsSpec.wim?.path);
  const esdOut = outputPath('esd', outputsSpec.esd?.path);
  const swmOut = outputPath('swm', outputsSpec.swm?.path);
  const folderOut = outputPath('folder', outputsSpec.folder?.path);
  if (!isoOut && !wimOut && !esdOut && !swmOut && !folderOut)
    throw new InputError('DF_NO_OUTPUT', 'the recipe writes nothing: give --out OUT.iso or set outputs.iso, wim, esd, swm or folder');
  // A stage boundary: stop on Ctrl-C, or when the source could not be hashed (an unreadable
  // source fails the build now, not after every stage has run).
  let hashFailure: unknown;
  const aborted = () => {
    options.signal?.throwIfAborted();
    if (hashFailure !== undefined) throw hashFailure;
  };
  for (const out of [isoOut, wimOut, esdOut, swmOut, folderOut]) {
    if (out !== undefined && (await isSameFile(options.source, out))) {
      throw new InputError('DF_OUT_IS_SOURCE', `the output ${out} is the source itself, which a build never changes: give another output path`, { out });
    }
  }

  // The source's SHA-256 feeds the lockfile and a deterministic build's IDs: a worker reads and
  // hashes the source from the start, beside the edits and the copy (the source is read twice,
  // here and by the copy, but from the page cache a read costs far less than passing the bytes
  // through this thread to a hasher). The workspace is found again by the source's path, size
  // and modification time.
  // A digest remembered from an earlier build of the very same file (digest-cache.ts) is used as is.
  const sourceInfo = await stat(options.source);
  const digestCache = join(options.workDir ?? tmpdir(), 'deployforge-sha256');
  const sourceIdentity = await fileIdentity(options.source);
  const hashStartedAt = Date.now();
  const cachedSource = await cachedSha256(digestCache, sourceIdentity);
  let sourceDigestPromise: Promise<{ sha256: string }> | undefined = cachedSource ? Promise.resolve({ sha256: cachedSource }) : undefined;
  const sourceDigest = () => {
    sourceDigestPromise ??= sha256FileOffThread(options.source, hashing);
    return sourceDigestPromise;
  };
  sourceDigest().catch((error) => {
    hashFailure ??= error; // awaited for the lockfile; seen at the next stage boundary
  });

  // Plan first: every edition and step is checked before anything is written.
  const plan = await planBuild(loaded, options.source);
  const deterministic = options.deterministic ?? loaded.recipe.options?.deterministic ?? false;
  const clock = deterministic ? deterministicClock() : undefined;
  const imageOptions = clock ? { now: () => clock, hiveNow: () => clock } : {};
  await preflight(options, plan, { isoOut, wimOut, esdOut, swmOut, folderOut });
  aborted();
  const stepDigests = loaded.steps.map((s) => ({
    index: s.index,
    type: s.step.type,
    file: s.file,
    line: s.line,
    sha256: sha256Text(canonicalJson({ step: s.step, changes: plan.editions.map((e) => e.steps.find((p) => p.index === s.index)?.plan.changes ?? []) })),
  }));
  const recipeDigest = sha256Text(canonicalJson(loaded.recipe));
  // What a deterministic build's IDs derive from: everything that decides the output's bytes.
  const contentDigest = async () =>
    sha256Text(canonicalJson({ tool: VERSION, source: (await sourceDigest()).sha256, recipe: recipeDigest, steps: stepDigests.map((d) => d.sha256) }));
  // The workspace depends on the inputs and on where the outputs go (two builds to different
  // places may run at once).
  const inputDigest = sha256Text(
    canonicalJson({
      tool: VERSION,
      source: { path: resolve(options.source), size: sourceInfo.size, modified: sourceInfo.mtimeMs },
      recipe: recipeDigest,
      steps: stepDigests.map((d) => d.sha256),
      outputs: [isoOut, wimOut, esdOut, swmOut, folderOut],
      // A deterministic build must not resume a workspace a non-deterministic one left, or one
      // made with another clock.
      clock: clock?.toISOString() ?? null,
    }),
  );
  const sourceSha256 = async () => {
    const { sha256 } = await sourceDigest();
    // The digest (remembered or computed) is of the file as it was when the build began.
    if ((await fileIdentity(options.source)) !== sourceIdentity) {
      throw new InputError('DF_SOURCE_CHANGED', `${options.source} changed while it was being built from; leave the source alone during a build and build again`);
    }
    if (!cachedSource) await rememberSha256(digestCache, options.source, sourceIdentity, sha256, hashStartedAt);
    return sha256;
  };
  const guidFor = async (what: string) =>
    createHash('sha256')
      .update(`${await contentDigest()}:${what}`)
      .digest()
      .subarray(0, 16);

  // The workspace is named after the inputs, so --resume finds the one an interrupted run left.
  const workRoot = options.workDir ?? tmpdir();
  const work = join(workRoot, `deployforge-build-${inputDigest.slice(0, 16)}`);
  await mkdir(work, { recursive: true });
  const releaseLock = await lockWorkspace(work);
  const warnings: string[] = [];
  let journal: BuildJournal;
  try {
    let resumed = options.resume ? await BuildJournal.open(work).catch(() => undefined) : undefined;
    if (resumed && resumed.inputDigest !== inputDigest) resumed = undefined;
    if (resumed) {
      try {
        await resumed.rollbackTo();
        progress.emit({ phase: `resume after stage ${resumed.entries.length}`, done: resumed.entries.length, unit: 'steps' });
      } catch (error) {
        warnings.push(`the workspace ${work} could not be rolled back (${(error as Error).message.split('\n')[0]}): building from the start`);
        resumed = undefined;
      }
    }
    if (!resumed) {
      if (options.resume) warnings.push(`nothing to resume in ${work}: building from the start`);
      // The journal goes first, so a wipe cut short never leaves a journal naming removed files.
      await rm(join(work, JOURNAL_FILE), { force: true });
      for (const name of await readdir(work)) if (name !== LOCK_FILE) await rm(join(work, name), { recursive: true, force: true });
    }
    journal = resumed ?? (await BuildJournal.create(work, inputDigest));
  } catch (error) {
    await releaseLock();
    throw error;
  }
  const done = (stage: string) => journal.entries.some((e) => e.stage === stage);

  const total = plan.editions.length + 2;
  const step = (n: number) => progress.emit({ phase: 'build', done: n, total, unit: 'steps' });
  let context: BuildStepContext | undefined;
  const workspace = join(work, 'install.wim');
  const bootWorkspace = join(work, 'boot.wim');
  let earlyCopy: ReturnType<typeof startSourceCopy> | undefined;
  try {
    step(0);
    // 1. The install image, out of the ISO (or the WIM given as the source).
    const inner = plan.installImage.slice(plan.installImage.lastIndexOf(':') + 1);
    const head = await FileSource.open(options.source);
    const isIso = !Buffer.from(await head.read(0, Math.min(8, head.size)).finally(() => head.close()))
      .toString('latin1')
      .startsWith('MSWIM');
    if ((isoOut || folderOut) && !isIso) throw new InputError('DF_NEEDS_ISO_SOURCE', 'ISO and folder outputs need an ISO source: give --source X.iso, or write outputs.wim only');
    const sourceWim = isIso ? join(work, `source-${basename(inner)}`) : options.source;
    // A non-solid install.wim is exported raw, straight from the source (no copy out of the
    // ISO, no recompression); an ESD goes the wimlib way, which needs a local copy.
    const openInstall = async <T>(run: (image: ByteSource) => Promise<T>): Promise<T> => {
      const file = await FileSource.open(options.source);
      try {
        return await run(isIso ? await (await openIso(file)).openFile(inner) : file);
      } finally {
        await file.close();
      }
    };
    const raw = !done('export') && (await openInstall(async (image) => rawExportRefusal(await openWim(image)) === null));
    // With an ISO as the only output, install.wim becomes a patch over the source's own (a new
    // header and tables, the edits appended): nothing of the image is copied into the workspace,
    // and the ISO keeps its resources at their sectors. Other outputs need a standalone WIM.
    const exportEntry = journal.last('export') as Extract<JournalEntry, { stage: 'export' }> | undefined;
    const patch = exportEntry ? exportEntry.patch === true : isIso && raw && plan.expectedSize.isoLayout === 'patch' && !wimOut && !esdOut && !swmOut && !folderOut;
    const installBase = () => openFileInIsoPath(options.source, inner);
    const installOptions = patch ? { ...imageOptions, base: installBase } : imageOptions;
    // With install.wim patched, the ISO output is a kernel-side copy of the source with a few
    // sectors changed (remasterIso in place); the copy is begun now, beside the output, so it runs
    // while the editions are edited.
    if (patch && isoOut && !journal.entries.some((e) => e.stage === 'output' && e.kind === 'iso' && e.path === isoOut)) {
      await mkdir(dirname(isoOut), { recursive: true });
      // A killed run's copy goes first, so the folder never holds two.
      await removeStalePartials(isoOut);
      earlyCopy = startSourceCopy(options.source, isoOut, options.signal);
    }
    // (The copy is removed after the export; a workspace rolled back to before the export copies again.)
    if (isIso && !raw && !done('export') && (!done('extract') || !(await exists(sourceWim)))) {
      await openInstall((image) => copyOut(image, sourceWim, options.signal));
      await journal.append({ stage: 'extract' });
    }
    aborted();
    context = new BuildStepContext({
      imageOptions,
      extractBootWim: async () => {
        if (!isIso) return undefined;
        if (await exists(bootWorkspace)) return bootWorkspace;
        const iso = await FileSource.open(options.source);
        try {
          const opened = await openIso(iso);
          const entry = await opened.stat('sources/boot.wim');
          if (!entry || entry.isDirectory) return undefined;
          await copyOut(await opened.openFile('sources/boot.wim'), bootWorkspace, options.signal);
          return bootWorkspace;
        } finally {
          await iso.close();
        }
      },
    });
    if (journal.checkpoints().boot) context.adoptBootWim(bootWorkspace);

    // 2. The kept editions, in order, into a workspace WIM (LZX, Microsoft's chunk size).
    if (!done('export')) {
      await rm(workspace, { force: true });
      const kept = plan.editions.map((e) => e.index);
      if (patch) {
        const names = Object.fromEntries(plan.editions.flatMap((e, i) => (e.rename ? [[i + 1, e.rename]] : [])));
        const guid = deterministic ? await guidFor('install.wim') : undefined;
        await openInstall((image) => exportImagesAsPatch(image, kept, workspace, { names, guid }));
        await journal.append({ stage: 'export', install: await checkpointOf(work, 'install.wim'), patch: true });
      } else if (raw) await openInstall((image) => exportImagesRaw(image, kept, workspace, { progress, signal: options.signal }));
      else await exportImages(sourceWim, kept, workspace, { compress: 'lzx', progress, signal: options.signal });
      if (!patch) {
        for (const [i, edition] of plan.editions.entries()) {
          if (edition.rename) await setImageProperties(workspace, i + 1, { NAME: edition.rename, DISPLAYNAME: edition.rename }, { signal: options.signal });
        }
        // wimlib gives each export a random GUID, the only byte that differs between two exports;
        // a deterministic build derives it from its inputs either way.
        if (deterministic) await setWimGuid(workspace, await guidFor('install.wim'));
        await journal.append({ stage: 'export', install: await checkpointOf(work, 'install.wim') });
      }
    }
    // The copy out of the ISO is not needed once the export is journaled; removing it now lets
    // the kernel drop its pages before they are written to disk, which would slow the ISO pass.
    if (isIso) await rm(sourceWim, { force: true });
    step(1);

    // 3. Each edition: plan and apply every step through one WindowsImage, one commit, then a
    // journal entry with the new checkpoints and what the steps contributed so far.
    const editions: BuildResult['editions'] = [];
    let architecture: Awaited<ReturnType<typeof answerFileArchitecture>> | undefined;
    for (const [i, edition] of plan.editions.entries()) {
      aborted();
      const finished = journal.entries.find((e): e is Extract<JournalEntry, { stage: 'edition' }> => e.stage === 'edition' && e.edition === i + 1);
      if (finished) {
        await context.restore(finished.context);
        editions.push({ index: i + 1, name: edition.rename ?? edition.name, changes: finished.changes, hivesWritten: finished.hivesWritten });
        step(2 + i);
        continue;
      }
      const image = await openWindowsImage(workspace, i + 1, installOptions);
      try {
        let changes = 0;
        architecture ??= await answerFileArchitecture(image);
        for (const [n, loadedStep] of loaded.steps.entries()) {
          aborted();
          progress.emit({ phase: `edition ${i + 1}: step ${n + 1} ${loadedStep.step.type}`, done: n, total: loaded.steps.length + 1, unit: 'steps' });
          const definition = STEP_DEFINITIONS[loadedStep.step.type];
          const stepPlan = await definition.plan(loadedStep.step, image, { baseDir: dirname(loadedStep.file) });
          await definition.apply(stepPlan.changes, image, progress, context);
          changes += stepPlan.changes.length;
        }
        progress.emit({ phase: `edition ${i + 1} commit`, done: loaded.steps.length, total: loaded.steps.length + 1, unit: 'steps' });
        const result = await image.commit();
        const bootTouched = await context.commitBootImage();
        editions.push({ index: i + 1, name: edition.rename ?? edition.name, changes, hivesWritten: result.hivesWritten });
        await journal.append({
          stage: 'edition',
          edition: i + 1,
          install: await checkpointOf(work, 'install.wim'),
          boot: bootTouched ? await checkpointOf(work, 'boot.wim') : undefined,
          context: await context.snapshot(work),
          hivesWritten: result.hivesWritten,
          changes,
        });
      } finally {
        await image.close();
      }
      step(2 + i);
    }

    // 4. The answer file (the unattend step plus what other steps contributed), then boot.wim.
    let answerFile: BuildResult['answerFile'];
    if (!contributionsEmpty(context.unattend)) {
      if (!architecture) {
        const image = await openWindowsImage(workspace, 1, patch ? { base: installBase } : {});
        architecture = await answerFileArchitecture(image).finally(() => image.close());
      }
      const composed = await composeAnswerFile(context.unattend, architecture);
      warnings.push(...composed.warnings);
      answerFile = { ...composed.target, bytes: composed.bytes.length };
      if (!done('answer-file')) {
        if (composed.target.where === 'boot-wim') (await context.bootImage()).writeFile(composed.target.path, composed.bytes);
        else context.media.addFile(composed.target.path, composed.bytes);
        const bootTouched = await context.commitBootImage();
        await journal.append({ stage: 'answer-file', boot: bootTouched ? await checkpointOf(work, 'boot.wim') : undefined, context: await context.snapshot(work) });
      } else await context.restore((journal.last('answer-file') as Extract<JournalEntry, { stage: 'answer-file' }>).context);
    }
    const bootWim = await context.finishBootImage();
    aborted();

    // 5. Outputs, each written under a temporary name and renamed; journaled so a resumed build
    // does not write them again.
    const outputs: BuildResult['outputs'] = [];
    const written = (kind: string, path: string) =>
      journal.entries.filter((e): e is Extract<JournalEntry, { stage: 'output' }> => e.stage === 'output' && e.kind === kind && e.path === path).at(-1);
    const record = async (kind: BuildResult['outputs'][number]['kind'], path: string) => {
      const { size, mtimeMs } = await stat(path);
      outputs.push({ kind, path, size });
      await journal.append({ stage: 'output', kind, path, size, modified: mtimeMs });
    };
    const reuse = async (kind: BuildResult['outputs'][number]['kind'], path: string) => {
      const entry = written(kind, path);
      if (entry && (await outputStillThere(entry))) {
        outputs.push({ kind, path, size: entry.size });
        return true;
      }
      await mkdir(dirname(path), { recursive: true });
      // (Not the copy of the source this build started for the ISO.)
      await removeStalePartials(path, earlyCopy ? [earlyCopy.path] : []);
      return false;
    };
    // The media changes: the new install image (an ESD source gets an install.wim), boot.wim,
    // files steps added and the recipe's media entries.
    const mediaChanges = async () => {
      const isEsd = inner.toLowerCase().endsWith('.esd');
      const add: Record<string, string> = isEsd ? { 'sources/install.wim': workspace } : {};
      // The recipe's media entries go through the same overlay as the steps' files, so a clash
      // (the recipe's own autounattend.xml and the generated one) is an error, not a silent pick.
      for (const media of loaded.recipe.media ?? []) {
        const from = resolve(recipeDir, media.from);
        if (!(await stat(from)).isFile()) throw new InputError('DF_MEDIA_NOT_FILE', `media entry ${media.from}: only files can be added to the media so far`);
        context?.media.addFile(/[\\/]$/.test(media.to) ? `${media.to}${basename(from)}` : media.to, from);
      }
      Object.assign(add, await context?.media.materialize(work));
      const replace: Record<string, string> = { ...(isEsd || patch ? {} : { [inner]: workspace }), ...(bootWim ? { 'sources/boot.wim': bootWim } : {}) };
      // Files steps put over ones the source already has (an empty appraiserres.dll) replace them.
      const iso = await FileSource.open(options.source);
      try {
        const opened = await openIso(iso);
        for (const path of Object.keys(add)) {
          const entry = await opened.stat(path);
          if (entry && !entry.isDirectory) {
            replace[path] = add[path];
            delete add[path];
          }
        }
      } finally {
        await iso.close();
      }
      return { replace, remove: isEsd ? [inner] : [], add, patch: patch ? { [inner]: { local: workspace, head: WIM_HEADER_SIZE } } : undefined };
    };
    // Digests of outputs hashed while they were written (no second read for the lockfile).
    const digests = new Map<string, string>();
    if (isoOut && !(await reuse('iso', isoOut))) {
      const uefiOnly = outputsSpec.iso?.mode === 'uefi';
      // Hashed on a worker thread as it is written (a bounded backlog, no second read of the ISO).
      const changes = await mediaChanges();
      const hash = startStreamHasher();
      await remasterIso(options.source, isoOut, {
        onChunk: (chunk) => hash.update(chunk),
        // Runs kept from the source are read by the hash worker itself.
        onSourceRange: (offset, length) => hash.updateFromFile(options.source, offset, length),
        sourceCopy: earlyCopy,
        signal: options.signal,
        ...changes,
        label: loaded.recipe.outputs?.iso?.label ?? loaded.recipe.options?.label,
        timestamp: clock,
        // El Torito platform 0xEF is UEFI (El Torito 1.0 as extended by the UEFI spec, 12.3.2.1).
        bootPlatforms: uefiOnly ? [0xef] : undefined,
        progress,
      })
        .catch((error) => {
          hash.abort();
          throw error;
        })
        .finally(() => earlyCopy?.discard()); // an unused copy (a fresh layout) goes at once
      digests.set(isoOut, await hash.digest());
      await record('iso', isoOut);
    }
    if (folderOut && !(await reuse('folder', folderOut))) {
      const { bytes } = await writeMediaFolder(options.source, folderOut, { ...(await mediaChanges()), fat32: outputsSpec.folder?.fat32, progress });
      outputs.push({ kind: 'folder', path: folderOut, size: bytes });
      await journal.append({ stage: 'output', kind: 'folder', path: folderOut, size: bytes, fingerprint: await folderFingerprint(folderOut) });
    }
    aborted();
    if (wimOut && !(await reuse('wim', wimOut))) {
      await withAtomicOutput(wimOut, (partial) => copyFile(workspace, partial));
      await record('wim', wimOut);
    }
    if (esdOut && !(await reuse('esd', esdOut))) {
      // Solid LZMS with Microsoft's 64 MiB solid chunks (the wimlib driver's default for .esd).
      const partial = join(work, 'install.esd');
      await rm(partial, { force: true });
      await exportImages(workspace, 'all', partial, { solid: true, compress: 'lzms', progress, signal: options.signal });
      if (deterministic) await setWimGuid(partial, await guidFor('install.esd'));
      await withAtomicOutput(esdOut, (target) => copyFile(partial, target));
      await record('esd', esdOut);
    }
    if (swmOut) {
      // Parts of at most 4,000 MiB by default, so each fits a FAT32 stick. Every part is journaled,
      // so a resumed build reuses the whole set or none of it and `rollback` removes them all.
      const journaled = journal.entries.filter((e): e is Extract<JournalEntry, { stage: 'output' }> => e.stage === 'output' && e.kind === 'swm');
      const still = await Promise.all(journaled.map((e) => outputStillThere(e)));
      if (journaled.length > 0 && journaled[0].path === swmOut && still.every(Boolean)) {
        for (const e of journaled) outputs.push({ kind: 'swm', path: e.path, size: e.size });
      } else {
        await mkdir(dirname(swmOut), { recursive: true });
        // Parts an earlier, larger split left (NAME5.swm …) would otherwise look like part of this set.
        for (const stale of (await listSwmParts(swmOut)).parts) await rm(stale, { force: true });
        const { parts } = await splitWim(workspace, swmOut, { partSizeMiB: outputsSpec.swm?.partSizeMb ?? 4000, progress, signal: options.signal });
        for (const part of parts) await record('swm', part);
      }
    }
    if (!isoOut && !folderOut && (context.media.size > 0 || bootWim)) warnings.push('steps added files to the media or changed boot.wim, which only an ISO output carries');

    // 6. The lockfile: inputs, per-step digests, and each output's digest.
    const lockfile = options.lockPath ?? defaultLockPath(loaded.file, options.outDir);
    const hashed = [];
    for (const output of outputs) {
      // A folder is recorded by a digest of its files' paths and digests.
      const sha256 = digests.get(output.path) ?? (output.kind === 'folder' ? await sha256Folder(output.path) : (await sha256File(output.path, progress, 'hash output')).sha256);
      hashed.push({ kind: output.kind, path: output.path, size: output.size, sha256 });
    }
    await mkdir(dirname(lockfile), { recursive: true });
    await writeLockfile(lockfile, {
      lockfileVersion: LOCKFILE_VERSION,
      tool: { name: 'deployforge', version: VERSION },
      catalogs: await catalogDigests(),
      deterministic,
      source: { path: options.source, size: sourceInfo.size, sha256: await sourceSha256() },
      recipe: { file: loaded.file, sha256: recipeDigest, resolved: loaded.recipe },
      steps: stepDigests,
      editions: plan.editions.map((e, i) => ({ index: i + 1, sourceIndex: e.index, name: e.rename ?? e.name })),
      outputs: hashed,
    });
    step(total);
    await earlyCopy?.discard();
    await context.abandon();
    // Emptied before the lock goes, so no other build can pick the workspace up half removed.
    for (const name of await readdir(work)) if (name !== LOCK_FILE) await rm(join(work, name), { recursive: true, force: true });
    await releaseLock();
    await rmdir(work).catch(() => {}); // another build may have locked it meanwhile
    if (patch && plan.editions.length < plan.sourceEditions) {
      warnings.push(
        `install.wim keeps the data of the ${plan.sourceEditions - plan.editions.length} dropped edition(s), unreferenced (as after DISM /Delete-Image); set options.compact: true for an install.wim with only the kept editions`,
      );
    }
    return { outputs, editions, answerFile, lockfile, installLayout: patch ? 'patch' : 'compact', warnings };
  } catch (error) {
    // Back to the last finished stage, so the workspace is consistent for --resume.
    await earlyCopy?.discard().catch(() => {});
    await context?.abandon().catch(() => {});
    await journal.rollbackTo().catch(() => {});
    await releaseLock();
    throw withResumeHint(error, work);
  }
}

/** Tools and free space, checked before anything is written. */
async function preflight(options: BuildOptions, plan: BuildPlan, outs: Record<'isoOut' | 'wimOut' | 'esdOut' | 'swmOut' | 'folderOut', string | undefined>): Promise<void> {
  await checkTools(['wimlib-imagex']);
  const sourceSize = (await stat(options.source)).size;
  let installSize = sourceSize;
  let bootSize = 0;
  const inner = plan.installImage.slice(plan.installImage.lastIndexOf(':') + 1);
  if (inner !== plan.installImage) {
    const source = await FileSource.open(options.source);
    try {
      const iso = await openIso(source);
      installSize = (await iso.stat(inner))?.size ?? sourceSize;
      bootSize = (await iso.stat('sources/boot.wim'))?.size ?? 0;
    } finally {
      await source.close();
    }
  }
  // The plan's estimate of the new install image (an ESD source grows when exported to LZX); the
  // larger of it and the source image, since the steps add data too.
  const newImage = Math.max(installSize, plan.expectedSize.installImage);
  const work = options.workDir ?? tmpdir();
  // The workspace holds a copy of the install image (an ESD), the export of the kept editions and,
  // when a step edits it, a copy of boot.wim.
  // An ISO-only build over a non-solid source keeps install.wim as a patch (new tables and the
  // edits only), so the workspace holds no copy of the image.
  const patch = plan.expectedSize.isoLayout === 'patch' && !outs.wimOut && !outs.esdOut && !outs.swmOut && !outs.folderOut;
  // (The patch holds the new tables and the edits: plan.expectedSize.edits, plus a margin.)
  const patchBytes = plan.expectedSize.edits + 16 * 1024 * 1024;
  const needs: SpaceNeed[] = [{ folder: work, bytes: (patch ? patchBytes : (inner !== plan.installImage ? installSize : 0) + newImage) + bootSize, what: 'workspace' }];
  const isoSize = Math.max(sourceSize, plan.expectedSize.iso ?? 0);
  if (outs.isoOut) needs.push({ folder: dirname(outs.isoOut), bytes: isoSize, what: 'output ISO' });
  if (outs.wimOut) needs.push({ folder: dirname(outs.wimOut), bytes: newImage, what: 'output WIM' });
  if (outs.esdOut) needs.push({ folder: dirname(outs.esdOut), bytes: newImage, what: 'output ESD' }, { folder: work, bytes: newImage, what: 'ESD export' });
  if (outs.folderOut) needs.push({ folder: dirname(outs.folderOut), bytes: isoSize, what: 'output folder' });
  if (outs.swmOut) needs.push({ folder: dirname(outs.swmOut), bytes: newImage, what: 'output SWM parts' });
  await checkFreeSpace(needs);
}

const LOCK_FILE = 'lock';

/** One build per workspace: a lock file holding the owner's pid, created whole (written to a
 *  temporary name and hard-linked into place, so it is never seen empty); a dead owner's lock is
 *  taken over by renaming it away first, so two builds cannot both take the same stale lock. */
async function lockWorkspace(work: string): Promise<() => Promise<void>> {
  const path = join(work, LOCK_FILE);
  const mine = join(work, `.lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(mine, String(process.pid));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(mine, path);
        return () => rm(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number(await readFile(path, 'utf8').catch(() => ''));
        // Our own pid is a live owner too: another build in this process holds the workspace.
        if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || isAlive(owner))) {
          throw new OperationError('DF_BUILD_BUSY', `another build (pid ${owner}) is using ${work}; wait for it or stop it`);
        }
        const stale = `${path}.stale.${randomBytes(4).toString('hex')}`;
        await rename(path, stale).catch(() => {}); // only one taker wins the rename
        await rm(stale, { force: true });
      }
    }
    throw new OperationError('DF_BUILD_BUSY', `cannot lock ${work}: other builds keep taking it`);
  } finally {
    await rm(mine, { force: true });
  }
}

/** Takes the lock of a workspace for a command other than build (rollback). */
export async function withWorkspaceLock<T>(work: string, run: () => Promise<T>): Promise<T> {
  const release = await lockWorkspace(work);
  try {
    return await run();
  } finally {
    await release();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The parts of a split WIM set that splitWim wrote: NAME.swm, NAME2.swm, … */
async function listSwmParts(first: string): Promise<{ parts: string[] }> {
  const stem = first.replace(/\.swm$/i, '');
  const parts = [first];
  for (let n = 2; await exists(`${stem}${n}.swm`); n++) parts.push(`${stem}${n}.swm`);
  return { parts };
}

function withResumeHint(error: unknown, work: string): unknown {
  if (error instanceof DeployForgeError && (error.kind === 'operation' || error.kind === 'environment' || error.code === 'ABORT_ERR')) {
    return new DeployForgeError(
      error.kind,
      error.code,
      `${error.message} (the workspace ${work} was rolled back to its last finished stage; rerun with --resume to continue)`,
      error.details,
    );
  }
  if ((error as Error)?.name === 'AbortError') {
    return new OperationError(
      'DF_BUILD_INTERRUPTED',
      `the build was interrupted; the workspace ${work} was rolled back to its last finished stage: rerun with --resume to continue`,
    );
  }
  return error;
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
