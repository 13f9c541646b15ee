// One on-disk directory entry ("dentry") of a WIM metadata resource, with the extra stream
// entries that follow it (ebiggers/wimlib include/wimlib/dentry.h wim_dentry_on_disk, src/dentry.c
// read_dentry and setup_inode_streams). Parsing only; the tree walk lives in metadata.ts.
import { FormatError } from '../../errors.js';
import { hexOf, u16le, u32le, u64le, u64leBig, utf16le } from '../../util/binary.js';

/** Fixed part of a dentry (WIM_DENTRY_DISK_SIZE) and of an extra stream entry. */
export const DENTRY_DISK_SIZE = 102;
export const EXTRA_STREAM_DISK_SIZE = 38;

export const FILE_ATTRIBUTE_READONLY = 0x1;
export const FILE_ATTRIBUTE_HIDDEN = 0x2;
export const FILE_ATTRIBUTE_SYSTEM = 0x4;
export const FILE_ATTRIBUTE_DIRECTORY = 0x10;
export const FILE_ATTRIBUTE_ARCHIVE = 0x20;
export const FILE_ATTRIBUTE_NORMAL = 0x80;
export const FILE_ATTRIBUTE_REPARSE_POINT = 0x400;
export const FILE_ATTRIBUTE_ENCRYPTED = 0x4000;

const ZERO_SHA1 = '0'.repeat(40);

/** The children of an entry that is not a directory: one shared empty list. */
export const NO_CHILDREN = Object.freeze([]) as unknown as never[];

/** 'data' = file contents (named or not), 'reparse' = the reparse point buffer, 'efsrpc' = an
 *  encrypted file's raw EFS data. */
export type WimStreamType = 'data' | 'reparse' | 'efsrpc';

export interface WimStream {
  /** '' for the unnamed stream. */
  name: string;
  type: WimStreamType;
  /** SHA-1 of the contents as 40 hex digits; null for an empty stream (all-zero hash). */
  sha1: string | null;
}

