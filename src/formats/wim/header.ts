// The 208-byte WIM header (also ESD, SWM parts, PPKG and wimlib's pipable WIMs): decode it and
// check it the way wimlib does before anything trusts its offsets. It reads no other structure;
// the XML, blob table and integrity table have their own modules.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { isEmptyResource, parseResourceHeader, type WimResourceHeader } from './resource-header.js';

/** ebiggers/wimlib:include/wimlib/header.h WIM_HEADER_DISK_SIZE. */
export const WIM_HEADER_SIZE = 208;
export const WIM_MAGIC = 'MSWIM\0\0\0';
/** wimlib's pipable WIM; the authoritative header is the copy at the end of the file. */
export const PWM_MAGIC = 'WLPWM\0\0\0';
export const WIM_VERSION_DEFAULT = 0x10d00;
/** Version of WIMs that may hold solid resources (ESD); header.h WIM_VERSION_SOLID. */
export const WIM_VERSION_SOLID = 0xe00;

// header.h WIM_HDR_FLAG_*. XPRESS_2 is 0x200000 in wimlib (FORMATS.md's 0x100000 is a slip).
export const HDR_FLAG_RESERVED = 0x1;
export const HDR_FLAG_COMPRESSION = 0x2;
export const HDR_FLAG_READONLY = 0x4;
export const HDR_FLAG_SPANNED = 0x8;
export const HDR_FLAG_RESOURCE_ONLY = 0x10;
export const HDR_FLAG_METADATA_ONLY = 0x20;
export const HDR_FLAG_WRITE_IN_PROGRESS = 0x40;
export const HDR_FLAG_RP_FIX = 0x80;
export const HDR_FLAG_COMPRESS_RESERVED = 0x10000;
export const HDR_FLAG_COMPRESS_XPRESS = 0x20000;
export const HDR_FLAG_COMPRESS_LZX = 0x40000;
export const HDR_FLAG_COMPRESS_LZMS = 0x80000;
export const HDR_FLAG_COMPRESS_XPRESS_2 = 0x200000;

export type WimCompression = 'none' | 'xpress' | 'xpress2' | 'lzx' | 'lzms';

export interface WimHeaderFlags {
  compression: boolean;
  readonly: boolean;
  spanned: boolean;
  resourceOnly: boolean;
  metadataOnly: boolean;
  writeInProgress: boolean;
  rpFix: boolean;
}

export interface WimHeader {
  magic: 'MSWIM' | 'WLPWM';
  /** True for a wimlib pipable WIM; the fields below come from its trailing header copy. */
  pipable: boolean;
  headerSize: number;
  version: number;
  rawFlags: number;
  flags: WimHeaderFlags;
  compression: WimCompression;
  /** Chunk size of non-solid compressed resources; meaningless (often 0) when uncompressed. */
  chunkSize: number;
  /** The 16 GUID bytes as 32 hex digits in file order (what `wimlib-imagex info` prints). */
  guid: string;
  /** The same bytes as a Windows GUID string, e.g. "{3096f0c0-…}". */
  guidString: string;
  partNumber: number;
  totalParts: number;
  imageCount: number;
  blobTable: WimResourceHeader;
  xmlData: WimResourceHeader;
  bootMetadata: WimResourceHeader;
  /** 1-based bootable image, 0 for none; an index past imageCount is reset to 0 as wimlib does. */
  bootIndex: number;
  rawBootIndex: number;
  integrityTable: WimResourceHeader;
  hasIntegrity: boolean;
  /** Size of the source the header was read from. */
  fileSize: number;
  /** Things a user should know that do not stop reading (write in progress, ignored boot index). */
  warnings: string[];
}

/** Smallest stored form of one image: a 50-byte blob table entry for its metadata (part 1) and
 *  well over 50 bytes of <IMAGE> XML (every part). Caps imageCount against the file size. */
const MIN_BYTES_PER_IMAGE = 50;

/** Chunk size limits by compression kind (wimlib src/wim.c wim_ctype_info). */
const CHUNK_LIMITS: Record<Exclude<WimCompression, 'none'>, [number, number]> = {
  xpress: [4096, 65536],
  xpress2: [4096, 65536],
  lzx: [32768, 2097152],
  lzms: [32768, 1073741824],
};

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function formatGuid(b: Uint8Array): string {
  // Data1..Data3 are little-endian in a Windows GUID, the last 8 bytes are in order.
  const h = (i: number) => b[i].toString(16).padStart(2, '0');
  const d1 = h(3) + h(2) + h(1) + h(0);
  const d2 = h(5) + h(4);
  const d3 = h(7) + h(6);
  const d4 = h(8) + h(9);
  const d5 = h(10) + h(11) + h(12) + h(13) + h(14) + h(15);
  return `{${d1}-${d2}-${d3}-${d4}-${d5}}`;
}

