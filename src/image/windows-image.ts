// WindowsImage: one edition of an install WIM opened for editing. Hives are read from the image
// lazily, once, and edited in memory; file writes and removals are staged on the WIM edit;
// commit() writes each changed hive back once (keeping its security descriptor and attributes)
// and lands everything in one append. It does not spawn tools, replay hive logs (dirty hives are
// refused with DF_HIVE_DIRTY) or edit ESDs (export to a WIM first).
import { readFile as readLocalFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { type EditHiveOptions, HiveEdit } from '../formats/regf/hive-edit.js';
import { HIVE_FILES, type HiveId, readCurrentControlSet } from '../formats/regf/reg-roots.js';
import {
  foldName,
  openBlob,
  openWim,
  openWimBytes,
  openWimEdit,
  openWimImage,
  type WimCheckpoint,
  type WimCommitResult,
  type WimEdit,
  type WimEditOptions,
  type WimEntryStat,
  type WimFile,
  type WimImage,
} from '../formats/wim/index.js';
import type { ByteSource } from '../util/byte-source.js';

export type { HiveId } from '../formats/regf/reg-roots.js';

/** A well-known hive name or a hive file path inside the image (`/Windows/System32/config/COMPONENTS`). */
export type HiveRef = HiveId | string;

/** A HiveEdit that remembers whether anything changed, so commit() writes only touched hives. */
export class TrackedHiveEdit extends HiveEdit {
  changed = false;
  override createKey(path: string, options?: { className?: string }): boolean {
    const created = super.createKey(path, options);
    if (created) this.changed = true;
    return created;
  }
  override deleteKey(path: string): boolean {
    const deleted = super.deleteKey(path);
    if (deleted) this.changed = true;
    return deleted;
  }
  override setValue(keyPath: string, name: string, type: number, data: Uint8Array): void {
    super.setValue(keyPath, name, type, data);
    this.changed = true;
  }
  override deleteValue(keyPath: string, name: string): boolean {
    const deleted = super.deleteValue(keyPath, name);
    if (deleted) this.changed = true;
    return deleted;
  }
}

export interface ImageHives {
  /** The hive, read from the image on first use and kept in memory until commit or rollback. */
  get(ref: HiveRef): Promise<TrackedHiveEdit>;
  /** Image path of a hive: HIVE_FILES for names, the path itself otherwise (leading / kept). */
  pathOf(ref: HiveRef): string;
}

export interface WindowsImageCommitResult extends WimCommitResult {
  /** Image paths of the hives written back by this commit. */
  hivesWritten: string[];
}

export interface WindowsImage {
  readonly path: string;
  readonly index: number;
  readonly hives: ImageHives;
  /** The staged contents of a file (staged writes first, then the WIM). */
  readFile(path: string): Promise<Uint8Array>;
  /** The staged view of one entry, or undefined when it does not exist. */
  stat(path: string): WimEntryStat | undefined;
  exists(path: string): boolean;
  /** Entries of a folder in the staged view (names only from the WIM and staged additions). */
  list(path: string): Promise<WimEntryStat[]>;
  /** Replaces (keeping SD and attributes) or adds a file; missing parent folders are created. */
  writeFile(path: string, data: Uint8Array): void;
  /** Like writeFile, with the contents streamed from a local file at commit. */
  copyFileIn(path: string, localFile: string): void;
  /** Removes a file or a folder with everything below it. */
  removeFile(path: string): void;
  mkdir(path: string): void;
  /** N of ControlSet00N, from SYSTEM's Select\Current. */
  controlSet(): Promise<number>;
  /** The image's architecture from the WIM's XML (`amd64`, `arm64`, `x86`…), or null when unset. */
  architecture(): Promise<string | null>;
  isDirty(): boolean;
  commit(): Promise<WindowsImageCommitResult>;
  checkpoint(): Promise<WimCheckpoint>;
  /** Restores the WIM to the checkpoint and drops staged edits and hives held in memory. */
  rollback(checkpoint: WimCheckpoint): Promise<void>;
  close(): Promise<void>;
}

export interface OpenWindowsImageOptions extends WimEditOptions {
  /** Clock for hive timestamps (tests). */
  hiveNow?: EditHiveOptions['now'];
}

const normalize = (path: string): string =>
  `/${path
    .split(/[\\/]+/)
    .filter((p) => p !== '' && p !== '.')
    .join('/')}`;
const keyOf = (path: string): string => foldName(normalize(path));

type Staged = { kind: 'bytes'; data: Uint8Array } | { kind: 'file'; path: string };

/** Opens image `index` (1-based) of the WIM at `wimPath` for editing. Call close() when done. */
export async function openWindowsImage(wimPath: string, index: number, options: OpenWindowsImageOptions = {}): Promise<WindowsImage> {
  const edit = await openWimEdit(wimPath, index, options);
  return new Image(edit, options);
}

class Image implements WindowsImage {
  readonly hives: ImageHives;
  private readonly loaded = new Map<string, Promise<TrackedHiveEdit>>();
  private staged = new Map<string, Staged>();
  /** Folded key → path as given, for staged writes (list() shows them). */
  private stagedPaths = new Map<string, string>();
  /** Hives read so far, by folded path. */
  private readonly settled = new Map<string, { path: string; hive: TrackedHiveEdit }>();
  private reader: { source: ByteSource; wim: WimFile; image: WimImage } | undefined;
  private currentControlSet: number | undefined;

  constructor(
    private readonly edit: WimEdit,
    private readonly options: OpenWindowsImageOptions,
  ) {
    this.hives = {
      get: (ref) => this.hive(ref),
      pathOf: (ref) => hivePath(ref),
    };
  }

  get path(): string {
    return this.edit.path;
  }

  get index(): number {
    return this.edit.index;
  }

  private hive(ref: HiveRef): Promise<TrackedHiveEdit> {
    const path = hivePath(ref);
    const key = keyOf(path);
    let hive = this.loaded.get(key);
    if (!hive) {
      hive = this.readFile(path).then((bytes) => {
        const edit = new TrackedHiveEdit(bytes, { name: `${path} in image ${this.index}`, now: this.options.hiveNow });
        this.settled.set(key, { path, hive: edit });
        return edit;
      });
      this.loaded.set(key, hive);
      // A failed load (missing or dirty hive) is not cached, so the caller sees the error each time.
      hive.catch(() => this.loaded.delete(key));
    }
    return hive;
  }

  private async openReader(): Promise<{ wim: WimFile; image: WimImage }> {
    if (!this.reader) {
      const source = await openWimBytes(this.path, this.options);
      try {
        const wim = await openWim(source);
        const image = await openWimImage(wim, this.index);
        this.reader = { source, wim, image };
      } catch (error) {
        await source.close();
        throw error;
      }
    }
    return this.reader;
  }

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    await reader?.source.close();
  }

  async readFile(path: string): Promise<Uint8Array> {
    const staged = this.staged.get(keyOf(path));
    if (staged) return staged.kind === 'bytes' ? staged.data : new Uint8Array(await readLocalFile(staged.path));
    const st = this.stat(path);
    if (!st) throw new InputError('DF_IMAGE_NOT_FOUND', `${normalize(path)} does not exist in image ${this.index}`, { path });
    if (st.isDirectory) throw new InputError('DF_WIM_IS_DIRECTORY', `${normalize(path)} in image ${this.index} is a folder, not a file`, { path });
    const sha1 = st.streams.find((s) => s.type === 'data' && s.name === '')?.sha1 ?? null;
    if (sha1 === null) return new Uint8Array(0);
    const { wim } = await this.openReader();
    const entry = wim.blobTable.entries.find((e) => e.kind === 'file' && e.sha1 === sha1);
    if (!entry) throw new InputError('DF_WIM_MISSING_BLOB', `${normalize(path)} in image ${this.index}: its contents (SHA-1 ${sha1}) are not in the WIM`, { path, sha1 });
    return (await openBlob(wim, entry, { verify: true })).readAll();
  }

  stat(path: string): WimEntryStat | undefined {
    return this.edit.exists(path) ? this.edit.stat(path) : undefined;
  }

  exists(path: string): boolean {
    return this.edit.exists(path);
  }

  async list(path: string): Promise<WimEntryStat[]> {
    const dir = normalize(path);
    const names = new Map<string, string>();
    const { image } = await this.openReader();
    if (image.lookup(dir)) for (const e of image.list(dir)) names.set(foldName(e.name), e.name);
    const prefix = dir === '/' ? '/' : `${dir}/`;
    for (const staged of this.stagedPaths.values()) {
      if (foldName(staged).startsWith(foldName(prefix))) {
        const first = staged.slice(prefix.length).split('/')[0];
        names.set(foldName(first), first);
      }
    }
    const out: WimEntryStat[] = [];
    for (const name of names.values()) {
      const st = this.stat(`${prefix}${name}`);
      if (st) out.push(st);
    }
    return out;
  }

  private stage(path: string, data: Staged): void {
    const p = normalize(path);
    if (this.edit.exists(p)) this.edit.replaceFile(p, data.kind === 'bytes' ? data.data : data.path);
    else this.edit.addFile(p, data.kind === 'bytes' ? data.data : data.path);
    this.staged.set(keyOf(p), data);
    this.stagedPaths.set(keyOf(p), p);
  }

  writeFile(path: string, data: Uint8Array): void {
    this.stage(path, { kind: 'bytes', data });
  }

  copyFileIn(path: string, localFile: string): void {
    this.stage(path, { kind: 'file', path: localFile });
  }

  removeFile(path: string): void {
    const p = normalize(path);
    this.edit.delete(p);
    const key = keyOf(p);
    for (const k of [...this.staged.keys()]) {
      if (k === key || k.startsWith(`${key}/`)) {
        this.staged.delete(k);
        this.stagedPaths.delete(k);
      }
    }
    for (const k of [...this.loaded.keys()]) {
      if (k === key || k.startsWith(`${key}/`)) {
        this.loaded.delete(k);
        this.settled.delete(k);
      }
    }
  }

  mkdir(path: string): void {
    this.edit.mkdir(normalize(path));
  }

  async controlSet(): Promise<number> {
    if (this.currentControlSet === undefined) this.currentControlSet = readCurrentControlSet((await this.hive('SYSTEM')).hive);
    return this.currentControlSet;
  }

  async architecture(): Promise<string | null> {
    const { wim } = await this.openReader();
    return wim.images.find((i) => i.index === this.index)?.windows?.archName ?? null;
  }

  isDirty(): boolean {
    return this.edit.isDirty() || [...this.settled.values()].some((s) => s.hive.changed);
  }

  async commit(): Promise<WindowsImageCommitResult> {
    const hivesWritten: string[] = [];
    await Promise.allSettled(this.loaded.values());
    const touched = [...this.settled.values()].filter((s) => s.hive.changed);
    for (const { path, hive } of touched) {
      // replaceFile keeps the hive file's security descriptor, attributes and short name.
      this.edit.replaceFile(path, hive.toBytes());
      hivesWritten.push(path);
    }
    const result = await this.edit.commit();
    for (const { hive } of touched) hive.changed = false;
    this.staged = new Map();
    this.stagedPaths = new Map();
    await this.closeReader();
    return { ...result, hivesWritten };
  }

  checkpoint(): Promise<WimCheckpoint> {
    return this.edit.checkpoint();
  }

  async rollback(checkpoint: WimCheckpoint): Promise<void> {
    await this.closeReader();
    await this.edit.rollback(checkpoint);
    this.loaded.clear();
    this.settled.clear();
    this.staged = new Map();
    this.stagedPaths = new Map();
    this.currentControlSet = undefined;
  }

  async close(): Promise<void> {
    await this.closeReader();
  }
}

function hivePath(ref: HiveRef): string {
  if (ref in HIVE_FILES) return `/${HIVE_FILES[ref as HiveId]}`;
  if (!/^[\\/]/.test(ref)) {
    throw new InputError('DF_IMAGE_BAD_HIVE', `'${ref}' is not a hive: use one of ${Object.keys(HIVE_FILES).join(', ')} or a hive path inside the image starting with /`, {
      hive: ref,
    });
  }
  return normalize(ref);
}
