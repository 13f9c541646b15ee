// UDF file entries (ECMA-167 4/14.9) and extended file entries (4/14.17) with their allocation
// descriptors: short_ad, long_ad, ext_ad, data embedded in the ICB (4/14.6.8), and allocation
// extent descriptors that continue a long list (4/14.5). Partition translation is delegated to a
// BlockResolver so the same code serves physical and metadata partitions.
import { FormatError } from '../../errors.js';
import { u16le, u32le, u64le } from '../../util/binary.js';
import type { Extent } from '../../util/byte-source.js';
import { readTag, TAG } from './udf-tag.js';
import { decodeLongAd, decodeTimestamp, EXTENT_CONTINUATION, EXTENT_RECORDED, type LbAddr } from './udf-types.js';

/** Maps partition-relative blocks to absolute bytes of the image. */
export interface BlockResolver {
  readonly blockSize: number;
  /** Absolute extents covering `length` bytes from `block` of partition reference `partition`. */
  map(partition: number, block: number, length: number): Extent[];
  /** Reads one whole block. */
  readBlock(partition: number, block: number): Promise<{ bytes: Uint8Array; offset: number }>;
}

/** File types (ECMA-167 4/14.6.6; OSTA UDF 2.2.13 for the metadata files). */
export const FILE_TYPE_DIRECTORY = 4;
export const FILE_TYPE_FILE = 5;
export const FILE_TYPE_METADATA = 250;
export const FILE_TYPE_METADATA_MIRROR = 251;

export interface UdfFileEntry {
  fileType: number;
  isDirectory: boolean;
  /** Information length (4/14.9.10): the file's size in bytes. */
  size: number;
  modified?: string;
  /** Absolute extents holding the recorded bytes, in file order, trimmed to `size`. */
  extents: Extent[];
  /** False when part of the file lies in unrecorded extents (sparse): it cannot be read as extents. */
  fullyRecorded: boolean;
}

const MAX_INDIRECT = 8;
/** Continuation chains: real files need a handful; this bounds a hostile loop. */
const MAX_CONTINUATIONS = 4096;
const MAX_DESCRIPTORS = 1_000_000;

interface RawAd {
  length: number;
  type: number;
  partition: number;
  block: number;
}

function parseAds(b: Uint8Array, start: number, end: number, adType: number, icbPartition: number, out: RawAd[]): RawAd | null {
  const size = adType === 0 ? 8 : adType === 1 ? 16 : 20;
  for (let at = start; at + size <= end; at += size) {
    const raw = u32le(b, at);
    const length = raw & 0x3fffffff;
    const type = raw >>> 30;
    // A zero-length descriptor ends the list (ECMA-167 4/12.1).
    if (length === 0) return null;
    let ad: RawAd;
    if (adType === 0) {
      // short_ad (4/14.14.1): the block is in the partition the ICB is in.
      ad = { length, type, partition: icbPartition, block: u32le(b, at + 4) };
    } else if (adType === 1) {
      const long = decodeLongAd(b, at);
      ad = { length, type, partition: long.location.partition, block: long.location.block };
    } else {
      // ext_ad (4/14.14.3): extent length, recorded length, information length, lb_addr at 12.
      ad = { length, type, partition: u16le(b, at + 16), block: u32le(b, at + 12) };
    }
    if (type === EXTENT_CONTINUATION) return ad;
    if (out.length >= MAX_DESCRIPTORS) throw new FormatError('DF_UDF_BAD_ALLOCATION', 'file has more than a million allocation descriptors', {});
    out.push(ad);
  }
  return null;
}

