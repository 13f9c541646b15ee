// The media as a folder, for copying onto a USB stick: every file of the source ISO (streamed from
// its extents, nothing mounted), with replaced, added and removed files applied. For a FAT32
// stick a file must stay under 4 GiB (FAT32's file size field is 32 bits), so a large
// install.wim is written as split install.swm parts, which Windows Setup reads from `sources`.
// The folder is assembled under a temporary name beside the target and renamed into place; an
// existing target is swapped out and removed only after the new one is in place.

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../errors.js';
import { openIso } from '../formats/iso/index.js';
import { splitWim } from '../formats/wim/index.js';
import type { ProgressSink } from '../progress.js';
import { FileSource } from '../util/byte-source.js';

/** The largest file FAT32 holds: 4 GiB − 1 byte (Microsoft, "FAT32 file system limitations"). */
export const FAT32_MAX_FILE = 2 ** 32 - 1;

export interface MediaFolderOptions {
  /** Media path → local file replacing it. */
  replace?: Record<string, string>;
  /** Media path → local file to add. */
  add?: Record<string, string>;
  /** Media paths to leave out (files or folders). */
  remove?: string[];
  /** Split sources/install.wim into install.swm parts when it would not fit FAT32 (or always, with 'always'). */
  fat32?: boolean | 'always';
  progress?: ProgressSink;
}

const norm = (p: string) => `/${p.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')}`;
const keyOf = (p: string) => norm(p).toLowerCase();

async function streamOut(source: { size: number; read(at: number, length: number): Promise<Uint8Array> }, target: string): Promise<void> {
  const chunk = 8 * 1024 * 1024;
  async function* chunks() {
    for (let at = 0; at < source.size; at += chunk) yield await source.read(at, Math.min(chunk, source.size - at));
  }
  await pipeline(chunks, createWriteStream(target));
}

export async function writeMediaFolder(sourceIso: string, target: string, options: MediaFolderOptions = {}): Promise<{ files: number; bytes: number; split: string[] }> {
  const replace = new Map(Object.entries(options.replace ?? {}).map(([p, local]) => [keyOf(p), { path: norm(p), local }]));
  const add = new Map(Object.entries(options.add ?? {}).map(([p, local]) => [keyOf(p), { path: norm(p), local }]));
  const remove = (options.remove ?? []).map(keyOf);
  const partial = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  let files = 0;
  let bytes = 0;
  const split: string[] = [];
  const source = await FileSource.open(sourceIso);
  try {
    const iso = await openIso(source);
    await mkdir(partial, { recursive: true });
    const present = new Set<string>();
    // Folder names as the media spells them, so an added `Sources/x` lands in `sources/` as it does on the ISO.
    const folderCase = new Map<string, string>();
    for await (const entry of iso.walk()) {
      const k = entry.path.toLowerCase();
      present.add(k);
      if (remove.some((r) => k === r || k.startsWith(`${r}/`))) continue;
      const out = join(partial, entry.path);
      if (entry.isDirectory) {
        folderCase.set(k, entry.path);
        await mkdir(out, { recursive: true });
        continue;
      }
      await mkdir(dirname(out), { recursive: true });
      const local = replace.get(k)?.local;
      const size = local ? (await stat(local)).size : entry.size;
      if (k === '/sources/install.wim' && options.fat32 && (options.fat32 === 'always' || size > FAT32_MAX_FILE)) {
        const wim = local ?? join(partial, '.install.wim');
        if (!local) await streamOut(await iso.openFile(entry.path), wim);
        const { parts } = await splitWim(wim, join(dirname(out), 'install.swm'), { partSizeMiB: 4000, progress: options.progress });
        if (!local) await rm(wim, { force: true });
        split.push(...parts.map((p) => p.slice(partial.length).replace(/\\/g, '/')));
        for (const part of parts) bytes += (await stat(part)).size;
        files += parts.length;
        continue;
      }
      if (local) await copyFile(local, out);
      else await streamOut(await iso.openFile(entry.path), out);
      files++;
      bytes += size;
      options.progress?.emit({ phase: 'write folder', done: bytes, unit: 'bytes' });
    }
    for (const [k, r] of replace) if (!present.has(k)) throw new InputError('DF_FOLDER_BAD_CHANGE', `${r.path} is not on the source media (add it instead)`);
    for (const [k, a] of add) {
      if (present.has(k) && !remove.some((r) => k === r || k.startsWith(`${r}/`)))
        throw new InputError('DF_FOLDER_BAD_CHANGE', `${a.path} is already on the source media (replace it instead)`);
      const parts = a.path.split('/').filter(Boolean);
      let spelled = '';
      for (const part of parts.slice(0, -1)) spelled = folderCase.get(`${spelled}/${part}`.toLowerCase()) ?? `${spelled}/${part}`;
      const out = join(partial, `${spelled}/${parts.at(-1)}`);
      await mkdir(dirname(out), { recursive: true });
      // An ESD source's new install.wim arrives as an addition; it splits like a replaced one.
      const size = (await stat(a.local)).size;
      if (k === '/sources/install.wim' && options.fat32 && (options.fat32 === 'always' || size > FAT32_MAX_FILE)) {
        const { parts } = await splitWim(a.local, join(dirname(out), 'install.swm'), { partSizeMiB: 4000, progress: options.progress });
        split.push(...parts.map((p) => p.slice(partial.length).replace(/\\/g, '/')));
        for (const part of parts) bytes += (await stat(part)).size;
        files += parts.length;
        continue;
      }
      await copyFile(a.local, out);
      files++;
      bytes += size;
    }
    if (options.fat32) {
      for (const entry of await readdir(partial, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const size = (await stat(join(entry.parentPath, entry.name))).size;
        const path = join(entry.parentPath, entry.name).slice(partial.length);
        if (size > FAT32_MAX_FILE) throw new InputError('DF_FOLDER_FAT32', `${path} is ${size} bytes, more than FAT32 holds (4 GiB - 1): it cannot go on a FAT32 stick`);
      }
    }
    // Swap into place: the old folder (if any) is moved aside first and removed last.
    const old = `${partial}.old`;
    const hadOld = await stat(target).then(
      () => true,
      () => false,
    );
    if (hadOld) await rename(target, old);
    try {
      await rename(partial, target);
    } catch (error) {
      if (hadOld) await rename(old, target); // put the user's old folder back
      throw error;
    }
    if (hadOld) await rm(old, { recursive: true, force: true });
    return { files, bytes, split };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  } finally {
    await source.close();
  }
}
