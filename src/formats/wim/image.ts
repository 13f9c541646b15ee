// One image of a WIM (or of a split set) opened for reading: its directory tree from the
// metadata resource, path lookup that ignores case as Windows does, and file contents as
// ByteSources found by SHA-1 through the blob tables of every part. This is what
// `deployforge wim ls/stat/cat` use. It never writes; editing belongs to a later module.
import { FormatError, InputError } from '../../errors.js';
import { type BlobTableEntry, metadataEntries } from './blob-table.js';
import { FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_REPARSE_POINT, isHardLinked, type WimStreamType } from './dentry.js';
import { parseMetadataResource, type WimDentry, type WimMetadata } from './metadata.js';
import { type BlobReadOptions, type BlobSource, emptyBlobSource, openBlob } from './resource-reader.js';
import type { WimFile } from './wim-file.js';
import type { WimImageInfo } from './xml-info.js';

/** Metadata resources past this are refused rather than loaded (Windows 11's largest image
 *  metadata is around 100 MiB). */
export const MAX_METADATA_SIZE = 1 << 30;

/** A WIM, or the parts of a split WIM (.swm), read as one. */
export interface WimSet {
  /** Parts in part-number order; parts[0] is part 1, which holds the metadata and XML. */
  parts: WimFile[];
  /** Every blob of every part by SHA-1. */
  readonly blobs: Map<string, { wim: WimFile; entry: BlobTableEntry }>;
}

/** Groups the parts of a split WIM (any order) or a single WIM. All parts must be present and
 *  share one GUID. */
export function openWimSet(parts: WimFile[]): WimSet {
  return collectParts(parts, true);
}

function collectParts(parts: WimFile[], requireComplete: boolean): WimSet {
  if (parts.length === 0) throw new InputError('DF_WIM_SET_EMPTY', 'no WIM parts given: pass every .swm part of the set');
  const sorted = [...parts].sort((a, b) => a.header.partNumber - b.header.partNumber);
  const first = sorted[0];
  const total = first.header.totalParts;
  if (requireComplete && sorted.length !== total) {
    const have = sorted.map((p) => p.header.partNumber).join(', ');
    throw new InputError('DF_WIM_SET_INCOMPLETE', `the split WIM has ${total} parts but parts ${have} were given: pass every part once`, { total, have });
  }
  if (sorted.some((p, i) => p.header.partNumber !== i + 1 || p.header.totalParts !== total)) {
    const have = sorted.map((p) => p.header.partNumber).join(', ');
    throw new InputError('DF_WIM_SET_INCOMPLETE', `the split WIM has ${total} parts but parts ${have} were given: pass every part once`, { total, have });
  }
  const guid = first.header.guid;
  const other = sorted.find((p) => p.header.guid !== guid);
  if (other) throw new InputError('DF_WIM_SET_MISMATCH', `${other.source.name} belongs to another split WIM (GUID ${other.header.guid}, not ${guid})`, {});
  // Built on first use: a listing of names needs no blob lookups, and an image's blob table
  // has as many entries as it has distinct files (~100,000 for Windows).
  let blobs: WimSet['blobs'] | undefined;
  return {
    parts: sorted,
    get blobs() {
      if (!blobs) {
        blobs = new Map();
        for (const wim of sorted) {
          for (const entry of wim.blobTable.entries) {
            if (entry.kind === 'solid-resource' || entry.kind === 'metadata' || entry.partNumber !== wim.header.partNumber) continue;
            if (!blobs.has(entry.sha1)) blobs.set(entry.sha1, { wim, entry });
          }
        }
      }
      return blobs;
    },
  };
}

export interface WimStreamInfo {
  name: string;
  type: WimStreamType;
  sha1: string | null;
  /** Uncompressed size; null when the blob is in no part of the WIM. */
  size: number | null;
}

export interface WimEntryStat {
  path: string;
  name: string;
  shortName: string;
  attributes: number;
  isDirectory: boolean;
  /** FILETIMEs (100 ns since 1601-01-01 UTC). */
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  securityId: number;
  /** The self-relative security descriptor, or null when the entry has none. */
  securityDescriptor: Uint8Array | null;
  /** Size of the unnamed data stream (0 for directories). */
  size: number;
  streams: WimStreamInfo[];
  reparseTag: number | null;
  /** 0n when not hard linked. */
  hardLinkGroupId: bigint;
  /** Names this file has in the image (1 unless hard linked). */
  linkCount: number;
}