function decodeCompression(raw: number, name: string): WimCompression {
  if ((raw & HDR_FLAG_COMPRESSION) === 0) return 'none';
  // Same precedence as wimlib's begin_read() when several kind bits are set.
  if (raw & HDR_FLAG_COMPRESS_LZX) return 'lzx';
  if (raw & HDR_FLAG_COMPRESS_XPRESS) return 'xpress';
  if (raw & HDR_FLAG_COMPRESS_XPRESS_2) return 'xpress2';
  if (raw & HDR_FLAG_COMPRESS_LZMS) return 'lzms';
  throw new FormatError(
    'DF_WIM_BAD_COMPRESSION',
    `${name}: the header says the WIM is compressed but names no known compression (flags 0x${raw.toString(16)}); the file is corrupt`,
    { flags: raw },
  );
}

function checkChunkSize(chunkSize: number, compression: WimCompression, name: string): void {
  // Meaningless without compression. wimlib 1.13 refuses anything but 0 there, older wimlib
  // accepted any value; we accept it (parseWimHeader adds a warning) since nothing depends on it.
  if (compression === 'none') return;
  const [min, max] = CHUNK_LIMITS[compression];
  const powerOfTwo = chunkSize > 0 && (chunkSize & (chunkSize - 1)) === 0;
  if (!powerOfTwo || chunkSize < min || chunkSize > max) {
    throw new FormatError(
      'DF_WIM_BAD_CHUNK_SIZE',
      `${name}: chunk size ${chunkSize} is not valid for ${compression} (a power of two from ${min} to ${max}); the header is corrupt`,
      { chunkSize, compression },
    );
  }
}

function checkWithinFile(r: WimResourceHeader, what: string, fileSize: number, name: string, checkOriginal: boolean): void {
  if (isEmptyResource(r)) return;
  if (r.offset + r.sizeInWim > fileSize) {
    throw new FormatError(
      'DF_WIM_BAD_RESOURCE',
      `${name}: the ${what} (${r.sizeInWim} bytes at offset ${r.offset}) runs past the end of the ${fileSize}-byte file; the WIM is truncated or corrupt`,
      { what, offset: r.offset, size: r.sizeInWim, fileSize },
    );
  }
  // The blob table, XML and integrity table are stored uncompressed, so a larger original size
  // is a lie that would only make a reader allocate too much (wimlib read_wim_header does this).
  if (checkOriginal && r.originalSize > fileSize) {
    throw new FormatError('DF_WIM_BAD_RESOURCE', `${name}: the ${what} claims ${r.originalSize} bytes, more than the whole ${fileSize}-byte file; the header is corrupt`, {
      what,
      originalSize: r.originalSize,
      fileSize,
    });
  }
}