/** Reads the (extended) file entry at `icb`, following indirect entries and continuation extents. */
export async function readFileEntry(resolver: BlockResolver, icb: LbAddr, what: string): Promise<UdfFileEntry> {
  let location = icb;
  let block: { bytes: Uint8Array; offset: number } | null = null;
  for (let hop = 0; ; hop++) {
    block = await resolver.readBlock(location.partition, location.block);
    const tag = readTag(block.bytes, `${what}: file entry`, [TAG.FileEntry, TAG.ExtendedFileEntry, TAG.Indirect], location.block);
    if (tag.identifier !== TAG.Indirect) break;
    if (hop >= MAX_INDIRECT) throw new FormatError('DF_UDF_BAD_ICB', `${what}: too many indirect entries`, {});
    // Indirect entry (4/14.7): the next ICB is a long_ad at 36.
    const next = decodeLongAd(block.bytes, 36);
    location = next.location;
  }
  const b = block.bytes;
  const extended = u16le(b, 0) === TAG.ExtendedFileEntry;
  // ICB tag (4/14.6) at 16: file type at +11, flags at +18 whose low 3 bits give the AD type (4/14.6.8).
  const fileType = b[16 + 11];
  const adType = u16le(b, 16 + 18) & 0x07;
  const size = u64le(b, 56);
  const modified = decodeTimestamp(b, extended ? 92 : 84);
  const eaLength = u32le(b, extended ? 208 : 168);
  const adLength = u32le(b, extended ? 212 : 172);
  const adStart = (extended ? 216 : 176) + eaLength;
  if (adStart + adLength > b.length || adStart + adLength < adStart) {
    throw new FormatError('DF_UDF_BAD_FILE_ENTRY', `${what}: extended attributes and allocation descriptors (${eaLength}+${adLength} bytes) overrun the block`, {
      eaLength,
      adLength,
    });
  }
  const isDirectory = fileType === 4;
  if (adType === 3) {
    // Data embedded in the ICB (4/14.6.8): the descriptors area is the file itself.
    if (size > adLength) throw new FormatError('DF_UDF_BAD_FILE_ENTRY', `${what}: embedded data of ${size} bytes does not fit the ${adLength}-byte area`, { size, adLength });
    return { fileType, isDirectory, size, modified, extents: size > 0 ? [{ offset: block.offset + adStart, length: size }] : [], fullyRecorded: true };
  }
  if (adType > 2) throw new FormatError('DF_UDF_BAD_FILE_ENTRY', `${what}: unknown allocation descriptor type ${adType}`, { adType });

  const ads: RawAd[] = [];
  let next = parseAds(b, adStart, adStart + adLength, adType, location.partition, ads);
  const seen = new Set<string>();
  for (let hops = 0; next; hops++) {
    const key = `${next.partition}:${next.block}`;
    if (hops >= MAX_CONTINUATIONS || seen.has(key)) throw new FormatError('DF_UDF_BAD_ALLOCATION', `${what}: allocation extent chain loops or is too long`, {});
    seen.add(key);
    const aed = await resolver.readBlock(next.partition, next.block);
    readTag(aed.bytes, `${what}: allocation extent`, TAG.AllocationExtent, next.block);
    // AED (4/14.5): length of allocation descriptors at 20, descriptors from 24.
    const length = u32le(aed.bytes, 20);
    if (24 + length > aed.bytes.length) throw new FormatError('DF_UDF_BAD_ALLOCATION', `${what}: allocation extent descriptor claims ${length} bytes`, { length });
    next = parseAds(aed.bytes, 24, 24 + length, adType, next.partition, ads);
  }

  const extents: Extent[] = [];
  let covered = 0;
  let fullyRecorded = true;
  for (const ad of ads) {
    if (covered >= size) break;
    const take = Math.min(ad.length, size - covered);
    if (ad.type === EXTENT_RECORDED) {
      for (const e of resolver.map(ad.partition, ad.block, take)) {
        const last = extents[extents.length - 1];
        // Adjacent extents merge, so a contiguous file is one extent whatever its descriptor count.
        if (last && last.offset + last.length === e.offset) last.length += e.length;
        else extents.push({ ...e });
      }
    } else {
      fullyRecorded = false;
    }
    covered += take;
  }
  if (covered < size) fullyRecorded = false;
  return { fileType, isDirectory, size, modified, extents, fullyRecorded };
}