export interface WimDentryRecord {
  /** Offset of the dentry in the uncompressed metadata resource. */
  offset: number;
  /** Bytes to the next sibling: the 8-aligned dentry length plus its extra stream entries. */
  totalLength: number;
  attributes: number;
  /** Index into the security data, -1 for none. */
  securityId: number;
  /** Offset of the first child in the metadata resource; 0 for none. */
  subdirOffset: number;
  unknown0x18: bigint;
  unknown0x20: bigint;
  /** FILETIMEs: 100 ns ticks since 1601-01-01 UTC. */
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  /** Unknown u32 at 0x54 (kept for rewriting). */
  unknown0x54: number;
  /** For reparse points: the tag and its flags (0x5C: bit 0 set = not fixed up). */
  reparseTag: number | null;
  rpReserved: number;
  rpFlags: number;
  /** Hard link group id (0 = not hard linked); always 0 for reparse points. */
  hardLinkGroupId: bigint;
  name: string;
  shortName: string;
  /** Name length in bytes, so the tree can tell an empty name from no name. */
  nameBytes: number;
  streams: WimStream[];
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function isZeroHash(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 20; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hex(bytes: Uint8Array, at: number): string {
  return hexOf(bytes, at, at + 20);
}

/** Parses the dentry at `offset`; returns null for an end-of-directory entry (length ≤ 8). */
export function parseDentry(buf: Uint8Array, offset: number, name = 'metadata resource'): WimDentryRecord | null {
  const invalid = (why: string) => new FormatError('DF_WIM_BAD_DENTRY', `${name}: the directory entry at ${offset} is invalid (${why}); the image metadata is corrupt`, { offset });
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + 8 > buf.length) throw invalid('it starts past the end of the resource');
  const rawLength = u64le(buf, offset);
  const length = align8(rawLength);
  if (length <= 8) return null;
  if (length < DENTRY_DISK_SIZE) throw invalid(`length ${rawLength} is shorter than the ${DENTRY_DISK_SIZE}-byte fixed part`);
  if (length > buf.length - offset) throw invalid(`length ${rawLength} runs past the end of the resource`);
  const attributes = u32le(buf, offset + 0x08);
  const securityId = u32le(buf, offset + 0x0c) | 0;
  const subdirOffset = u64le(buf, offset + 0x10);
  const isReparse = (attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0;
  const shortNameBytes = u16le(buf, offset + 0x62);
  const nameBytes = u16le(buf, offset + 0x64);
  if ((shortNameBytes | nameBytes) & 1) throw invalid('a name has an odd number of bytes');
  const needed = DENTRY_DISK_SIZE + (nameBytes ? nameBytes + 2 : 0) + (shortNameBytes ? shortNameBytes + 2 : 0);
  if (length < needed) throw invalid(`length ${rawLength} cannot hold its names (${needed} bytes)`);
  let p = offset + DENTRY_DISK_SIZE;
  const fileName = nameBytes ? utf16le(buf, p, p + nameBytes) : '';
  if (nameBytes) p += nameBytes + 2;
  const shortName = shortNameBytes ? utf16le(buf, p, p + shortNameBytes) : '';

  // Extra stream entries follow the 8-aligned dentry; each has its own 8-aligned length.
  const numExtra = u16le(buf, offset + 0x60);
  if (numExtra === 0 && (attributes & FILE_ATTRIBUTE_ENCRYPTED) === 0) {
    // The common case (one unnamed stream): read when asked for (ParsedDentry.streams).
    return new ParsedDentry(buf, offset, length, attributes, securityId, subdirOffset, isReparse, fileName, shortName, nameBytes, null);
  }
  const mainHash = hex(buf, offset + 0x40);
  const raw: { name: string; sha1: string; named: boolean }[] = [{ name: '', sha1: mainHash, named: false }];
  let q = offset + length;
  for (let i = 0; i < numExtra; i++) {
    if (buf.length - q < EXTRA_STREAM_DISK_SIZE) throw invalid(`extra stream entry ${i} runs past the end of the resource`);
    const entryLength = align8(u64le(buf, q));
    if (entryLength < EXTRA_STREAM_DISK_SIZE || entryLength > buf.length - q) throw invalid(`extra stream entry ${i} has bad length ${entryLength}`);
    const streamNameBytes = u16le(buf, q + 36);
    if (streamNameBytes & 1 || EXTRA_STREAM_DISK_SIZE + streamNameBytes > entryLength) throw invalid(`extra stream entry ${i} has a bad name length`);
    const streamName = streamNameBytes ? utf16le(buf, q + 38, q + 38 + streamNameBytes) : '';
    raw.push({ name: streamName, sha1: hex(buf, q + 16), named: streamNameBytes !== 0 });
    q += entryLength;
  }
  return new ParsedDentry(buf, offset, q - offset, attributes, securityId, subdirOffset, isReparse, fileName, shortName, nameBytes, assignStreamTypes(raw, attributes));
}

/** A dentry as parsed: the 64-bit fields (times, hard link group, unknowns) are read from the
 *  metadata buffer when asked for, since a listing of a Windows image (~100,000 entries) rarely
 *  needs them and six BigInts per entry would be most of its garbage. So is the one unnamed
 *  stream of a dentry without extra stream entries (its SHA-1 as hex, an array, an object). */
class ParsedDentry implements WimDentryRecord {
  constructor(
    private readonly buf: Uint8Array,
    readonly offset: number,
    readonly totalLength: number,
    readonly attributes: number,
    readonly securityId: number,
    readonly subdirOffset: number,
    private readonly isReparse: boolean,
    readonly name: string,
    readonly shortName: string,
    readonly nameBytes: number,
    private parsedStreams: WimStream[] | null,
  ) {}
  // The tree's links (metadata.ts WimDentry), declared here so they live inside the object
  // rather than in a property store added to each of ~100,000 entries later.
  parent: unknown = null;
  children: unknown[] = NO_CHILDREN;
  path = '';
  get streams(): WimStream[] {
    if (this.parsedStreams === null) {
      // As assignStreamTypes would type the main hash alone.
      const at = this.offset + 0x40;
      this.parsedStreams = [{ name: '', type: this.isReparse ? 'reparse' : 'data', sha1: isZeroHash(this.buf, at) ? null : hex(this.buf, at) }];
    }
    return this.parsedStreams;
  }
  set streams(streams: WimStream[]) {
    this.parsedStreams = streams;
  }
  get unknown0x18(): bigint {
    return u64leBig(this.buf, this.offset + 0x18);
  }
  get unknown0x20(): bigint {
    return u64leBig(this.buf, this.offset + 0x20);
  }
  get creationTime(): bigint {
    return u64leBig(this.buf, this.offset + 0x28);
  }
  get lastAccessTime(): bigint {
    return u64leBig(this.buf, this.offset + 0x30);
  }
  get lastWriteTime(): bigint {
    return u64leBig(this.buf, this.offset + 0x38);
  }
  get unknown0x54(): number {
    return u32le(this.buf, this.offset + 0x54);
  }
  get reparseTag(): number | null {
    return this.isReparse ? u32le(this.buf, this.offset + 0x58) : null;
  }
  get rpReserved(): number {
    return this.isReparse ? u16le(this.buf, this.offset + 0x5c) : 0;
  }
  get rpFlags(): number {
    return this.isReparse ? u16le(this.buf, this.offset + 0x5e) : 0;
  }
  get hardLinkGroupId(): bigint {
    return this.isReparse ? 0n : u64leBig(this.buf, this.offset + 0x58);
  }
  /** hardLinkGroupId !== 0n, without making a BigInt. */
  get hardLinked(): boolean {
    return !this.isReparse && (u32le(this.buf, this.offset + 0x58) !== 0 || u32le(this.buf, this.offset + 0x5c) !== 0);
  }
}

/** Whether a dentry belongs to a hard link group (cheaper than comparing hardLinkGroupId for a
 *  parsed one). */
export function isHardLinked(d: WimDentryRecord): boolean {
  return d instanceof ParsedDentry ? d.hardLinked : d.hardLinkGroupId !== 0n;
}

/** Decides which unnamed stream is the reparse buffer and which the file data, as wimlib's
 *  assign_stream_types_* do: the main hash comes first, a zero main hash is skipped when extra
 *  unnamed entries exist, the reparse stream precedes the data stream. */
function assignStreamTypes(raw: { name: string; sha1: string; named: boolean }[], attributes: number): WimStream[] {
  const sha = (s: string) => (s === ZERO_SHA1 ? null : s);
  const out: WimStream[] = [];
  if (attributes & FILE_ATTRIBUTE_ENCRYPTED) {
    const efs = raw.find((s, i) => !s.named && (i !== 0 || s.sha1 !== ZERO_SHA1)) ?? raw[0];
    return [{ name: '', type: 'efsrpc', sha1: sha(efs.sha1) }];
  }
  const reparse = (attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0;
  let foundReparse = false;
  let foundData = false;
  raw.forEach((s, i) => {
    if (s.named) out.push({ name: s.name, type: 'data', sha1: sha(s.sha1) });
    else if (i !== 0 || s.sha1 !== ZERO_SHA1) {
      if (reparse && !foundReparse) {
        foundReparse = true;
        out.push({ name: '', type: 'reparse', sha1: sha(s.sha1) });
      } else if (!foundData) {
        foundData = true;
        out.push({ name: '', type: 'data', sha1: sha(s.sha1) });
      }
    }
  });
  if (!foundReparse && !foundData) out.unshift({ name: '', type: reparse ? 'reparse' : 'data', sha1: null });
  return out;
}
