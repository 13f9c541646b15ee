// The 24-byte resource header ("reshdr") that locates every stored piece of a WIM: the blob
// table, the XML, metadata and file blobs. Decoding only; reading or decompressing the bytes it
// points to is the job of the callers (and, later, of the resource reader).
import { FormatError } from '../../errors.js';
import { need, u32le, u64le } from '../../util/binary.js';

/** Size of one reshdr on disk (ebiggers/wimlib:include/wimlib/resource.h, wim_reshdr_disk). */
export const RESHDR_SIZE = 24;

// Flag byte at +7 (resource.h WIM_RESHDR_FLAG_*).
export const RESHDR_FLAG_FREE = 0x01;
export const RESHDR_FLAG_METADATA = 0x02;
export const RESHDR_FLAG_COMPRESSED = 0x04;
export const RESHDR_FLAG_SPANNED = 0x08;
export const RESHDR_FLAG_SOLID = 0x10;

/** The uncompressed-size value that marks the entry describing a whole solid resource
 *  (resource.h SOLID_RESOURCE_MAGIC_NUMBER); its real size is in the resource's own header. */
export const SOLID_RESOURCE_MAGIC = 0x100000000;

export interface ResourceFlags {
  free: boolean;
  metadata: boolean;
  compressed: boolean;
  spanned: boolean;
  solid: boolean;
}

export interface WimResourceHeader {
  /** Bytes the resource occupies in the file (56-bit field). */
  sizeInWim: number;
  /** The raw flag byte, kept so unknown bits survive a rewrite. */
  rawFlags: number;
  flags: ResourceFlags;
  /** Offset in the file; for a blob inside a solid resource, the offset in its uncompressed data. */
  offset: number;
  /** Uncompressed size (SOLID_RESOURCE_MAGIC for a solid resource's own entry). */
  originalSize: number;
}

const FLAG_SETS: ResourceFlags[] = [];

/** The flags of a raw flag byte; one shared, frozen object per byte value (a blob table has one
 *  entry per blob, ~60,000 in a Windows image). */
export function decodeResourceFlags(raw: number): ResourceFlags {
  let flags = FLAG_SETS[raw & 0xff];
  if (!flags) {
    flags = Object.freeze(flagsOf(raw & 0xff));
    FLAG_SETS[raw & 0xff] = flags;
  }
  return flags;
}

function flagsOf(raw: number): ResourceFlags {
  return {
    free: (raw & RESHDR_FLAG_FREE) !== 0,
    metadata: (raw & RESHDR_FLAG_METADATA) !== 0,
    compressed: (raw & RESHDR_FLAG_COMPRESSED) !== 0,
    spanned: (raw & RESHDR_FLAG_SPANNED) !== 0,
    solid: (raw & RESHDR_FLAG_SOLID) !== 0,
  };
}

/** Decodes the reshdr at `at`: u56 size_in_wim, u8 flags, u64 offset, u64 uncompressed size. */
export function parseResourceHeader(bytes: Uint8Array, at: number): WimResourceHeader {
  const sizeInWim = sizeInWimAt(bytes, at);
  const rawFlags = bytes[at + 7];
  return {
    sizeInWim,
    rawFlags,
    flags: decodeResourceFlags(rawFlags),
    offset: u64le(bytes, at + 8),
    originalSize: u64le(bytes, at + 16),
  };
}

/** Makes every check parseResourceHeader makes, without building the header (for tables
 *  checked at open and parsed later). */
export function checkResourceHeader(bytes: Uint8Array, at: number): void {
  sizeInWimAt(bytes, at);
  u64le(bytes, at + 8);
  u64le(bytes, at + 16);
}

function sizeInWimAt(bytes: Uint8Array, at: number): number {
  need(bytes, at + RESHDR_SIZE, 'WIM resource header');
  // 7-byte little-endian size: low 32 bits, then 3 more bytes (at most 2^56, checked below).
  const sizeInWim = u32le(bytes, at) + (bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16)) * 0x100000000;
  if (!Number.isSafeInteger(sizeInWim)) {
    throw new FormatError('DF_BAD_NUMBER', `resource size at ${at} is too large to be real; the file is corrupt`, { offset: at });
  }
  return sizeInWim;
}

/** True for an all-zero reshdr, which the header uses for "absent" (no boot image, no integrity). */
export function isEmptyResource(r: WimResourceHeader): boolean {
  return r.sizeInWim === 0 && r.offset === 0 && r.originalSize === 0 && r.rawFlags === 0;
}

/** True when the reshdr describes a whole solid resource rather than one blob. */
export function isSolidResourceEntry(r: WimResourceHeader): boolean {
  return r.flags.solid && r.originalSize === SOLID_RESOURCE_MAGIC;
}
