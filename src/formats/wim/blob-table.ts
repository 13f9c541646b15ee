// The blob table (formerly "lookup table"): one 50-byte entry per stored blob, giving where it
// lives, which split part holds it, how many references it has and its SHA-1
// (ebiggers/wimlib:include/wimlib/blob_table.h, blob_descriptor_disk). It locates blobs; it does
// not read or decompress them.
import { FormatError } from '../../errors.js';
import { hexOf, u16le, u32le, u64le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import type { WimCompression, WimHeader } from './header.js';
import {
  checkResourceHeader,
  isEmptyResource,
  isSolidResourceEntry,
  parseResourceHeader,
  RESHDR_FLAG_METADATA,
  RESHDR_FLAG_SOLID,
  type WimResourceHeader,
} from './resource-header.js';

export const BLOB_ENTRY_SIZE = 50;
/** Header at the start of a solid resource: u64 uncompressed size, u32 chunk size, u32
 *  compression format (resource.h alt_chunk_table_header_disk). */
const SOLID_HEADER_SIZE = 16;
/** Compression codes in a solid resource header (wimlib.h WIMLIB_COMPRESSION_TYPE_*). */
const SOLID_COMPRESSION: Readonly<Record<number, WimCompression>> = { 0: 'none', 1: 'xpress', 2: 'lzx', 3: 'lzms' };

export type BlobEntryKind = 'metadata' | 'file' | 'solid-resource' | 'solid-blob';

export interface BlobTableEntry {
  kind: BlobEntryKind;
  resource: WimResourceHeader;
  /** Uncompressed size of the blob. A blob inside a solid resource stores it in the
   *  size_in_wim field (its original-size field is 0); for a solid resource's own entry this is
   *  the stored size, since the real one lives in `solidResources`. */
  size: number;
  partNumber: number;
  refCount: number;
  /** SHA-1 as 40 lowercase hex digits (all zero for a solid resource's own entry). */
  sha1: string;
  /** For a blob inside a solid resource: which one (index into `solidResources`) and where in
   *  its uncompressed data; null when no preceding solid resource covers the offset. */
  solid: { resource: number; offset: number } | null;
}

export interface SolidResourceInfo {
  /** Index of the describing entry in `entries`. */
  entry: number;
  offset: number;
  sizeInWim: number;
  partNumber: number;
  /** From the resource's own header; null when the resource lives in another split part. */
  uncompressedSize: number | null;
  chunkSize: number | null;
  compression: WimCompression | 'unknown' | null;
}

export interface BlobTable {
  entries: BlobTableEntry[];
  solidResources: SolidResourceInfo[];
}

function kindOf(r: WimResourceHeader): BlobEntryKind {
  if (isSolidResourceEntry(r)) return 'solid-resource';
  if (r.flags.solid) return 'solid-blob';
  return r.flags.metadata ? 'metadata' : 'file';
}

/** Reads every entry of the blob table. Blobs in a solid resource give their offset within the
 *  uncompressed data of the run of solid resources listed just before them, as wimlib's
 *  read_blob_table() assigns them. */
export async function readBlobTable(source: ByteSource, header: WimHeader): Promise<BlobTable> {
  const r = header.blobTable;
  if (isEmptyResource(r) || r.originalSize === 0) return { entries: [], solidResources: [] };
  if (r.flags.compressed || r.sizeInWim !== r.originalSize) {
    throw new FormatError(
      'DF_WIM_BAD_BLOB_TABLE',
      `${source.name}: the blob table is stored compressed or with mismatched sizes, which no known writer does; the file is corrupt`,
      {
        sizeInWim: r.sizeInWim,
        originalSize: r.originalSize,
      },
    );
  }
  // wimlib ignores a partial trailing entry; so do we. The range was checked by the header.
  const count = Math.floor(r.originalSize / BLOB_ENTRY_SIZE);
  const bytes = await source.read(r.offset, count * BLOB_ENTRY_SIZE);
  // Every entry's numbers are checked now, so a corrupt table fails here and not at first use.
  let solid = false;
  for (let at = 0; at < bytes.length; at += BLOB_ENTRY_SIZE) {
    checkEntry(bytes, at);
    if (bytes[at + 7] & RESHDR_FLAG_SOLID) solid = true;
  }
  if (!solid) return lazyTable(bytes, count);
  const entries: BlobTableEntry[] = [];
  const solidResources: SolidResourceInfo[] = [];
  let run: number[] = []; // indices into solidResources of the current run
  let previousWasSolidResource = false;
  for (let i = 0; i < count; i++) {
    const entry = entryAt(bytes, i * BLOB_ENTRY_SIZE);
    const kind = entry.kind;
    if (kind === 'solid-resource') {
      if (!previousWasSolidResource) run = [];
      run.push(solidResources.length);
      solidResources.push(await readSolidResourceInfo(source, header, i, entry));
    } else if (kind === 'solid-blob') {
      entry.solid = locateInRun(entry.resource.offset, run, solidResources);
    }
    previousWasSolidResource = kind === 'solid-resource';
    entries.push(entry);
  }
  return { entries, solidResources };
}

/** The checks entryAt makes, without building the entry. */
function checkEntry(bytes: Uint8Array, at: number): void {
  checkResourceHeader(bytes, at);
  u16le(bytes, at + 24);
  u32le(bytes, at + 26);
}

function entryAt(bytes: Uint8Array, at: number): BlobTableEntry {
  const resource = parseResourceHeader(bytes, at);
  const kind = kindOf(resource);
  return {
    kind,
    resource,
    size: kind === 'solid-blob' || kind === 'solid-resource' ? resource.sizeInWim : resource.originalSize,
    partNumber: u16le(bytes, at + 24),
    refCount: u32le(bytes, at + 26),
    sha1: hexOf(bytes, at + 30, at + 50),
    solid: null,
  };
}

// Tables of WIMs without solid resources keep their bytes and build their entries on first use:
// opening an image to list its names needs only the metadata entries, and a Windows image's
// table has ~100,000 entries (three objects each, most of a listing's garbage).
const RAW_TABLES = new WeakMap<BlobTable, { bytes: Uint8Array; parsed: () => boolean }>();

function lazyTable(bytes: Uint8Array, count: number): BlobTable {
  let entries: BlobTableEntry[] | undefined;
  const table: BlobTable = {
    get entries() {
      if (!entries) {
        entries = new Array<BlobTableEntry>(count);
        for (let i = 0; i < count; i++) entries[i] = entryAt(bytes, i * BLOB_ENTRY_SIZE);
      }
      return entries;
    },
    solidResources: [],
  };
  RAW_TABLES.set(table, { bytes, parsed: () => entries !== undefined });
  return table;
}

/** The entries of the images' metadata resources, in table order (as `entries.filter` would
 *  give them), without building the other entries of a table not built yet. */
export function metadataEntries(table: BlobTable): BlobTableEntry[] {
  const raw = RAW_TABLES.get(table);
  if (!raw || raw.parsed()) return table.entries.filter((e) => e.resource.flags.metadata && e.kind !== 'solid-resource');
  const found: BlobTableEntry[] = [];
  // (No solid resources in a lazy table, so every metadata entry is one.)
  for (let at = 0; at < raw.bytes.length; at += BLOB_ENTRY_SIZE) if (raw.bytes[at + 7] & RESHDR_FLAG_METADATA) found.push(entryAt(raw.bytes, at));
  return found;
}

async function readSolidResourceInfo(source: ByteSource, header: WimHeader, index: number, entry: BlobTableEntry): Promise<SolidResourceInfo> {
  const { offset, sizeInWim } = entry.resource;
  const info: SolidResourceInfo = { entry: index, offset, sizeInWim, partNumber: entry.partNumber, uncompressedSize: null, chunkSize: null, compression: null };
  if (entry.partNumber !== header.partNumber) return info;
  if (sizeInWim < SOLID_HEADER_SIZE || offset + SOLID_HEADER_SIZE > source.size) {
    throw new FormatError(
      'DF_WIM_BAD_BLOB_TABLE',
      `${source.name}: solid resource ${index} (${sizeInWim} bytes at ${offset}) does not fit in the file; the WIM is truncated or corrupt`,
      {
        offset,
        sizeInWim,
      },
    );
  }
  const head = await source.read(offset, SOLID_HEADER_SIZE);
  const format = u32le(head, 12);
  info.uncompressedSize = u64le(head, 0);
  info.chunkSize = u32le(head, 8);
  info.compression = SOLID_COMPRESSION[format] ?? 'unknown';
  return info;
}

function locateInRun(offset: number, run: number[], solid: SolidResourceInfo[]): { resource: number; offset: number } | null {
  let base = 0;
  for (const index of run) {
    const size = solid[index].uncompressedSize;
    if (size === null) return null; // in another part: sizes unknown here
    if (offset < base + size) return { resource: index, offset: offset - base };
    base += size;
  }
  return null;
}