export interface WimImage {
  index: number;
  info: WimImageInfo;
  metadata: WimMetadata;
  root: WimDentry;
  warnings: string[];
  /** The dentry at `path` ('/' or '\\' separated, case-insensitive), or undefined. */
  lookup(path: string): WimDentry | undefined;
  stat(path: string): WimEntryStat;
  list(path: string): WimEntryStat[];
  /** Every entry, parents before children, in on-disk order. */
  walk(): Generator<WimEntryStat>;
  /** Every entry's path, in walk() order, without building the entries' stat (what a listing
   *  of names needs, as `wimlib-imagex dir` prints). */
  walkPaths(): Generator<string>;
  /** The contents of a file's unnamed data stream, or of the named data stream `stream`. */
  openFile(path: string, stream?: string, options?: BlobReadOptions): Promise<BlobSource>;
}

export interface OpenImageOptions {
  /** Check the metadata resource's SHA-1 (default true). */
  verify?: boolean;
}

/** Windows compares names case-insensitively by upcasing each UTF-16 unit (NTFS $UpCase). */
export function foldName(name: string): string {
  const upper = name.toUpperCase();
  if (upper.length === name.length) return upper;
  let out = '';
  for (const ch of name) {
    const u = ch.toUpperCase();
    out += u.length === ch.length ? u : ch;
  }
  return out;
}

function splitPath(path: string): string[] {
  return path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
}

/** Opens image `index` (1-based) of a WIM or a split set. */
export async function openWimImage(wim: WimFile | WimSet, index: number, options: OpenImageOptions = {}): Promise<WimImage> {
  // One file alone may be part 1 of a split set: its tree reads, blobs in other parts do not.
  const set = 'parts' in wim ? wim : collectParts([wim], false);
  const first = set.parts[0];
  const count = first.header.imageCount;
  if (!Number.isInteger(index) || index < 1 || index > count) {
    throw new InputError('DF_WIM_NO_SUCH_IMAGE', `${first.source.name} has no image ${index}: give an index from 1 to ${count}`, { index, count });
  }
  const described = metadataEntries(first.blobTable);
  const entry = described[index - 1];
  if (!entry) {
    throw new FormatError('DF_WIM_BAD_BLOB_TABLE', `${first.source.name}: the blob table lists ${described.length} metadata resources for ${count} images; the WIM is corrupt`, {
      count,
    });
  }
  if (entry.size > MAX_METADATA_SIZE) {
    throw new FormatError('DF_WIM_BAD_RESOURCE', `${first.source.name}: image ${index}'s metadata claims ${entry.size} bytes, too large to be real`, { size: entry.size });
  }
  const blob = await openBlob(first, entry, { verify: options.verify ?? true });
  const metadata = parseMetadataResource(await blob.readAll(), `${first.source.name} image ${index} metadata`);
  return new Image(set, index, first.images[index - 1], metadata);
}

class Image implements WimImage {
  readonly root: WimDentry;
  readonly warnings: string[];
  private readonly indexes = new WeakMap<WimDentry, Map<string, WimDentry[]>>();
  /** Entries per hard link group, counted on first use (stat needs it, a listing of names not). */
  private linkCountsCache: Map<bigint, number> | undefined;

  constructor(
    private readonly set: WimSet,
    readonly index: number,
    readonly info: WimImageInfo,
    readonly metadata: WimMetadata,
  ) {
    this.root = metadata.root;
    this.warnings = metadata.warnings;
  }

  private get linkCounts(): Map<bigint, number> {
    if (!this.linkCountsCache) {
      const counts = new Map<bigint, number>();
      const stack: WimDentry[] = [this.root];
      while (stack.length > 0) {
        const d = stack.pop() as WimDentry;
        if (isHardLinked(d)) counts.set(d.hardLinkGroupId, (counts.get(d.hardLinkGroupId) ?? 0) + 1);
        for (const c of d.children) stack.push(c);
      }
      this.linkCountsCache = counts;
    }
    return this.linkCountsCache;
  }

  private *dentries(): Generator<WimDentry> {
    const stack: WimDentry[] = [this.root];
    while (stack.length > 0) {
      const d = stack.pop() as WimDentry;
      yield d;
      for (let i = d.children.length - 1; i >= 0; i--) stack.push(d.children[i]);
    }
  }

