// One image of a WIM opened for editing in place, the way Windows customizations need it: a
// replaced file keeps its security descriptor, attributes, times, short name and named streams
// (unlike `wimlib-imagex update`, which recreates it). Changes are staged in memory; commit()
// appends like wimlib's append mode (new blobs, one new metadata resource, blob table, XML,
// integrity table, then the header last), never rewriting old data, so checkpoint()/rollback()
// undo commits exactly. It edits non-solid, unsplit WIMs only; ESDs and .swm parts are refused.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { type FileHandle, lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError, InputError } from '../../errors.js';
import { type ByteSource, FileSource, PatchedSource } from '../../util/byte-source.js';
import { type BlobTableRow, serializeBlobTable, writeResourceHeader } from './blob-table-write.js';
import { rollbackWim, takeWimCheckpoint, type WimCheckpoint } from './checkpoint.js';
import { FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_REPARSE_POINT, type WimStream } from './dentry.js';
import { HDR_FLAG_WRITE_IN_PROGRESS, WIM_HEADER_SIZE, WIM_VERSION_DEFAULT } from './header.js';
import { foldName, type WimEntryStat } from './image.js';
import { buildIntegrityTable, type OldIntegrity } from './integrity-write.js';
import { parseMetadataResource } from './metadata.js';
import { dataSha1, type EditNode, editTreeFrom, isDirectoryNode, serializeMetadata } from './metadata-write.js';
import { RESHDR_FLAG_COMPRESSED, RESHDR_FLAG_METADATA } from './resource-header.js';
import { openBlob } from './resource-reader.js';
import { type DataPieces, writeResource } from './resource-write.js';
import { openWim } from './wim-file.js';
import { encodeWimXml, updateWimXml } from './xml-write.js';

export type { WimCheckpoint } from './checkpoint.js';

const ZERO_SHA1 = '0'.repeat(40);
const PIECE = 1 << 20;

export interface WimEditOptions {
  /** How new resources are stored. 'xpress' applies only to an XPRESS WIM (a WIM has one
   *  compression type); in any other WIM new resources are stored uncompressed, which the
   *  per-resource flags allow. Default: 'xpress' for XPRESS WIMs, else 'none'. */
  compressNew?: 'none' | 'xpress';
  /** Clock for new timestamps (tests). */
  now?: () => Date;
  /** Test hook: called after every write and flush of a commit, in order, so a crash test can
   *  stop the process at each point. */
  onWrite?: (step: number, what: string) => void;
  /** Read the WIM from here instead of opening `path` (e.g. install.wim inside an ISO, for a
   *  plan); such an edit is read-only and commit() refuses. */
  openSource?: () => Promise<ByteSource>;
  /** The WIM at `path` is a patch (exportImagesAsPatch): its bytes from the header's end up to
   *  the base's size are the base's, which this opens; the file has a hole there. Commits append
   *  after the base's size as usual, so checkpoints and rollback work unchanged. */
  base?: () => Promise<ByteSource>;
}

/** The bytes of the WIM an edit works on: the file, what `openSource` gives, or the file over its base. */
export async function openWimBytes(path: string, options: Pick<WimEditOptions, 'openSource' | 'base'>): Promise<ByteSource> {
  if (options.openSource) return options.openSource();
  const local = await FileSource.open(path);
  if (!options.base) return local;
  let base: ByteSource | undefined;
  try {
    base = await options.base();
    return new PatchedSource(local, base, WIM_HEADER_SIZE);
  } catch (error) {
    await local.close();
    await base?.close();
    throw error;
  }
}

export interface AddFileOptions {
  /** Attributes of the new file (default FILE_ATTRIBUTE_ARCHIVE). */
  attributes?: number;
  /** Replace an existing file of that name instead of failing (keeps its metadata). */
  overwrite?: boolean;
}

export interface WimCommitResult {
  /** False when there was nothing to commit (the file is unchanged). */
  changed: boolean;
  blobsWritten: number;
  /** New contents already in the WIM (same SHA-1): only their reference counts grew. */
  blobsReused: number;
  bytesAppended: number;
  metadataSha1: string;
  fileSize: number;
}

