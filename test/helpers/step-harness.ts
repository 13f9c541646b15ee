// What the step tests share: a temporary folder per test file, fresh copies of the sample WIMs in
// it, running a step the way a build does, and reading the committed WIM back with tools nobody
// here wrote (wimlib-imagex, hivexget), so what a step wrote is not checked by our reader alone.
import { createHash } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { after, before } from 'node:test';
import { BuildStepContext } from '../../src/build/step-context.js';
import { openWimEdit } from '../../src/formats/wim/index.js';
import type { WindowsImage } from '../../src/image/windows-image.js';
import { silentProgress } from '../../src/progress.js';
import { emptyUnattendContributions, type StepApplyContext, type StepDefinition } from '../../src/steps/define-step.js';
import { runTool } from '../../src/util/exec.js';
import { corpusPath, makeTempDir } from './corpus.js';
import { makeSampleInstallWim } from './fixtures.js';

/**
 * A path a `before` hook makes. `ready` settles when it is made: Node 20 starts the next top-level
 * `before` hook without waiting for this one, so a hook that needs the path awaits `ready`.
 * Tests run after every hook and read `path`; reading it any earlier throws.
 */
export interface Later {
  readonly path: string;
  readonly ready: Promise<string>;
}

/** A Later and the before hook that fills it with what `make` returns. */
function beforeHookMakes(what: string, make: () => Promise<string>): Later {
  let value: string | undefined;
  let settle!: { resolve(path: string): void; reject(error: unknown): void };
  const ready = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The hook reports a failure itself; `ready` only passes it on to hooks that wait for it.
  ready.catch(() => {});
  before(async () => {
    try {
      value = await make();
      settle.resolve(value);
    } catch (error) {
      settle.reject(error);
      throw error;
    }
  });
  return {
    get path() {
      if (value === undefined) throw new Error(`${what} is made in a before hook: read it in tests, or await ready in a hook`);
      return value;
    },
    ready,
  };
}

/**
 * A temporary folder made before the tests of the current suite (the file, when called at top
 * level) and removed after them, so every copy and extraction the tests make goes with it.
 */
export function useTempDir(prefix: string): Later {
  let cleanup: (() => Promise<void>) | undefined;
  const dir = beforeHookMakes('the temporary folder', async () => {
    const tmp = await makeTempDir(prefix);
    cleanup = tmp.cleanup;
    return tmp.path;
  });
  after(async () => {
    await cleanup?.();
  });
  return dir;
}

/** The sample media's install.wim (real hives), made once in `dir` before the tests: it takes seconds, so tests copy it rather than make their own. */
export function useSampleInstallWim(dir: Later, editions?: number): Later {
  return beforeHookMakes('the sample install.wim', async () => makeSampleInstallWim(await dir.ready, editions));
}

let made = 0;

/** A path in `dir` no earlier call gave out: the tests of a file make many copies and extractions in one folder. */
export function freshPath(dir: string, stem: string, suffix = ''): string {
  return join(dir, `${stem}-${++made}${suffix}`);
}

/** A fresh copy of `wim` in `dir`, so a test that commits never changes what another test reads. */
export async function copyWim(dir: string, wim: string, stem = 'install'): Promise<string> {
  const out = freshPath(dir, stem, '.wim');
  await copyFile(wim, out);
  return out;
}

/** SHA-256 of a file, to show that plan left a WIM byte-identical. */
export async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Parses `options` with the step's own schema (filling its defaults) and plans them, as a build does. */
export async function planStep<O, C>(step: StepDefinition<O, C>, options: unknown, image: WindowsImage, baseDir: string) {
  return step.plan(step.schema.parse(options), image, { baseDir });
}

/** Plans `options` and applies the plan to `image` (uncommitted), as a build does for one edition; returns the plan. */
export async function runStep<O, C>(step: StepDefinition<O, C>, options: unknown, image: WindowsImage, baseDir: string) {
  const plan = await planStep(step, options, image, baseDir);
  await step.apply(plan.changes, image, silentProgress, new BuildStepContext());
  return plan;
}

/** An apply context for steps that only change the edition's image: adding a media file or opening boot.wim throws, so the test fails. */
export function imageOnlyContext(): StepApplyContext {
  return {
    media: {
      addFile() {
        throw new Error('this step adds nothing to the media');
      },
    },
    unattend: emptyUnattendContributions(),
    bootImage: async () => {
      throw new Error('this step does not edit boot.wim');
    },
  };
}

/**
 * Extracts `paths` of image `index` with wimlib into a new folder in `dir` and returns the folder.
 * --no-acls: the tests read contents; file metadata is checked with wimlibDetailed on the WIM.
 */
export async function wimlibExtract(dir: string, wim: string, index: number, ...paths: string[]): Promise<string> {
  const dest = freshPath(dir, 'extract');
  await runTool('wimlib-imagex', ['extract', wim, String(index), ...paths, `--dest-dir=${dest}`, '--no-acls']);
  return dest;
}

/** Extracts one file (a hive, a script) with wimlib and returns where it is on disk. */
export async function wimlibExtractFile(dir: string, wim: string, index: number, path: string): Promise<string> {
  return join(await wimlibExtract(dir, wim, index, path), posix.basename(path));
}

/** The bytes of one file of the image, as wimlib extracts them. */
export async function wimlibCat(dir: string, wim: string, index: number, path: string): Promise<Buffer> {
  return readFile(await wimlibExtractFile(dir, wim, index, path));
}

/** Paths below `path` in the image (not `path` itself), sorted, as `wimlib-imagex dir` lists them. */
export async function wimlibDir(wim: string, index: number, path: string): Promise<string[]> {
  const { stdout } = await runTool('wimlib-imagex', ['dir', wim, String(index), `--path=${path}`]);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${path}/`))
    .sort();
}

/** Attributes and security descriptor of one file, as `wimlib-imagex dir --detailed` prints them: rewriting a hive must keep both. */
export async function wimlibDetailed(wim: string, index: number, path: string): Promise<{ attributes: string; sd: string }> {
  const text = (await runTool('wimlib-imagex', ['dir', wim, String(index), `--path=${path}`, '--detailed'])).stdout;
  const field = (name: string) => new RegExp(`^${name}\\s+= (.*)$`, 'm').exec(text)?.[1] ?? '';
  return { attributes: field('Attributes'), sd: field('Security Descriptor') };
}

/** A value of an extracted hive as hivexget prints it; rejects when the key or value is missing. */
export async function hivexget(hive: string, key: string, value: string): Promise<string> {
  return (await runTool('hivexget', [hive, key, value])).stdout.trim();
}

/**
 * A one-image WIM whose hive file at `hivePath` carries an NT security descriptor and holds that
 * hive of image 1 of `from`. The sample's hive files have none, so a test could not otherwise see
 * a descriptor survive a hive rewrite; the corpus's empty_dacl.wim has one on its /file, which is
 * moved there.
 */
export async function wimWithSecuredHive(dir: string, from: string, hivePath: string): Promise<string> {
  const hiveBytes = await readFile(await wimlibExtractFile(dir, from, 1, hivePath));
  const wim = freshPath(dir, 'sd', '.wim');
  await runTool('wimlib-imagex', ['export', corpusPath('wim/wimlib/empty_dacl.wim'), '1', wim, '--compress=none']);
  const prep = await openWimEdit(wim, 1);
  prep.mkdir(posix.dirname(hivePath));
  prep.rename('/file', hivePath);
  prep.replaceFile(hivePath, hiveBytes);
  await prep.commit();
  return wim;
}