  private childIndex(dir: WimDentry): Map<string, WimDentry[]> {
    let map = this.indexes.get(dir);
    if (!map) {
      map = new Map();
      for (const child of dir.children) {
        const key = foldName(child.name);
        const list = map.get(key);
        if (list) list.push(child);
        else map.set(key, [child]);
      }
      this.indexes.set(dir, map);
    }
    return map;
  }

  lookup(path: string): WimDentry | undefined {
    let d: WimDentry = this.root;
    for (const part of splitPath(path)) {
      const matches = this.childIndex(d).get(foldName(part));
      if (!matches) return undefined;
      // Several names can differ only in case (wimlib captures from Linux keep them): an
      // exact match wins, otherwise the first in on-disk order.
      d = matches.find((m) => m.name === part) ?? matches[0];
    }
    return d;
  }

  private require(path: string): WimDentry {
    const d = this.lookup(path);
    if (!d) throw new InputError('DF_WIM_PATH_NOT_FOUND', `image ${this.index} has no file or folder ${path}`, { path, image: this.index });
    return d;
  }

  private streamInfo(sha1: string | null): number | null {
    if (sha1 === null) return 0;
    return this.set.blobs.get(sha1)?.entry.size ?? null;
  }

  private statOf(d: WimDentry): WimEntryStat {
    const streams = d.streams.map((s) => ({ name: s.name, type: s.type, sha1: s.sha1, size: this.streamInfo(s.sha1) }));
    const unnamed = streams.find((s) => s.type === 'data' && s.name === '');
    const sd = d.securityId >= 0 ? this.metadata.security.descriptors[d.securityId] : undefined;
    return {
      path: d.path,
      name: d.name,
      shortName: d.shortName,
      attributes: d.attributes,
      isDirectory: (d.attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0,
      creationTime: d.creationTime,
      lastAccessTime: d.lastAccessTime,
      lastWriteTime: d.lastWriteTime,
      securityId: d.securityId,
      securityDescriptor: sd ?? null,
      size: unnamed?.size ?? 0,
      streams,
      reparseTag: (d.attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0 ? d.reparseTag : null,
      hardLinkGroupId: d.hardLinkGroupId,
      linkCount: d.hardLinkGroupId === 0n ? 1 : (this.linkCounts.get(d.hardLinkGroupId) ?? 1),
    };
  }

  stat(path: string): WimEntryStat {
    return this.statOf(this.require(path));
  }

  list(path: string): WimEntryStat[] {
    const d = this.require(path);
    if ((d.attributes & FILE_ATTRIBUTE_DIRECTORY) === 0) throw new InputError('DF_WIM_NOT_A_DIRECTORY', `${d.path} in image ${this.index} is a file, not a folder`, { path });
    return d.children.map((c) => this.statOf(c));
  }

  *walk(): Generator<WimEntryStat> {
    for (const d of this.dentries()) yield this.statOf(d);
  }

  *walkPaths(): Generator<string> {
    for (const d of this.dentries()) yield d.path;
  }

  async openFile(path: string, stream = '', options: BlobReadOptions = {}): Promise<BlobSource> {
    const d = this.require(path);
    if (stream === '' && (d.attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0) {
      throw new InputError('DF_WIM_IS_DIRECTORY', `${d.path} in image ${this.index} is a folder, not a file`, { path });
    }
    const wanted = foldName(stream);
    const s = d.streams.find((x) => x.type === 'data' && foldName(x.name) === wanted);
    if (!s) {
      throw new InputError('DF_WIM_NO_SUCH_STREAM', `${d.path} in image ${this.index} has no data stream "${stream}"`, { path, stream });
    }
    const name = `${d.path}${stream ? `:${stream}` : ''} in image ${this.index}`;
    if (s.sha1 === null) return emptyBlobSource(name);
    const found = this.set.blobs.get(s.sha1);
    if (!found) {
      throw new FormatError('DF_WIM_BLOB_MISSING', `${name}: its data (SHA-1 ${s.sha1}) is in no part of the WIM; the WIM is incomplete (give every .swm part)`, {
        sha1: s.sha1,
      });
    }
    return openBlob(found.wim, found.entry, options);
  }
}