/** Decodes and validates a 208-byte header taken from a file of `fileSize` bytes. */
export function parseWimHeader(bytes: Uint8Array, fileSize: number, name = 'WIM'): WimHeader {
  if (bytes.length < WIM_HEADER_SIZE) {
    throw new FormatError('DF_TRUNCATED', `${name}: only ${bytes.length} bytes, too short for a 208-byte WIM header`, { size: bytes.length });
  }
  const pipable = startsWith(bytes, PWM_MAGIC);
  if (!pipable && !startsWith(bytes, WIM_MAGIC)) {
    throw new FormatError('DF_WIM_BAD_MAGIC', `${name}: not a WIM file (no MSWIM signature at the start)`, {});
  }
  const headerSize = u32le(bytes, 0x08);
  if (headerSize !== WIM_HEADER_SIZE) {
    throw new FormatError('DF_WIM_BAD_HEADER_SIZE', `${name}: header size is ${headerSize}, expected 208; the file is corrupt`, { headerSize });
  }
  const version = u32le(bytes, 0x0c);
  if (version !== WIM_VERSION_DEFAULT && version !== WIM_VERSION_SOLID) {
    throw new FormatError('DF_WIM_UNKNOWN_VERSION', `${name}: unknown WIM version 0x${version.toString(16)} (known: 0x10d00, 0xe00)`, { version });
  }
  const rawFlags = u32le(bytes, 0x10);
  const compression = decodeCompression(rawFlags, name);
  const chunkSize = u32le(bytes, 0x14);
  checkChunkSize(chunkSize, compression, name);

  const partNumber = u16le(bytes, 0x28);
  const totalParts = u16le(bytes, 0x2a);
  if (totalParts === 0 || partNumber === 0 || partNumber > totalParts) {
    throw new FormatError('DF_WIM_BAD_PART_NUMBER', `${name}: invalid part number ${partNumber} of ${totalParts}; the header is corrupt`, { partNumber, totalParts });
  }
  const imageCount = u32le(bytes, 0x2c);
  if (imageCount > Math.floor(fileSize / MIN_BYTES_PER_IMAGE)) {
    throw new FormatError('DF_WIM_BAD_IMAGE_COUNT', `${name}: claims ${imageCount} images, impossible in ${fileSize} bytes; the header is corrupt`, { imageCount, fileSize });
  }

  const blobTable = parseResourceHeader(bytes, 0x30);
  const xmlData = parseResourceHeader(bytes, 0x48);
  const bootMetadata = parseResourceHeader(bytes, 0x60);
  const rawBootIndex = u32le(bytes, 0x78);
  const integrityTable = parseResourceHeader(bytes, 0x7c);
  checkWithinFile(blobTable, 'blob table', fileSize, name, true);
  checkWithinFile(xmlData, 'XML data', fileSize, name, true);
  checkWithinFile(integrityTable, 'integrity table', fileSize, name, true);
  checkWithinFile(bootMetadata, 'boot metadata', fileSize, name, false);

  const warnings: string[] = [];
  const flags: WimHeaderFlags = {
    compression: (rawFlags & HDR_FLAG_COMPRESSION) !== 0,
    readonly: (rawFlags & HDR_FLAG_READONLY) !== 0,
    spanned: (rawFlags & HDR_FLAG_SPANNED) !== 0,
    resourceOnly: (rawFlags & HDR_FLAG_RESOURCE_ONLY) !== 0,
    metadataOnly: (rawFlags & HDR_FLAG_METADATA_ONLY) !== 0,
    writeInProgress: (rawFlags & HDR_FLAG_WRITE_IN_PROGRESS) !== 0,
    rpFix: (rawFlags & HDR_FLAG_RP_FIX) !== 0,
  };
  if (flags.writeInProgress) {
    warnings.push('the WIM is marked as being written: another program may be changing it, or one crashed while writing it');
  }
  if (compression === 'none' && chunkSize !== 0) {
    warnings.push(`uncompressed WIM with chunk size ${chunkSize} instead of 0: some tools (wimlib 1.13) refuse it`);
  }
  let bootIndex = rawBootIndex;
  if (rawBootIndex > imageCount) {
    warnings.push(`boot index ${rawBootIndex} is past the last image (${imageCount}) and is ignored`);
    bootIndex = 0;
  }
  const guidBytes = bytes.subarray(0x18, 0x28);
  return {
    magic: pipable ? 'WLPWM' : 'MSWIM',
    pipable,
    headerSize,
    version,
    rawFlags,
    flags,
    compression,
    chunkSize,
    guid: hex(guidBytes),
    guidString: formatGuid(guidBytes),
    partNumber,
    totalParts,
    imageCount,
    blobTable,
    xmlData,
    bootMetadata,
    bootIndex,
    rawBootIndex,
    integrityTable,
    hasIntegrity: !isEmptyResource(integrityTable),
    fileSize,
    warnings,
  };
}

/** Reads the header of a WIM-family file. For a pipable WIM the header at the start is written
 *  before the tables exist, so the complete copy at the end of the file is used, as wimlib does. */
export async function readWimHeader(source: ByteSource): Promise<WimHeader> {
  if (source.size < WIM_HEADER_SIZE) {
    throw new FormatError('DF_TRUNCATED', `${source.name}: only ${source.size} bytes, too short for a WIM header`, { size: source.size });
  }
  const first = await source.read(0, WIM_HEADER_SIZE);
  if (startsWith(first, PWM_MAGIC) && source.size >= 2 * WIM_HEADER_SIZE) {
    const last = await source.read(source.size - WIM_HEADER_SIZE, WIM_HEADER_SIZE);
    if (startsWith(last, PWM_MAGIC)) return parseWimHeader(last, source.size, source.name);
  }
  return parseWimHeader(first, source.size, source.name);
}
