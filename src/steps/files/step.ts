// The `files` step: adds or replaces files in an edition from a local file or folder. plan()
// lists each file as added or replaced with its size (and the size it replaces); apply() stages
// them on the image, which streams them from disk at commit. A replaced file keeps its security
// descriptor and attributes. Symbolic links and special files in the source are skipped.
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { type FilesStep, FilesStepSchema } from '../../recipe/schema.js';
import { defineStep, type StepPlan } from '../define-step.js';

export type FilesChange = { kind: 'add' | 'replace'; path: string; source: string; size: number; oldSize?: number } | { kind: 'mkdir'; path: string };

const joinImage = (dir: string, name: string) => `${dir.replace(/[\\/]+$/, '')}/${name}`;
const toSlashes = (p: string) => p.replace(/\\/g, '/');

async function planFiles(options: FilesStep, image: WindowsImage, baseDir: string): Promise<StepPlan<FilesChange>> {
  const from = resolve(baseDir, options.from);
  const to = toSlashes(options.to);
  const changes: FilesChange[] = [];
  const warnings: string[] = [];
  const addFile = (path: string, source: string, size: number) => {
    const existing = image.stat(path);
    if (existing?.isDirectory) {
      throw new InputError('DF_STEP_FILES_CONFLICT', `${path} is a folder in image ${image.index}; a file cannot replace it (from ${source})`, { path, source });
    }
    changes.push(existing ? { kind: 'replace', path, source, size, oldSize: existing.size } : { kind: 'add', path, source, size });
  };
  const addDir = (path: string) => {
    const existing = image.stat(path);
    if (existing && !existing.isDirectory) {
      throw new InputError('DF_STEP_FILES_CONFLICT', `${path} is a file in image ${image.index}; a folder cannot replace it`, { path });
    }
    if (!existing) changes.push({ kind: 'mkdir', path });
  };
  const walk = async (local: string, inImage: string): Promise<void> => {
    addDir(inImage);
    for (const name of (await readdir(local)).sort()) {
      const source = join(local, name);
      const st = await lstat(source);
      if (st.isDirectory()) await walk(source, joinImage(inImage, name));
      else if (st.isFile()) addFile(joinImage(inImage, name), source, st.size);
      else warnings.push(`${source} is not a regular file or folder; skipped`);
    }
  };

  const st = await stat(from);
  if (st.isDirectory()) {
    await walk(from, to);
  } else {
    const intoFolder = /[\\/]$/.test(options.to) || image.stat(to)?.isDirectory === true;
    addFile(intoFolder ? joinImage(to, basename(from)) : to, from, st.size);
  }
  return { changes, warnings };
}

export const filesStep = defineStep<FilesStep, FilesChange>({
  id: 'files',
  schema: FilesStepSchema,
  plan(options, image, context) {
    return planFiles(options, image, context.baseDir);
  },
  async apply(changes, image, progress) {
    let done = 0;
    for (const change of changes) {
      if (change.kind === 'mkdir') image.mkdir(change.path);
      else image.copyFileIn(change.path, change.source);
      progress.emit({ phase: 'files', done: ++done, total: changes.length, unit: 'files' });
    }
  },
});
