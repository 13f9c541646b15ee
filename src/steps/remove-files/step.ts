// The `remove-files` step: removes files and folders from an edition. Paths may use `*` (any
// characters within one name) and `**` (any number of folders; a trailing `/**` means everything
// inside the folder, not the folder). plan() lists what exists and would go, with sizes; a path
// that matches nothing is a warning, not an error. Names match case-insensitively, as on Windows.
import { foldName } from '../../formats/wim/index.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { type RemoveFilesStep, RemoveFilesStepSchema } from '../../recipe/schema.js';
import { defineStep, type StepPlan } from '../define-step.js';

export interface RemoveFilesChange {
  path: string;
  isDirectory: boolean;
  /** Bytes of the file, or of every file below the folder. */
  size: number;
  /** 1 for a file; files below a folder. */
  files: number;
}

const segmentsOf = (path: string) => path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');

function segmentMatcher(segment: string): (name: string) => boolean {
  if (!segment.includes('*')) {
    const folded = foldName(segment);
    return (name) => foldName(name) === folded;
  }
  const source = segment
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 'iu');
  return (name) => re.test(name);
}

/** Paths in the staged image matching `pattern`, shallowest first; nothing below a match is listed. */
async function expand(image: WindowsImage, pattern: string): Promise<string[]> {
  const segments = segmentsOf(pattern);
  const out: string[] = [];
  const seen = new Set<string>();
  const emit = (path: string) => {
    const key = foldName(path);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(path);
    }
  };
  const walk = async (dir: string, rest: string[]): Promise<void> => {
    if (rest.length === 0) return;
    const [head, ...tail] = rest;
    if (head === '**') {
      // Zero folders, unless the ** ends the pattern: then it means "everything inside".
      if (tail.length > 0) await walk(dir, tail);
      if (tail.length === 0) {
        for (const e of await image.list(dir)) emit(`${dir === '/' ? '' : dir}/${e.name}`);
        return;
      }
      for (const e of await image.list(dir)) if (e.isDirectory) await walk(`${dir === '/' ? '' : dir}/${e.name}`, rest);
      return;
    }
    const matches = segmentMatcher(head);
    if (!head.includes('*')) {
      const path = `${dir === '/' ? '' : dir}/${head}`;
      const st = image.stat(path);
      if (!st) return;
      if (tail.length === 0) emit(st.path);
      else if (st.isDirectory) await walk(st.path, tail);
      return;
    }
    for (const e of await image.list(dir)) {
      if (!matches(e.name)) continue;
      const path = `${dir === '/' ? '' : dir}/${e.name}`;
      if (tail.length === 0) emit(path);
      else if (e.isDirectory) await walk(path, tail);
    }
  };
  await walk('/', segments);
  // A match inside another match goes with it.
  out.sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const p of out) if (!kept.some((k) => foldName(p).startsWith(`${foldName(k)}/`))) kept.push(p);
  return kept;
}

async function sizeOf(image: WindowsImage, path: string): Promise<{ size: number; files: number }> {
  const st = image.stat(path);
  if (!st) return { size: 0, files: 0 };
  if (!st.isDirectory) return { size: st.size, files: 1 };
  let size = 0;
  let files = 0;
  for (const e of await image.list(path)) {
    const inner = await sizeOf(image, `${st.path === '/' ? '' : st.path}/${e.name}`);
    size += inner.size;
    files += inner.files;
  }
  return { size, files };
}

async function planRemoveFiles(options: RemoveFilesStep, image: WindowsImage): Promise<StepPlan<RemoveFilesChange>> {
  const changes: RemoveFilesChange[] = [];
  const warnings: string[] = [];
  const planned = new Set<string>();
  for (const pattern of options.paths) {
    if (segmentsOf(pattern).length === 0) {
      warnings.push(`${pattern} is the root of the image; it cannot be removed`);
      continue;
    }
    const matches = await expand(image, pattern);
    if (matches.length === 0) warnings.push(`${pattern} matches nothing in image ${image.index}; nothing to remove`);
    for (const path of matches) {
      const key = foldName(path);
      if ([...planned].some((p) => key === p || key.startsWith(`${p}/`))) continue;
      planned.add(key);
      const st = image.stat(path);
      changes.push({ path, isDirectory: st?.isDirectory ?? false, ...(await sizeOf(image, path)) });
    }
  }
  return { changes, warnings };
}

export const removeFilesStep = defineStep<RemoveFilesStep, RemoveFilesChange>({
  id: 'remove-files',
  schema: RemoveFilesStepSchema,
  plan(options, image) {
    return planRemoveFiles(options, image);
  },
  async apply(changes, image, progress) {
    let done = 0;
    for (const change of changes) {
      if (image.exists(change.path)) image.removeFile(change.path);
      progress.emit({ phase: 'remove-files', done: ++done, total: changes.length, unit: 'files' });
    }
  },
});