export interface WimEdit {
  readonly path: string;
  readonly index: number;
  replaceFile(path: string, data: Uint8Array | string): void;
  addFile(path: string, data: Uint8Array | string, options?: AddFileOptions): void;
  addTree(imagePath: string, localFolder: string): Promise<void>;
  delete(path: string): void;
  rename(from: string, to: string): void;
  mkdir(path: string): void;
  /** The staged view of one entry. */
  stat(path: string): WimEntryStat;
  exists(path: string): boolean;
  /** True when there are staged changes. */
  isDirty(): boolean;
  commit(): Promise<WimCommitResult>;
  checkpoint(): Promise<WimCheckpoint>;
  rollback(checkpoint: WimCheckpoint): Promise<void>;
}

type PendingData = { kind: 'bytes'; data: Uint8Array } | { kind: 'file'; path: string; size: number };

/** FILETIME (100 ns since 1601) of a Date. */
export function dateToFiletime(date: Date): bigint {
  return (BigInt(date.getTime()) + 11644473600000n) * 10000n;
}

function splitPath(path: string): string[] {
  return path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
}

function checkName(name: string, path: string): void {
  if (name === '..' || name.includes('\0') || name.length > 32767) {
    throw new InputError('DF_WIM_BAD_PATH', `"${path}" is not a valid path inside a WIM image (bad name "${name}")`, { path });
  }
}

function piecesOf(data: PendingData): DataPieces {
  if (data.kind === 'bytes') {
    return async function* () {
      for (let at = 0; at < data.data.length; at += PIECE) yield data.data.subarray(at, at + PIECE);
    };
  }
  return () => createReadStream(data.path, { highWaterMark: PIECE }) as AsyncIterable<Uint8Array>;
}

/** A reshdr's fields as the blob table writer takes them (without the decoded flags). */
function plainResource(r: { sizeInWim: number; rawFlags: number; offset: number; originalSize: number }): BlobTableRow['resource'] {
  return { sizeInWim: r.sizeInWim, rawFlags: r.rawFlags, offset: r.offset, originalSize: r.originalSize };
}

/** Indexes of the images' metadata rows, in image order (an edited WIM has no solid rows). */
function metadataRowsOf(rows: readonly BlobTableRow[]): number[] {
  return rows.flatMap((r, i) => (r.resource.rawFlags & RESHDR_FLAG_METADATA ? [i] : []));
}

/** References each stream hash gets from the tree: one per dentry and stream, as wimlib counts. */
function countRefs(root: EditNode): Map<string, number> {
  const refs = new Map<string, number>();
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop() as EditNode;
    for (const s of n.streams) if (s.sha1) refs.set(s.sha1, (refs.get(s.sha1) ?? 0) + 1);
    for (const c of n.children) stack.push(c);
  }
  return refs;
}

interface LoadedState {
  header: Uint8Array;
  rawFlags: number;
  fileSize: number;
  compression: string;
  chunkSize: number;
  bootIndex: number;
  blobRows: BlobTableRow[];
  /** Index in blobRows of this image's metadata entry. */
  metadataRow: number;
  blobSizes: Map<string, number>;
  security: Uint8Array;
  descriptors: Uint8Array[];
  root: EditNode;
  oldRefs: Map<string, number>;
  xmlText: string;
  blobTableFlags: number;
  xmlFlags: number;
  integrityFlags: number;
  integrity: { offset: number; size: number; chunkSize: number; checkedBytes: number } | null;
}

/** Opens image `index` (1-based) of the WIM at `path` for editing. */
export async function openWimEdit(path: string, index: number, options: WimEditOptions = {}): Promise<WimEdit> {
  const edit = new Edit(path, index, options);
  await edit.load();
  return edit;
}

class Output {
  private step = 0;
  constructor(
    readonly handle: FileHandle,
    private readonly hook: ((step: number, what: string) => void) | undefined,
  ) {}
  async write(offset: number, bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += (await this.handle.write(bytes, done, bytes.length - done, offset + done)).bytesWritten;
    this.hook?.(this.step++, `write ${bytes.length} at ${offset}`);
  }
  async sync(): Promise<void> {
    await this.handle.sync();
    this.hook?.(this.step++, 'sync');
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new FormatError('DF_TRUNCATED', `the WIM ended at ${offset + done} while reading it back`, { offset, length });
      done += bytesRead;
    }
    return out;
  }
}

