// Paths into images, as the reg, unattend and wim commands take them: `X.iso:install:6:/Windows/…`
// (or `boot`, or an explicit `X.iso:/sources/x.wim:6:/…`), `X.wim:6:/Users/Default/NTUSER.DAT`,
// `X.iso:/autounattend.xml` (a file on the media) and plain files. Reads stream from the ISO or WIM
// without extracting anything; a write is a one-step build into a new image named by --out, never
// an edit of the source. It does not edit split WIMs or write into a WIM inside a WIM.
import { statSync } from 'node:fs';
import { copyFile, mkdtemp, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import type { IsoImage } from '../formats/iso/index.js';
import type { WimCommitResult, WimEdit, WimFile, WimImage } from '../formats/wim/index.js';
import type { ProgressSink } from '../progress.js';
import { type ByteSource, FileSource } from '../util/byte-source.js';
import { isSameFile, readWholeFile, withAtomicOutput, writeFileAtomic } from '../util/fs.js';

/** The ISO and WIM engines, loaded when a path inside an image is used: a plain hive file needs
 *  none of them, and loading them was most of the `reg` command's start-up. */
type Engines = typeof import('../formats/iso/index.js') &
  typeof import('../formats/wim/index.js') &
  typeof import('../image/windows-image.js') &
  typeof import('../media/remaster.js');
let enginesLoaded: Promise<Engines> | undefined;
function engines(): Promise<Engines> {
  enginesLoaded ??= Promise.all([import('../formats/iso/index.js'), import('../formats/wim/index.js'), import('../image/windows-image.js'), import('../media/remaster.js')]).then(
    ([iso, wim, windowsImage, remaster]) => ({ ...iso, ...wim, ...windowsImage, ...remaster }),
  );
  return enginesLoaded;
}

/** One image of a WIM on disk, or of a WIM inside an ISO. */
export interface WimLocation {
  /** The file on disk, as given: a WIM, ESD or SWM, or the ISO holding the WIM. */
  file: string;
  /** Inside an ISO: the WIM's path on the media, or the alias `install` / `boot`. */
  inIso?: string;
  /** 1-based image index. */
  index: number;
}

export type ImagePath =
  /** A file on disk. */
  | { kind: 'plain'; text: string; path: string }
  /** A file on an ISO's media (`X.iso:/autounattend.xml`). */
  | { kind: 'media'; text: string; iso: string; path: string }
  /** A file inside one image of a WIM (`X.wim:6:/Windows/…`, `X.iso:install:6:/Windows/…`). */
  | { kind: 'image'; text: string; wim: WimLocation; path: string };

export interface ParseImagePathOptions {
  /** Folder relative paths are resolved in (default: the process's). */
  cwd?: string;
  /** Whether a path names an existing file; injectable for tests (default: stat the file). */
  isFile?: (path: string) => boolean;
}

/** The WIMs the aliases name on Windows install media (an `install.esd` stands in for install.wim). */
const ALIASES: Record<string, string[]> = {
  install: ['sources/install.wim', 'sources/install.esd'],
  boot: ['sources/boot.wim'],
};

const CONTAINER = /\.(iso|wim|esd|swm):/gi;
const SYNTAX_HELP = 'FILE.iso:install:INDEX:/path, FILE.iso:/sources/x.wim:INDEX:/path, FILE.iso:/path, FILE.wim:INDEX:/path or a plain file';

function defaultIsFile(cwd: string): (path: string) => boolean {
  return (path) => {
    try {
      return statSync(resolve(cwd, path)).isFile();
    } catch {
      return false;
    }
  };
}

/** '\\Windows\\x' or 'Windows/x' → '/Windows/x'. */
function normalizeInner(path: string): string {
  return `/${path
    .split(/[\\/]+/)
    .filter((p) => p !== '' && p !== '.')
    .join('/')}`;
}

function syntaxError(text: string, why: string): UsageError {
  return new UsageError('DF_IMAGE_PATH_SYNTAX', `'${text}': ${why}`, { text });
}

/** Where `text` may split into a container file and what follows it: after each `.iso:`, `.wim:`,
 *  `.esd:` or `.swm:`. An existing container wins; otherwise the first split. */
function splitContainer(text: string, isFile: (path: string) => boolean): { file: string; type: string; rest: string } | undefined {
  const candidates: { file: string; type: string; rest: string }[] = [];
  for (const match of text.matchAll(CONTAINER)) {
    const end = (match.index ?? 0) + match[0].length;
    candidates.push({ file: text.slice(0, end - 1), type: match[1].toLowerCase(), rest: text.slice(end) });
  }
  return candidates.find((c) => isFile(c.file)) ?? candidates[0];
}

/**
 * A WIM image as the wim commands name it: `install.wim:6`, `install.wim` (image 1), a split
 * set's first part, or a WIM in an ISO (`X.iso:sources/install.wim:6`, `X.iso:install:6`).
 */
export function parseWimLocation(text: string, options: ParseImagePathOptions = {}): WimLocation {
  const isFile = options.isFile ?? defaultIsFile(options.cwd ?? process.cwd());
  if (isFile(text)) return { file: text, index: 1 };
  const split = splitContainer(text, isFile);
  if (split?.type === 'iso' && split.rest !== '') {
    const match = /^(.+?)(?::(\d+))?$/.exec(split.rest) as RegExpExecArray;
    const inner = match[1].toLowerCase() in ALIASES ? match[1].toLowerCase() : match[1];
    return { file: split.file, inIso: inner, index: match[2] ? Number(match[2]) : 1 };
  }
  const match = /^(.*):(\d+)$/.exec(text);
  if (!match) return { file: text, index: 1 };
  return { file: match[1], index: Number(match[2]) };
}

/** Parses a reference to a file: plain, on an ISO's media, or inside a WIM image (see the file
 *  comment). A string that names an existing file is always that plain file. */
export function parseImagePath(text: string, options: ParseImagePathOptions = {}): ImagePath {
  const isFile = options.isFile ?? defaultIsFile(options.cwd ?? process.cwd());
  if (isFile(text)) return { kind: 'plain', text, path: text };
  const split = splitContainer(text, isFile);
  if (!split) return { kind: 'plain', text, path: text };
  const { file, type, rest } = split;
  const inner = (path: string) => {
    const normal = normalizeInner(path);
    if (normal === '/') throw syntaxError(text, 'give the path of a file inside the image after the last colon');
    return normal;
  };
  if (type === 'iso') {
    // install:6:/path, boot:2:/path
    const alias = /^(install|boot)(?::(\d*))?(?::(.*))?$/i.exec(rest);
    if (alias) {
      const name = alias[1].toLowerCase();
      if (!alias[2]) throw syntaxError(text, `give the image index: ${file}:${name}:1:/path`);
      if (alias[3] === undefined) throw syntaxError(text, `names an image, not a file in it: add the path, e.g. ${file}:${name}:${alias[2]}:/Windows/System32/config/SOFTWARE`);
      return { kind: 'image', text, wim: { file, inIso: name, index: Number(alias[2]) }, path: inner(alias[3]) };
    }
    // /sources/install.wim:6:/path
    const explicit = /^(.+?\.(?:wim|esd|swm))(?::(\d*))?(?::(.*))?$/i.exec(rest);
    if (explicit && (explicit[2] !== undefined || explicit[3] !== undefined)) {
      const wim = normalizeInner(explicit[1]).slice(1);
      if (!explicit[2]) throw syntaxError(text, `give the image index: ${file}:${explicit[1]}:1:/path`);
      if (explicit[3] === undefined)
        throw syntaxError(text, `names an image, not a file in it: add the path, e.g. ${file}:${explicit[1]}:${explicit[2]}:/Windows/System32/config/SOFTWARE`);
      return { kind: 'image', text, wim: { file, inIso: wim, index: Number(explicit[2]) }, path: inner(explicit[3]) };
    }
    // /autounattend.xml (a file on the media, the WIM file itself included)
    return { kind: 'media', text, iso: file, path: inner(rest) };
  }
  const image = /^(\d+):(.*)$/.exec(rest);
  if (image) return { kind: 'image', text, wim: { file, index: Number(image[1]) }, path: inner(image[2]) };
  if (/^\d+$/.test(rest)) throw syntaxError(text, `names an image, not a file in it: add the path, e.g. ${text}:/Windows/System32/config/SOFTWARE`);
  if (/^[\\/]/.test(rest)) throw syntaxError(text, `give the image index: ${file}:1:${rest}`);
  throw syntaxError(text, `is neither an existing file nor a path into an image (${SYNTAX_HELP})`);
}

/** True when the reference points into an ISO or a WIM rather than at a file on disk. */
export function isInImage(ref: ImagePath): boolean {
  return ref.kind !== 'plain';
}

/** The file on disk a reference reads from. */
export function sourceFileOf(ref: ImagePath): string {
  return ref.kind === 'plain' ? ref.path : ref.kind === 'media' ? ref.iso : ref.wim.file;
}

/** 'sources/install.wim in X.iso', or the WIM's own name. */
function describeWim(location: WimLocation, inner?: string): string {
  return location.inIso !== undefined ? `${inner ?? location.inIso} in ${location.file}` : location.file;
}

/** The WIM's path on the media: the alias resolved (install.wim, else install.esd). */
async function findWimInIso(iso: IsoImage, location: WimLocation): Promise<string> {
  const inIso = location.inIso as string;
  const candidates = ALIASES[inIso] ?? [inIso];
  for (const candidate of candidates) {
    const entry = await iso.stat(candidate);
    if (entry && !entry.isDirectory) return entry.path.slice(1);
  }
  throw new InputError('DF_NOT_FOUND', `${location.file} has no ${candidates.join(' or ')}: check the path with 'deployforge iso ls ${location.file}'`, {
    file: location.file,
    wim: inIso,
  });
}

interface OpenedWim {
  /** Part 1 (or the only part). */
  wim: WimFile;
  /** Every part when the WIM is split. */
  parts: WimFile[];
  /** The WIM's path on the ISO's media, when it is inside one. */
  inner?: string;
  close(): Promise<void>;
}

/** Opens the WIM a location names, every part of a split set, or a WIM inside an ISO (read
 *  through the ISO's extents), and checks the image index. */
async function openWimLocation(location: WimLocation, cwd: string): Promise<OpenedWim> {
  const { openIso, openWim } = await engines();
  const full = resolve(cwd, location.file);
  const sources: ByteSource[] = [await FileSource.open(full)];
  const close = async () => {
    for (const s of sources) await s.close();
  };
  try {
    let inner: string | undefined;
    let first: WimFile;
    if (location.inIso !== undefined) {
      const iso = await openIso(sources[0]);
      inner = await findWimInIso(iso, location);
      first = await openWim(await iso.openFile(inner));
    } else first = await openWim(sources[0]);
    const parts = [first];
    if (first.header.totalParts > 1) {
      if (inner !== undefined) {
        throw new InputError('DF_WIM_UNSUPPORTED', `${inner} in ${location.file} is one part of a split set; extract the parts or point at the first part on disk`);
      }
      // SWM naming (wimlib split, DISM /Split-Image): base.swm, base2.swm, base3.swm …
      const ext = extname(full);
      const stem = basename(full, ext).replace(/\d+$/, '');
      const names = (await readdir(dirname(full))).filter(
        (n) => n.toLowerCase().endsWith(ext.toLowerCase()) && n.slice(0, stem.length).toLowerCase() === stem.toLowerCase() && n !== basename(full),
      );
      for (const name of names) {
        const source = await FileSource.open(join(dirname(full), name));
        sources.push(source);
        parts.push(await openWim(source));
      }
    }
    const count = first.header.imageCount;
    if (!Number.isInteger(location.index) || location.index < 1 || location.index > count) {
      const what = describeWim(location, inner);
      throw new InputError('DF_WIM_NO_IMAGE', `${what} has ${count} image(s); ${location.index} is not one of them (use an index from 1 to ${count})`, {
        index: location.index,
        images: count,
      });
    }
    return { wim: first, parts, inner, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs `use` on one image of a WIM, a split set or a WIM inside an ISO; nothing is extracted.
 *  `where` names the WIM for messages ('sources/install.wim in X.iso'). */
export async function withWimImage<T>(location: WimLocation, cwd: string, use: (image: WimImage, where: string) => Promise<T>): Promise<T> {
  const { openWimImage, openWimSet } = await engines();
  const opened = await openWimLocation(location, cwd);
  try {
    const target = opened.parts.length > 1 ? openWimSet(opened.parts) : opened.wim;
    return await use(await openWimImage(target, location.index), describeWim(location, opened.inner));
  } finally {
    await opened.close();
  }
}

/** Runs `use` on the bytes of a WIM (a file, or one inside an ISO, read through its extents). */
export async function withWimSource<T>(location: WimLocation, cwd: string, use: (source: ByteSource, where: string) => Promise<T>): Promise<T> {
  const opened = await openWimLocation(location, cwd);
  try {
    return await use(opened.wim.source, describeWim(location, opened.inner));
  } finally {
    await opened.close();
  }
}

/** The bytes of the file a reference names, read straight from the ISO or WIM (SHA-1 checked). */
export async function readImageFile(ref: ImagePath, options: { cwd?: string } = {}): Promise<Uint8Array> {
  const cwd = options.cwd ?? process.cwd();
  if (ref.kind === 'plain') {
    const buffer = await readWholeFile(resolve(cwd, ref.path));
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  if (ref.kind === 'media') {
    const { openIso } = await engines();
    const source = await FileSource.open(resolve(cwd, ref.iso));
    try {
      const file = await (await openIso(source)).openFile(ref.path);
      return new Uint8Array(await file.read(0, file.size));
    } finally {
      await source.close();
    }
  }
  const { wim, path } = ref;
  return withWimImage(wim, cwd, async (image, where) => {
    if (!image.lookup(path)) {
      const spec = `${wim.file}:${wim.inIso !== undefined ? `${wim.inIso}:` : ''}${wim.index}`;
      throw new InputError('DF_WIM_PATH_NOT_FOUND', `image ${wim.index} of ${where} has no ${path}: check the path with 'deployforge wim ls ${spec} -r'`, {
        path,
        image: wim.index,
      });
    }
    return new Uint8Array(await (await image.openFile(path, '', { verify: true })).readAll());
  });
}

export interface WriteImageFileOptions {
  /** The new output: a plain file's new name (default: the file itself), or — required for a
   *  reference into an image — the new ISO, WIM or ESD. */
  out?: string;
  cwd?: string;
  /** Parent of the temporary workspace (default: the output's folder, which needs the space anyway). */
  workDir?: string;
  progress?: ProgressSink;
}

export interface WriteImageFileResult {
  /** Absolute path of what was written. */
  written: string;
  kind: 'file' | 'iso' | 'wim' | 'esd';
}

/** What kind of output a write to `ref` produces with `out`; throws when --out is missing, names
 *  the source, or cannot hold the result. Call it before slow work so a bad command fails fast. */
export async function checkImageOutput(ref: ImagePath, out: string | undefined, cwd: string = process.cwd()): Promise<WriteImageFileResult> {
  if (ref.kind === 'plain') return { written: resolve(cwd, out ?? ref.path), kind: 'file' };
  const source = sourceFileOf(ref);
  if (out === undefined) {
    throw new InputError('DF_IMAGE_NEEDS_OUT', `${ref.text} is inside ${source}, which is never changed in place: give -o NEW${extname(source) || '.iso'} for the new image`, {
      source,
    });
  }
  const written = resolve(cwd, out);
  if (await isSameFile(resolve(cwd, source), written)) {
    throw new InputError('DF_IMAGE_OUT_IS_SOURCE', `-o ${out} is the source image itself, which is never changed in place: give a new file name`, { source, out });
  }
  // The new image's kind comes from its name, so `-o SOFTWARE` never silently writes a WIM
  // called SOFTWARE: an ISO source gives an ISO (or only the edited WIM), a WIM source a WIM.
  const ext = extname(written).toLowerCase();
  const fromIso = ref.kind === 'media' || ref.wim.inIso !== undefined;
  const allowed = ref.kind === 'media' ? ['.iso'] : fromIso ? ['.iso', '.wim', '.esd'] : ['.wim', '.esd'];
  if (!allowed.includes(ext)) {
    const hint = fromIso ? '' : ' (a WIM source gives a new WIM, not an ISO)';
    throw new UsageError(
      'DF_IMAGE_OUT_KIND',
      `-o ${out} must name the new image, ending in ${allowed.join(', ').replace(/, ([^,]*)$/, ' or $1')}${hint}; to get the edited file alone, extract it first ('deployforge wim cat')`,
      { out },
    );
  }
  return { written, kind: ext.slice(1) as 'iso' | 'wim' | 'esd' };
}

/** Streams a source into a new local file. */
async function copySource(source: ByteSource, target: string): Promise<void> {
  const handle = await open(target, 'w');
  try {
    const chunk = 16 * 1024 * 1024;
    for (let at = 0; at < source.size; at += chunk) await handle.write(await source.read(at, Math.min(chunk, source.size - at)));
  } finally {
    await handle.close();
  }
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

/**
 * Writes `bytes` as the file `ref` names. A plain file is replaced atomically (or written to
 * `out`). A file in an image is a one-step build: a WIM reference gives a new WIM (a copy of the
 * source plus one append commit, so the file keeps its security descriptor and attributes; an
 * ESD goes through an LZX WIM and back); an ISO reference gives a new ISO remastered with the
 * edited WIM or media file (or, with `out` ending in .wim/.esd, the edited WIM alone). The
 * source is only read.
 */
export async function writeImageFile(ref: ImagePath, bytes: Uint8Array, options: WriteImageFileOptions = {}): Promise<WriteImageFileResult> {
  const { createIdentityPatch, exportImages, openFileInIsoPath, openIso, openWindowsImage, rawExportRefusal, remasterIso, WIM_HEADER_SIZE, WIM_VERSION_DEFAULT } = await engines();
  const cwd = options.cwd ?? process.cwd();
  const target = await checkImageOutput(ref, options.out, cwd);
  if (ref.kind === 'plain') {
    await writeFileAtomic(target.written, bytes);
    return target;
  }
  const work = await mkdtemp(join(options.workDir ?? dirname(target.written), '.deployforge-edit-'));
  try {
    if (ref.kind === 'media') {
      const local = join(work, basename(ref.path));
      await writeFile(local, bytes);
      const source = await FileSource.open(resolve(cwd, ref.iso));
      const exists = await openIso(source)
        .then((iso) => iso.stat(ref.path))
        .finally(() => source.close());
      if (exists?.isDirectory) throw new InputError('DF_IS_DIRECTORY', `${ref.path} in ${ref.iso} is a folder: give a file`, { path: ref.path });
      await remasterIso(resolve(cwd, ref.iso), target.written, {
        ...(exists ? { replace: { [exists.path]: local } } : { add: { [ref.path]: local } }),
        progress: options.progress,
      });
      return target;
    }

    // 1. An editable (non-solid) WIM in the workspace: a copy of the source, or an ESD exported to LZX.
    const location = ref.wim;
    const opened = await openWimLocation(location, cwd);
    const editable = join(work, 'edit.wim');
    let solid: boolean;
    let inner: string | undefined;
    let local = resolve(cwd, location.file);
    try {
      if (opened.wim.header.totalParts > 1) {
        throw new InputError('DF_WIM_EDIT_UNSUPPORTED', `${location.file} is one part of a split WIM, which cannot be edited: join the parts first ('wimlib-imagex join')`, {
          path: location.file,
        });
      }
      solid = opened.wim.solid || opened.wim.header.version !== WIM_VERSION_DEFAULT;
      inner = opened.inner;
      if (inner !== undefined && !solid && target.kind === 'iso' && rawExportRefusal(opened.wim) === null) {
        // A new ISO from a WIM inside an ISO: the edit is a patch over that WIM (its header and
        // the appended commit), and the ISO is remastered in place, so nothing of the image is copied.
        await createIdentityPatch(opened.wim.source, editable);
      } else if (inner !== undefined) {
        // The WIM's bytes out of the ISO (the one copy an edit needs; reads stay in place).
        local = join(work, solid ? 'source.esd' : 'edit.wim');
        await copySource(opened.wim.source, local);
      }
    } finally {
      await opened.close();
    }
    const patched = inner !== undefined && !solid && target.kind === 'iso' && local === resolve(cwd, location.file);
    if (solid) {
      await exportImages(local, 'all', editable, { compress: 'lzx', progress: options.progress });
      if (inner !== undefined) await rm(local, { force: true });
    } else if (!patched && local !== editable) await copyFile(local, editable);
    const wimBase = () => openFileInIsoPath(resolve(cwd, location.file), inner as string);

    // 2. One append commit: replaceFile keeps the file's security descriptor, attributes and times.
    const image = await openWindowsImage(editable, location.index, patched ? { base: wimBase } : {});
    try {
      image.writeFile(ref.path, bytes);
      await image.commit();
    } finally {
      await image.close();
    }

    // 3. The output, in the form the source had (an ESD stays solid) unless --out names another.
    const wantsEsd = target.kind === 'esd' || (target.kind === 'iso' && solid);
    let finished = editable;
    if (wantsEsd) {
      finished = join(work, 'edit.esd');
      await exportImages(editable, 'all', finished, { solid: true, compress: 'lzms', progress: options.progress });
    }
    if (patched) {
      await remasterIso(resolve(cwd, location.file), target.written, { patch: { [inner as string]: { local: editable, head: WIM_HEADER_SIZE } }, progress: options.progress });
    } else if (target.kind === 'iso') {
      await remasterIso(resolve(cwd, location.file), target.written, { replace: { [inner as string]: finished }, progress: options.progress });
    } else await withAtomicOutput(target.written, (partial) => moveFile(finished, partial));
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A one-step build from a WIM inside an ISO: `apply` stages edits on image `location.index`,
 * which are committed to a patch over that WIM (nothing of the image is copied), and the result
 * is written to `out`: a new ISO remastered in place (`.iso`), or the edited WIM alone (`.wim`).
 * Solid (ESD) images are refused: they cannot take an append commit.
 */
export async function editWimInIso(
  location: WimLocation,
  out: string,
  apply: (edit: WimEdit) => Promise<void>,
  options: { cwd?: string; progress?: ProgressSink } = {},
): Promise<WimCommitResult> {
  const { createIdentityPatch, materializePatch, openFileInIsoPath, openIso, openWimEdit, remasterIso, WIM_HEADER_SIZE } = await engines();
  const cwd = options.cwd ?? process.cwd();
  const isoPath = resolve(cwd, location.file);
  const written = resolve(cwd, out);
  if (await isSameFile(isoPath, written))
    throw new InputError('DF_IMAGE_OUT_IS_SOURCE', `-o ${out} is the source image itself, which is never changed in place: give a new file name`);
  const kind = extname(written).toLowerCase();
  if (kind !== '.iso' && kind !== '.wim') throw new UsageError('DF_IMAGE_OUT_KIND', `-o ${out}: name a new .iso (the whole media) or .wim (the edited WIM alone)`);
  const iso = await FileSource.open(isoPath);
  let inner: string;
  try {
    inner = await findWimInIso(await openIso(iso), location);
  } finally {
    await iso.close();
  }
  const base = () => openFileInIsoPath(isoPath, inner);
  const work = await mkdtemp(join(dirname(written), '.deployforge-edit-'));
  try {
    const patch = join(work, 'edit.wim');
    const source = await base();
    try {
      await createIdentityPatch(source, patch);
    } finally {
      await source.close();
    }
    const edit = await openWimEdit(patch, location.index, { base });
    await apply(edit);
    const result = await edit.commit();
    if (kind === '.iso') {
      await remasterIso(isoPath, written, { patch: { [inner]: { local: patch, head: WIM_HEADER_SIZE } }, progress: options.progress });
    } else {
      const full = await base();
      try {
        await materializePatch(patch, full);
      } finally {
        await full.close();
      }
      await withAtomicOutput(written, (partial) => moveFile(patch, partial));
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
