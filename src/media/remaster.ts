// Remastering an ISO without extracting it: the new image is planned from the source's tree
// (every unchanged file is read straight from its extents in the source), plus replaced, added
// and removed files. The source's El Torito entries are kept unless others are given. The source is
// opened read-only and never changes.
//
// By default the output starts as a kernel-side copy of the source (copy_file_range, or a reflink)
// and every unchanged file keeps its sectors, so only new metadata, new files and zeros over what
// was dropped pass through this process; with `inPlace: false` the image is laid out afresh and
// streamed in one pass.
import { rm, stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { FIRST_KEEPABLE_SECTOR, type IsoBootEntry, type IsoImage, type IsoInputFile, type IsoWriteMode, openIso, writeIsoFile } from '../formats/iso/index.js';
import type { ProgressSink } from '../progress.js';
import { type ByteSource, FileSource, LazyFileSource, PatchedSource } from '../util/byte-source.js';
import { kernelCopy } from '../util/copy.js';
import { isSameFile, partialPathFor } from '../util/fs.js';

export interface RemasterOptions {
  /** Image path → local file whose bytes replace it (the path must exist in the source). */
  replace?: Record<string, string>;
  /** Image path → a patch over that file of the source (a WIM exported or edited over it,
   *  exportImagesAsPatch): `local` holds the new file's first `head` bytes and everything from the
   *  source file's size on; the bytes between are the source file's own. In place, they stay at
   *  their sectors and only the head and the tail are written. */
  patch?: Record<string, { local: string; head: number }>;
  /** Image path → local file to add (the path must not exist in the source). */
  add?: Record<string, string>;
  /** Image paths to drop (files, or folders with everything below them). */
  remove?: string[];
  label?: string;
  mode?: IsoWriteMode;
  /** Boot entries to write instead of the source's. */
  boot?: IsoBootEntry[];
  /** Keep only the source's boot entries for these El Torito platforms (0 BIOS, 0xEF UEFI). */
  bootPlatforms?: number[];
  /** Fixed time stamps (and serials) so the same inputs give the same bytes. */
  timestamp?: Date;
  progress?: ProgressSink;
  /** Sees every byte of the new image in order as it is written. */
  onChunk?: (chunk: Uint8Array) => void | Promise<void>;
  /** With onChunk, in place: the runs of the new image that are the source's own bytes at the
   *  same offset come here as ranges, unread, instead of through onChunk (for a hash worker that
   *  reads the source itself). A fresh layout never calls it. */
  onSourceRange?: (offset: number, length: number) => void | Promise<void>;
  /** Stops the write; nothing is left at the output path. */
  signal?: AbortSignal;
  /** Keep unchanged files at their sectors over a kernel-side copy of the source. Default: yes,
   *  unless the files replaced or removed hold more than a quarter of the source's bytes (their
   *  sectors would all be overwritten with zeros, which costs more than a fresh layout). */
  inPlace?: boolean;
  /** A copy of the source already being made in the output's folder (startSourceCopy), used
   *  instead of copying again. */
  sourceCopy?: { path: string; copy: Promise<string> };
}

export interface RemasterResult {
  size: number;
  files: number;
  replaced: string[];
  added: string[];
  removed: string[];
  boot: IsoBootEntry[];
  /** Bytes of unchanged files kept at their sectors over the kernel-side copy (0 with inPlace: false). */
  keptBytes: number;
}

const norm = (path: string) => `/${path.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')}`;
const key = (path: string) => norm(path).toLowerCase();

export async function remasterIso(sourcePath: string, outPath: string, options: RemasterOptions = {}): Promise<RemasterResult> {
  if (await isSameFile(sourcePath, outPath)) {
    throw new InputError('DF_OUT_IS_SOURCE', `the output ${outPath} is the source image itself, which is never changed: give a new file name`, { sourcePath, outPath });
  }
  const source = await FileSource.open(sourcePath);
  const opened: ByteSource[] = [];
  try {
    const iso = await openIso(source);
    const patch = new Map(Object.entries(options.patch ?? {}).map(([p, change]) => [key(p), { path: norm(p), ...change }]));
    const replace = new Map(Object.entries(options.replace ?? {}).map(([p, local]) => [key(p), { path: norm(p), local }]));
    const add = new Map(Object.entries(options.add ?? {}).map(([p, local]) => [key(p), { path: norm(p), local }]));
    const remove = (options.remove ?? []).map(key);
    const removedSeen = new Set<string>();
    const files: IsoInputFile[] = [];
    const directories: string[] = [];
    const present = new Set<string>();

    let droppedBytes = 0;
    const counted = new Set<string>();
    for await (const entry of iso.walk()) {
      const k = entry.path.toLowerCase();
      present.add(k);
      const dropped = remove.find((r) => k === r || k.startsWith(`${r}/`));
      if (dropped) {
        removedSeen.add(dropped);
        if (!entry.isDirectory) droppedBytes += entry.size;
        continue;
      }
      if (replace.has(k)) droppedBytes += entry.size;
      if (entry.isDirectory) {
        directories.push(entry.path);
        continue;
      }
      if (replace.has(k)) continue; // added below from the local file
      const file = await iso.openFile(entry.path);
      const patched = patch.get(k);
      if (patched) {
        const local = await FileSource.open(patched.local);
        opened.push(local);
        const bytes = new PatchedSource(local, file, patched.head);
        const run = options.inPlace === false ? undefined : sectorRun(entry.extents, file.size);
        const kept = Math.floor(file.size / ISO_SECTOR) * ISO_SECTOR;
        // A patched file that cannot stay where it is gets written whole, its old sectors zeroed.
        if (!run || kept === 0 || run.lba < FIRST_KEEPABLE_SECTOR) droppedBytes += file.size;
        files.push({
          path: entry.path,
          size: bytes.size,
          source: bytes,
          modified: options.timestamp ? undefined : (await stat(patched.local)).mtime,
          inBase: run && kept > 0 ? { lba: run.lba, bytes: kept, dirty: [{ offset: 0, length: patched.head }] } : undefined,
        });
        continue;
      }
      const stays = sectorRun(entry.extents, entry.size);
      // Rewritten elsewhere; files sharing one extent (oscdimg -o) are written once, counted once.
      const shared = entry.extents[0] ? `src:${entry.extents[0].offset}` : entry.path;
      if ((!stays || stays.lba < FIRST_KEEPABLE_SECTOR) && !counted.has(shared)) {
        counted.add(shared);
        droppedBytes += entry.size;
      }
      // Files sharing an extent in the source (oscdimg -o de-duplication) stay shared.
      files.push({
        path: entry.path,
        size: entry.size,
        source: file,
        modified: entry.modified ? new Date(entry.modified) : undefined,
        dedupeKey: entry.extents[0] ? `src:${entry.extents[0].offset}` : undefined,
        inBase: options.inPlace === false ? undefined : stays,
      });
    }

    const problems: string[] = [];
    for (const [k, p] of patch) if (!present.has(k) || replace.has(k)) problems.push(`patch of ${p.path}: not in ${sourcePath}, or also replaced`);
    for (const [k, r] of replace) if (!present.has(k)) problems.push(`--replace ${r.path}: not in ${sourcePath} (use --add for new files)`);
    for (const [k, a] of add)
      if (present.has(k) && !remove.some((r) => k === r || k.startsWith(`${r}/`))) problems.push(`--add ${a.path}: already in ${sourcePath} (use --replace)`);
    for (const r of remove) if (!removedSeen.has(r)) problems.push(`--remove ${r}: not in ${sourcePath}`);
    if (problems.length > 0) throw new InputError('DF_REMASTER_BAD_CHANGE', problems.join('; '), { problems });

    for (const change of [...replace.values(), ...add.values()]) {
      const info = await stat(change.local);
      if (!info.isFile()) throw new InputError('DF_REMASTER_BAD_CHANGE', `${change.local} (for ${change.path}) is not a file`);
      files.push({ path: change.path, size: info.size, source: new LazyFileSource(change.local, info.size), modified: options.timestamp ? undefined : info.mtime });
    }

    const boot =
      options.boot ??
      iso.bootCatalog
        .filter((entry) => !options.bootPlatforms || options.bootPlatforms.includes(entry.platform))
        .map((entry) => {
          if (!entry.bootImagePath) {
            throw new InputError(
              'DF_REMASTER_BOOT_IMAGE',
              `the source's ${entry.platformName} boot entry loads LBA ${entry.loadRba}, which is no file of the image; give the boot images explicitly`,
            );
          }
          if (removedSeen.size > 0 && remove.some((r) => entry.bootImagePath?.toLowerCase().startsWith(r))) {
            throw new InputError('DF_REMASTER_BOOT_IMAGE', `--remove would drop the boot image ${entry.bootImagePath}`);
          }
          return { platform: entry.platform, imagePath: entry.bootImagePath, loadSegment: entry.loadSegment || undefined, sectorCount: entry.sectorCount };
        });

    const inPlace = options.inPlace ?? droppedBytes <= source.size / 4;
    if (!inPlace) for (const file of files) file.inBase = undefined;
    const { size, plan } = await writeIsoFile(
      files,
      {
        volumeLabel: options.label ?? iso.volumeLabel,
        mode: options.mode ?? 'udf',
        directories,
        boot,
        timestamp: options.timestamp,
        progress: options.progress,
        onChunk: options.onChunk,
        onBaseRange: options.onSourceRange,
        signal: options.signal,
        base: inPlace ? { path: sourcePath, size: source.size, copied: options.sourceCopy?.copy, copiedPath: options.sourceCopy?.path } : undefined,
      },
      outPath,
    );
    return {
      size,
      files: files.length,
      replaced: [...replace.values(), ...patch.values()].map((r) => r.path),
      added: [...add.values()].map((a) => a.path),
      removed: [...removedSeen],
      boot,
      keptBytes: plan.keptSectors * 2048,
    };
  } finally {
    for (const o of opened) await o.close();
    await source.close();
  }
}

/** Starts a kernel-side copy of `sourcePath` beside `outPath` (under a partial name that
 *  removeStalePartials clears), for remasterIso's `sourceCopy`; `discard` removes it if it was not used. */
export function startSourceCopy(sourcePath: string, outPath: string, signal?: AbortSignal): { path: string; copy: Promise<string>; discard: () => Promise<void> } {
  const path = partialPathFor(outPath);
  const stop = new AbortController();
  // Stopped by discard() or by the caller's signal (Ctrl-C), whichever comes first.
  const copy = kernelCopy(sourcePath, path, signal ? AbortSignal.any([stop.signal, signal]) : stop.signal).then(() => path);
  copy.catch(() => {});
  return {
    path,
    copy,
    // The copy is stopped (an interrupted build does not wait for it) and its file removed.
    discard: async () => {
      stop.abort(new Error('the copy of the source is no longer needed'));
      await copy.catch(() => {});
      await rm(path, { force: true });
    },
  };
}

/** Where a file's bytes lie in the source when they are one run of whole sectors (its extents
 *  contiguous, e.g. the 1 GiB pieces UDF splits large files into); otherwise undefined. */
function sectorRun(extents: ReadonlyArray<{ offset: number; length: number }>, size: number): { lba: number; bytes: number } | undefined {
  if (size === 0 || extents.length === 0 || extents[0].offset % ISO_SECTOR !== 0) return undefined;
  let end = extents[0].offset;
  for (const [i, e] of extents.entries()) {
    if (e.offset !== end) return undefined;
    if (i < extents.length - 1 && e.length % ISO_SECTOR !== 0) return undefined;
    end += e.length;
  }
  return end - extents[0].offset >= size ? { lba: extents[0].offset / ISO_SECTOR, bytes: size } : undefined;
}

const ISO_SECTOR = 2048;

/** Bytes an in-place remaster of `iso` writes anew although unchanged: files that are not one run
 *  of sectors, or lie below the sectors the writer's descriptors take (boot images often do). */
export async function bytesMovedInPlace(iso: IsoImage): Promise<number> {
  let bytes = 0;
  for await (const entry of iso.walk()) {
    if (entry.isDirectory || entry.size === 0) continue;
    const run = sectorRun(entry.extents, entry.size);
    if (!run || run.lba < FIRST_KEEPABLE_SECTOR) bytes += entry.size;
  }
  return bytes;
}

/** Every file below a local folder, as image files (paths relative to the folder, '/'-separated),
 *  and its folders, so empty ones are kept. Symbolic links are refused: an image has none. */
export async function folderToIsoInput(folder: string): Promise<{ files: IsoInputFile[]; directories: string[] }> {
  const { readdir, lstat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const files: IsoInputFile[] = [];
  const directories: string[] = [];
  const visit = async (dir: string, image: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const local = join(dir, entry.name);
      const path = `${image}/${entry.name}`;
      if (entry.isDirectory()) {
        directories.push(path);
        await visit(local, path);
      } else if (entry.isFile()) {
        const info = await lstat(local);
        files.push({ path, size: info.size, source: new LazyFileSource(local, info.size), modified: info.mtime });
      } else {
        throw new InputError('DF_ISO_UNSUPPORTED_FILE', `${local} is not a regular file or folder (links and devices cannot go into an ISO); remove or replace it`);
      }
    }
  };
  await visit(folder, '');
  return { files, directories };
}