class Edit implements WimEdit {
  private state!: LoadedState;
  private pending = new Map<EditNode, PendingData>();
  private dirty = false;
  private readonly now: () => Date;

  constructor(
    readonly path: string,
    readonly index: number,
    private readonly options: WimEditOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async load(): Promise<void> {
    const source = await openWimBytes(this.path, this.options);
    try {
      const wim = await openWim(source);
      const h = wim.header;
      const refuse = (why: string) => new InputError('DF_WIM_EDIT_UNSUPPORTED', `${this.path} cannot be edited in place: ${why}`, { path: this.path });
      if (h.pipable) throw refuse("it is a pipable WIM (convert it with 'wimlib-imagex optimize')");
      if (h.totalParts !== 1 || h.flags.spanned) throw refuse('it is one part of a split WIM (join it first)');
      if (wim.solid || h.version !== WIM_VERSION_DEFAULT) throw refuse('it is a solid WIM (ESD); export it to a non-solid WIM first');
      if (h.flags.readonly) throw refuse('its header is marked read-only');
      if (h.flags.writeInProgress) {
        throw new InputError(
          'DF_WIM_WRITE_IN_PROGRESS',
          `${this.path} is marked as being written: another program is changing it or a commit was interrupted; roll it back to its checkpoint first`,
          { path: this.path },
        );
      }
      if (!Number.isInteger(this.index) || this.index < 1 || this.index > h.imageCount) {
        throw new InputError('DF_WIM_NO_SUCH_IMAGE', `${this.path} has no image ${this.index}: give an index from 1 to ${h.imageCount}`, { index: this.index });
      }
      const entries = wim.blobTable.entries;
      const blobRows = entries.map((e) => ({ resource: plainResource(e.resource), partNumber: e.partNumber, refCount: e.refCount, sha1: e.sha1 }));
      const metadataRows = metadataRowsOf(blobRows);
      const metadataRow = metadataRows[this.index - 1];
      if (metadataRow === undefined) {
        throw new FormatError('DF_WIM_BAD_BLOB_TABLE', `${this.path}: the blob table lists ${metadataRows.length} metadata resources for ${h.imageCount} images`, {});
      }
      const buf = await (await openBlob(wim, entries[metadataRow], { verify: true })).readAll();
      this.adopt({
        header: await source.read(0, WIM_HEADER_SIZE),
        rawFlags: h.rawFlags,
        fileSize: source.size,
        compression: h.compression,
        chunkSize: h.chunkSize,
        bootIndex: h.bootIndex,
        blobRows,
        metadataRow,
        metadata: buf,
        xmlText: wim.xml.text,
        blobTableFlags: h.blobTable.rawFlags,
        xmlFlags: h.xmlData.rawFlags,
        integrityFlags: h.integrityTable.rawFlags,
        integrity: wim.integrity
          ? { offset: h.integrityTable.offset, size: wim.integrity.size, chunkSize: wim.integrity.chunkSize, checkedBytes: wim.integrity.checkedBytes }
          : null,
      });
    } finally {
      await source.close();
    }
  }

  /** Takes the state of the WIM as it is on disk: from load(), or from what commit() has just
   *  written (so a commit does not read back and parse again the tables and XML it wrote). */
  private adopt(on: Omit<LoadedState, 'blobSizes' | 'security' | 'descriptors' | 'root' | 'oldRefs'> & { metadata: Uint8Array }): void {
    const { metadata: buf, ...rest } = on;
    const metadata = parseMetadataResource(buf, `${this.path} image ${this.index} metadata`);
    const root = editTreeFrom(buf, metadata.root);
    const blobSizes = new Map<string, number>();
    for (const r of rest.blobRows) if (!(r.resource.rawFlags & RESHDR_FLAG_METADATA)) blobSizes.set(r.sha1, r.resource.originalSize);
    this.state = {
      ...rest,
      blobSizes,
      security: new Uint8Array(buf.subarray(0, metadata.security.totalLength)),
      descriptors: metadata.security.descriptors.map((d) => new Uint8Array(d)),
      root,
      oldRefs: countRefs(root),
    };
    this.pending = new Map();
    this.dirty = false;
  }

  // ---- staged tree ----

  private find(path: string): EditNode | undefined {
    let d = this.state.root;
    for (const part of splitPath(path)) {
      const key = foldName(part);
      const matches = d.children.filter((c) => foldName(c.name) === key);
      if (matches.length === 0) return undefined;
      d = matches.find((m) => m.name === part) ?? matches[0];
    }
    return d;
  }

  private require(path: string): EditNode {
    const n = this.find(path);
    if (!n) throw new InputError('DF_WIM_PATH_NOT_FOUND', `image ${this.index} has no file or folder ${path}`, { path, image: this.index });
    return n;
  }

  private requireDir(path: string): EditNode {
    const n = this.require(path);
    if (!isDirectoryNode(n) || n.attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
      throw new InputError('DF_WIM_NOT_A_DIRECTORY', `${path} in image ${this.index} is not a folder`, { path });
    }
    return n;
  }

  /** Parent folder and final name of `path`, which must not be the root. */
  private parentOf(path: string): { parent: EditNode; name: string } {
    const parts = splitPath(path);
    if (parts.length === 0) throw new InputError('DF_WIM_BAD_PATH', 'the root folder of an image cannot be added, moved or deleted', { path });
    const name = parts[parts.length - 1];
    checkName(name, path);
    return { parent: this.requireDir(`/${parts.slice(0, -1).join('/')}`), name };
  }

  private childNamed(dir: EditNode, name: string): EditNode | undefined {
    const key = foldName(name);
    return dir.children.find((c) => foldName(c.name) === key);
  }

  private pendingOf(data: Uint8Array | string): PendingData {
    if (typeof data !== 'string') return { kind: 'bytes', data };
    let size: number;
    try {
      const st = statSync(data);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch (e) {
      throw new InputError('DF_WIM_SOURCE_UNREADABLE', `cannot add ${data} to the image: ${e instanceof Error ? e.message : String(e)}`, { path: data });
    }
    return { kind: 'file', path: data, size };
  }

  private newNode(parent: EditNode, name: string, attributes: number): EditNode {
    const t = dateToFiletime(this.now());
    return {
      name,
      shortName: '',
      attributes,
      securityId: parent.securityId, // what Windows would inherit; exact for the common case
      creationTime: t,
      lastAccessTime: t,
      lastWriteTime: t,
      hardLinkGroupId: 0n,
      reparseTag: null,
      streams: [{ name: '', type: 'data', sha1: null }],
      parent,
      children: [],
      rawDentry: null,
      rawExtra: new Uint8Array(0),
      renamed: false,
      dataHash: null,
    };
  }

  /** Every dentry of `node`'s hard link group (just `node` when it is not linked). */
  private linkGroup(node: EditNode): EditNode[] {
    if (node.hardLinkGroupId === 0n) return [node];
    const out: EditNode[] = [];
    const stack = [this.state.root];
    while (stack.length > 0) {
      const n = stack.pop() as EditNode;
      if (n.hardLinkGroupId === node.hardLinkGroupId && !isDirectoryNode(n)) out.push(n);
      for (const c of n.children) stack.push(c);
    }
    return out;
  }

  replaceFile(path: string, data: Uint8Array | string): void {
    const node = this.require(path);
    if (isDirectoryNode(node)) throw new InputError('DF_WIM_IS_DIRECTORY', `${path} in image ${this.index} is a folder, not a file`, { path });
    if (node.rawDentry && !node.dataHash) {
      throw new InputError('DF_WIM_EDIT_UNSUPPORTED', `${path} in image ${this.index} is a reparse point or an encrypted file; its contents cannot be replaced`, { path });
    }
    const pending = this.pendingOf(data);
    const t = dateToFiletime(this.now());
    // Hard links are one file: every name sees the new contents.
    for (const n of this.linkGroup(node)) {
      this.pending.set(n, pending);
      n.lastWriteTime = t;
    }
    this.dirty = true;
  }

  addFile(path: string, data: Uint8Array | string, options: AddFileOptions = {}): void {
    const parts = splitPath(path);
    if (parts.length > 1) this.mkdir(`/${parts.slice(0, -1).join('/')}`);
    const { parent, name } = this.parentOf(path);
    const existing = this.childNamed(parent, name);
    if (existing) {
      if (!options.overwrite || isDirectoryNode(existing)) {
        throw new InputError('DF_WIM_PATH_EXISTS', `${path} already exists in image ${this.index}`, { path });
      }
      this.replaceFile(path, data);
      return;
    }
    const pending = this.pendingOf(data);
    const node = this.newNode(parent, name, (options.attributes ?? FILE_ATTRIBUTE_ARCHIVE) & ~FILE_ATTRIBUTE_DIRECTORY);
    parent.children.push(node);
    this.pending.set(node, pending);
    this.dirty = true;
  }

  mkdir(path: string): void {
    let dir = this.state.root;
    let walked = '';
    for (const part of splitPath(path)) {
      checkName(part, path);
      walked += `/${part}`;
      const existing = this.childNamed(dir, part);
      if (existing) {
        if (!isDirectoryNode(existing) || existing.attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
          throw new InputError('DF_WIM_NOT_A_DIRECTORY', `${walked} in image ${this.index} is not a folder`, { path: walked });
        }
        dir = existing;
        continue;
      }
      const node = this.newNode(dir, part, FILE_ATTRIBUTE_DIRECTORY);
      node.streams = [{ name: '', type: 'data', sha1: null }];
      dir.children.push(node);
      dir = node;
      this.dirty = true;
    }
  }

  async addTree(imagePath: string, localFolder: string): Promise<void> {
    this.mkdir(imagePath);
    const base = splitPath(imagePath).join('/');
    const walk = async (local: string, inImage: string): Promise<void> => {
      const names = (await readdir(local)).sort();
      for (const name of names) {
        const from = join(local, name);
        const to = `${inImage}/${name}`;
        const st = await lstat(from);
        if (st.isDirectory()) {
          this.mkdir(to);
          await walk(from, to);
        } else if (st.isFile()) {
          this.addFile(to, from, { overwrite: true });
        }
        // Symbolic links, sockets and devices have no Windows meaning here: skipped.
      }
    };
    await walk(localFolder, `/${base}`);
  }

  delete(path: string): void {
    const { parent } = this.parentOf(path);
    const node = this.require(path);
    parent.children = parent.children.filter((c) => c !== node);
    const stack = [node];
    while (stack.length > 0) {
      const n = stack.pop() as EditNode;
      this.pending.delete(n);
      for (const c of n.children) stack.push(c);
    }
    this.dirty = true;
  }

  rename(from: string, to: string): void {
    const node = this.require(from);
    if (node === this.state.root) throw new InputError('DF_WIM_BAD_PATH', 'the root folder of an image cannot be moved', { path: from });
    const { parent, name } = this.parentOf(to);
    for (let p: EditNode | null = parent; p; p = p.parent) {
      if (p === node) throw new InputError('DF_WIM_BAD_PATH', `cannot move ${from} into itself (${to})`, { from, to });
    }
    const existing = this.childNamed(parent, name);
    if (existing && existing !== node) throw new InputError('DF_WIM_PATH_EXISTS', `${to} already exists in image ${this.index}`, { path: to });
    const oldParent = node.parent as EditNode;
    oldParent.children = oldParent.children.filter((c) => c !== node);
    parent.children.push(node);
    node.parent = parent;
    if (node.name !== name) {
      node.name = name;
      // Windows makes a new 8.3 name for the new long name; keeping the old one would be wrong.
      node.shortName = '';
      node.renamed = true;
    }
    this.dirty = true;
  }

  exists(path: string): boolean {
    return this.find(path) !== undefined;
  }

  isDirty(): boolean {
    return this.dirty;
  }

  stat(path: string): WimEntryStat {
    const n = this.require(path);
    const pending = this.pending.get(n);
    const sizeOf = (sha1: string | null) => (sha1 === null ? 0 : (this.state.blobSizes.get(sha1) ?? null));
    const streams = n.streams.map((s) => ({ name: s.name, type: s.type, sha1: s.sha1, size: sizeOf(s.sha1) }));
    const unnamed = streams.find((s) => s.type === 'data' && s.name === '');
    if (pending && unnamed) {
      unnamed.sha1 = null;
      unnamed.size = pending.kind === 'bytes' ? pending.data.length : pending.size;
    }
    let fullPath = '';
    for (let p: EditNode | null = n; p?.parent; p = p.parent) fullPath = `/${p.name}${fullPath}`;
    return {
      path: fullPath || '/',
      name: n.name,
      shortName: n.shortName,
      attributes: n.attributes,
      isDirectory: isDirectoryNode(n),
      creationTime: n.creationTime,
      lastAccessTime: n.lastAccessTime,
      lastWriteTime: n.lastWriteTime,
      securityId: n.securityId,
      securityDescriptor: n.securityId >= 0 ? (this.state.descriptors[n.securityId] ?? null) : null,
      size: unnamed?.size ?? 0,
      streams,
      reparseTag: n.reparseTag,
      hardLinkGroupId: n.hardLinkGroupId,
      linkCount: n.hardLinkGroupId === 0n ? 1 : this.linkGroup(n).length,
    };
  }

  // ---- commit ----

  async commit(): Promise<WimCommitResult> {
    const s = this.state;
    if (this.options.openSource && this.dirty) {
      throw new InputError('DF_WIM_READ_ONLY', `${this.path} was opened read-only (from another container); export it to a WIM file to edit it`, { path: this.path });
    }
    if (!this.dirty) {
      const metadataSha1 = s.blobRows[s.metadataRow].sha1;
      return { changed: false, blobsWritten: 0, blobsReused: 0, bytesAppended: 0, metadataSha1, fileSize: s.fileSize };
    }
    const compression = s.compression === 'xpress' && (this.options.compressNew ?? 'xpress') === 'xpress' ? 'xpress' : 'none';
    const handle = await open(this.path, 'r+');
    let marked = false;
    try {
      const out = new Output(handle, this.options.onWrite);
      // Someone else may have changed the file since it was loaded.
      const { size } = await handle.stat();
      const onDisk = await out.read(0, WIM_HEADER_SIZE);
      if (size !== s.fileSize || !Buffer.from(onDisk).equals(s.header)) {
        throw new InputError('DF_WIM_CHANGED', `${this.path} changed on disk since it was opened for editing; open it again`, { path: this.path });
      }
      // 1. Mark the header, as wimlib does, before anything is appended.
      const flagged = Buffer.from(s.header);
      flagged.writeUInt32LE((s.rawFlags | HDR_FLAG_WRITE_IN_PROGRESS) >>> 0, 0x10);
      marked = true;
      await out.write(0, flagged);
      await out.sync();

      // 2. New blobs, deduplicated by SHA-1 against the blob table and each other.
      let pos = s.fileSize;
      const start = pos;
      const rows = s.blobRows.map((r) => ({ ...r, resource: { ...r.resource } }));
      const bySha = new Map<string, number>();
      rows.forEach((r, i) => {
        if (i !== s.metadataRow && !(r.resource.rawFlags & RESHDR_FLAG_METADATA)) bySha.set(r.sha1, i);
      });
      const hashed = new Map<PendingData, { sha1: string; size: number }>();
      const sizes = new Map(s.blobSizes);
      let blobsWritten = 0;
      let blobsReused = 0;
      const newRows: BlobTableRow[] = [];
      const newShas = new Set<string>();
      for (const [node, data] of this.pending) {
        let h = hashed.get(data);
        if (!h) {
          h = await hashPieces(piecesOf(data));
          hashed.set(data, h);
          if (h.size === 0) {
            // Empty contents: WIM stores no blob, only the all-zero hash.
          } else if (bySha.has(h.sha1) || newShas.has(h.sha1)) {
            blobsReused++;
          } else {
            const written = await writeResource(out, pos, piecesOf(data), h.size, compression, s.chunkSize);
            newRows.push({
              resource: { sizeInWim: written.sizeInWim, rawFlags: written.compressed ? RESHDR_FLAG_COMPRESSED : 0, offset: pos, originalSize: h.size },
              partNumber: 1,
              refCount: 0,
              sha1: h.sha1,
            });
            sizes.set(h.sha1, h.size);
            newShas.add(h.sha1);
            pos += written.sizeInWim;
            blobsWritten++;
          }
        }
        setDataSha1(node, h.size === 0 ? null : h.sha1);
      }

      // 3. The edited image's metadata resource.
      const metadata = serializeMetadata(s.security, s.root);
      const metadataSha1 = createHash('sha1').update(metadata).digest('hex');
      const written = await writeResource(out, pos, piecesOf({ kind: 'bytes', data: metadata }), metadata.length, compression, s.chunkSize);
      const metadataResource = {
        sizeInWim: written.sizeInWim,
        rawFlags: RESHDR_FLAG_METADATA | (written.compressed ? RESHDR_FLAG_COMPRESSED : 0),
        offset: pos,
        originalSize: metadata.length,
      };
      pos += written.sizeInWim;

      // 4. The blob table: reference counts moved by the difference between the old and the
      // new tree; blobs nothing references any more are dropped (their bytes stay as a hole,
      // as after wimlib's append).
      const newRefs = countRefs(s.root);
      const delta = new Map<string, number>();
      for (const [sha, n] of s.oldRefs) delta.set(sha, (delta.get(sha) ?? 0) - n);
      for (const [sha, n] of newRefs) delta.set(sha, (delta.get(sha) ?? 0) + n);
      const table: BlobTableRow[] = [];
      rows.forEach((r, i) => {
        if (i === s.metadataRow) {
          table.push({ resource: metadataResource, partNumber: 1, refCount: 1, sha1: metadataSha1 });
          return;
        }
        if (r.resource.rawFlags & RESHDR_FLAG_METADATA) {
          table.push(r);
          return;
        }
        const d = delta.get(r.sha1) ?? 0;
        if (d === 0) {
          table.push(r);
          return;
        }
        const count = r.refCount + d;
        if (count > 0) table.push({ ...r, refCount: count });
        else if ((newRefs.get(r.sha1) ?? 0) > 0) table.push({ ...r, refCount: newRefs.get(r.sha1) as number });
      });
      for (const r of newRows) table.push({ ...r, refCount: newRefs.get(r.sha1) ?? 1 });
      const tableBytes = serializeBlobTable(table);
      const tableResource = { sizeInWim: tableBytes.length, rawFlags: s.blobTableFlags, offset: pos, originalSize: tableBytes.length };
      await out.write(pos, tableBytes);
      pos += tableBytes.length;
      const blobTableEnd = pos;

      // 5. XML: counts of the edited image, its modification time, and where the XML starts.
      const stats = imageStats(s.root, sizes);
      const xmlText = updateWimXml(s.xmlText, this.index, { ...stats, lastModificationTime: dateToFiletime(this.now()) }, pos);
      const xml = encodeWimXml(xmlText);
      const xmlResource = { sizeInWim: xml.length, rawFlags: s.xmlFlags, offset: pos, originalSize: xml.length };
      await out.write(pos, xml);
      pos += xml.length;

      // 6. Integrity table, when the WIM had one: covers 208 → end of the new blob table.
      let integrityResource = { sizeInWim: 0, rawFlags: 0, offset: 0, originalSize: 0 };
      if (s.integrity && this.options.base) {
        // A patch export writes none; one added since would need the base's bytes hashed here.
        throw new InputError('DF_WIM_EDIT_UNSUPPORTED', `${this.path} is a patch WIM with an integrity table, which cannot be updated over its base`, { path: this.path });
      }
      if (s.integrity) {
        const oldHashes = await out.read(s.integrity.offset + 12, s.integrity.size - 12);
        const old: OldIntegrity = { chunkSize: s.integrity.chunkSize, hashes: oldHashes, checkedBytes: s.integrity.checkedBytes };
        const integrity = await buildIntegrityTable((o, l) => out.read(o, l), blobTableEnd, s.integrity.chunkSize, old);
        integrityResource = { sizeInWim: integrity.length, rawFlags: s.integrityFlags, offset: pos, originalSize: integrity.length };
        await out.write(pos, integrity);
        pos += integrity.length;
      }
      // A resource that did not shrink was rewritten raw over its longer compressed attempt.
      await handle.truncate(pos);
      await out.sync();

      // 7. The header last: it switches readers from the old tables to the new ones.
      const header = Buffer.from(s.header);
      header.writeUInt32LE((s.rawFlags & ~HDR_FLAG_WRITE_IN_PROGRESS) >>> 0, 0x10);
      writeResourceHeader(header, 0x30, tableResource);
      writeResourceHeader(header, 0x48, xmlResource);
      if (s.bootIndex === this.index) writeResourceHeader(header, 0x60, metadataResource);
      writeResourceHeader(header, 0x7c, integrityResource);
      await out.write(0, header);
      await out.sync();
      marked = false;
      const result: WimCommitResult = { changed: true, blobsWritten, blobsReused, bytesAppended: pos - start, metadataSha1, fileSize: pos };
      await handle.close();
      // The new state is what was just written (a test checks it equals a fresh load()).
      this.adopt({
        header,
        rawFlags: s.rawFlags,
        fileSize: pos,
        compression: s.compression,
        chunkSize: s.chunkSize,
        bootIndex: s.bootIndex,
        blobRows: table,
        // Rows before it may have been dropped, so its place is looked up again.
        metadataRow: metadataRowsOf(table)[this.index - 1],
        metadata,
        xmlText,
        blobTableFlags: s.blobTableFlags,
        xmlFlags: s.xmlFlags,
        integrityFlags: s.integrityFlags,
        integrity: s.integrity
          ? { offset: integrityResource.offset, size: integrityResource.sizeInWim, chunkSize: s.integrity.chunkSize, checkedBytes: blobTableEnd - WIM_HEADER_SIZE }
          : null,
      });
      return result;
    } catch (error) {
      // Undo what was appended, as wimlib does on a failed append: old size, old header.
      if (marked) {
        await handle.truncate(s.fileSize).catch(() => {});
        await handle.write(s.header, 0, WIM_HEADER_SIZE, 0).catch(() => {});
        await handle.sync().catch(() => {});
      }
      throw error;
    } finally {
      await handle.close().catch(() => {});
    }
  }

  checkpoint(): Promise<WimCheckpoint> {
    return takeWimCheckpoint(this.path, this.now);
  }

  /** Restores the file to `checkpoint` and drops staged changes. */
  async rollback(checkpoint: WimCheckpoint): Promise<void> {
    if (checkpoint.path !== this.path) {
      throw new InputError('DF_WIM_CHECKPOINT', `the checkpoint is of ${checkpoint.path}, not of ${this.path}`, { path: this.path });
    }
    await rollbackWim(checkpoint);
    await this.load();
  }
}

function setDataSha1(node: EditNode, sha1: string | null): void {
  const stream = node.streams.find((x: WimStream) => x.type === 'data' && x.name === '');
  if (stream) stream.sha1 = sha1;
  else node.streams.unshift({ name: '', type: 'data', sha1 });
}

async function hashPieces(pieces: DataPieces): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const piece of pieces()) {
    hash.update(piece);
    size += piece.length;
  }
  const sha1 = hash.digest('hex');
  return { sha1: size === 0 ? ZERO_SHA1 : sha1, size };
}

/** DIRCOUNT, FILECOUNT, TOTALBYTES, HARDLINKBYTES as wimlib recounts them after an update
 *  (checked against `wimlib-imagex update`/`capture`): the root counts as a folder (WIMGAPI's
 *  own XML leaves it out), reparse points count as files, sizes are of unnamed data streams
 *  and a hard-linked file's later names add to HARDLINKBYTES. */
export function imageStats(root: EditNode, sizes: Map<string, number>): { dirCount: number; fileCount: number; totalBytes: number; hardLinkBytes: number } {
  let dirCount = 0;
  let fileCount = 0;
  let totalBytes = 0;
  let hardLinkBytes = 0;
  const seenGroups = new Set<bigint>();
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop() as EditNode;
    for (const c of n.children) stack.push(c);
    if (isDirectoryNode(n) && !(n.attributes & FILE_ATTRIBUTE_REPARSE_POINT)) dirCount++;
    else fileCount++;
    const sha = dataSha1(n);
    const size = sha ? (sizes.get(sha) ?? 0) : 0;
    totalBytes += size;
    if (n.hardLinkGroupId !== 0n && !isDirectoryNode(n)) {
      if (seenGroups.has(n.hardLinkGroupId)) hardLinkBytes += size;
      else seenGroups.add(n.hardLinkGroupId);
    }
  }
  return { dirCount, fileCount, totalBytes, hardLinkBytes };
}
