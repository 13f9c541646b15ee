// Builds UDF 1.02 structures (OSTA UDF 1.02 on ECMA-167 2nd/3rd edition): the volume recognition
// sequence, anchor, volume descriptors, integrity descriptor, file set descriptor, file entries
// and file identifier descriptors. Each function returns the bytes of one descriptor (or one
// directory's data); where they go is decided by iso-writer.ts.
import { cs0Length, isLatin1 } from './iso-write-tree.js';
import { crcItu } from './udf-tag.js';

export const UDF_BLOCK = 2048;
/** ECMA-167 4/14.14.1.1: an extent length is below 2^30; keep it a whole number of blocks. */
export const UDF_MAX_EXTENT = 2 ** 30 - UDF_BLOCK;
/** UDF revision 1.02 as BCD (OSTA UDF 2.1.5.3). */
export const UDF_REVISION = 0x0102;
/** Descriptor version 2 for NSR02 volumes (ECMA-167 3/7.2.2; OSTA UDF 2.2.1.1). */
const TAG_VERSION = 2;
const TAG_SERIAL = 1;
const IMPLEMENTATION_ID = '*DeployForge';

/** Fills in a descriptor tag (ECMA-167 3/7.2): identifier, version, serial, CRC over the body, CRC length, location, checksum. */
export function finishTag(b: Uint8Array, identifier: number, location: number, descriptorLength = b.length): Uint8Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint16(0, identifier, true);
  v.setUint16(2, TAG_VERSION, true);
  v.setUint16(6, TAG_SERIAL, true);
  const crcLength = descriptorLength - 16;
  v.setUint16(8, crcItu(b.subarray(16, 16 + crcLength)), true);
  v.setUint16(10, crcLength, true);
  v.setUint32(12, location, true);
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[i];
  b[4] = sum & 0xff;
  return b;
}

/** OSTA CS0 (OSTA UDF 2.1.1): id 8 with one byte per character when all are < 256, else id 16 and UCS-2BE. */
export function encodeCs0(s: string): Uint8Array {
  const out = new Uint8Array(cs0Length(s));
  if (isLatin1(s)) {
    out[0] = 8;
    for (let i = 0; i < s.length; i++) out[1 + i] = s.charCodeAt(i);
  } else {
    out[0] = 16;
    for (let i = 0; i < s.length; i++) {
      out[1 + 2 * i] = s.charCodeAt(i) >> 8;
      out[2 + 2 * i] = s.charCodeAt(i) & 0xff;
    }
  }
  return out;
}

/** Longest prefix of `s` whose CS0 form fits a dstring field of `fieldLength` bytes. */
export function fitDstring(s: string, fieldLength: number): string {
  let t = s;
  while (t.length > 0 && cs0Length(t) > fieldLength - 1) t = t.slice(0, -1);
  return t;
}

/** dstring (ECMA-167 1/7.2.12): CS0 bytes, zero padding, used length in the last byte; all zero when empty. */
export function writeDstring(b: Uint8Array, at: number, fieldLength: number, s: string): void {
  if (s === '') return;
  const bytes = encodeCs0(fitDstring(s, fieldLength));
  b.set(bytes, at);
  b[at + fieldLength - 1] = bytes.length;
}

/** charspec (ECMA-167 1/7.2.1) for OSTA CS0 (OSTA UDF 2.1.2). */
function writeCharspec(b: Uint8Array, at: number): void {
  b[at] = 0;
  writeAscii(b, at + 1, 'OSTA Compressed Unicode');
}

function writeAscii(b: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
}

/** regid (ECMA-167 1/7.4): flags, 23-byte identifier, 8-byte suffix. */
function writeRegid(b: Uint8Array, at: number, identifier: string, suffix: readonly number[] = []): void {
  writeAscii(b, at + 1, identifier);
  b.set(suffix, at + 24);
}
/** Domain identifier suffix (OSTA UDF 2.1.5.3): revision LE, domain flags. */
const DOMAIN_SUFFIX = [UDF_REVISION & 0xff, UDF_REVISION >> 8, 0];
/** UDF identifier suffix (OSTA UDF 2.1.5.3): revision LE, OS class, OS identifier (0 = undefined). */
const UDF_SUFFIX = [UDF_REVISION & 0xff, UDF_REVISION >> 8, 0, 0];
function writeDomainId(b: Uint8Array, at: number): void {
  writeRegid(b, at, '*OSTA UDF Compliant', DOMAIN_SUFFIX);
}
function writeImplementationId(b: Uint8Array, at: number): void {
  writeRegid(b, at, IMPLEMENTATION_ID);
}

/** timestamp (ECMA-167 1/7.3): type 1 (local time) with offset 0, i.e. UTC. */
export function writeTimestamp(b: Uint8Array, at: number, date: Date): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint16(at, 0x1000, true);
  v.setUint16(at + 2, date.getUTCFullYear(), true);
  b[at + 4] = date.getUTCMonth() + 1;
  b[at + 5] = date.getUTCDate();
  b[at + 6] = date.getUTCHours();
  b[at + 7] = date.getUTCMinutes();
  b[at + 8] = date.getUTCSeconds();
  const ms = date.getUTCMilliseconds();
  b[at + 9] = Math.floor(ms / 10);
  b[at + 10] = (ms % 10) * 10;
  b[at + 11] = 0;
}

/** Volume structure descriptor (ECMA-167 2/9.1): BEA01, NSR02, TEA01. */
export function volumeStructureDescriptor(identifier: 'BEA01' | 'NSR02' | 'TEA01'): Uint8Array {
  const b = new Uint8Array(UDF_BLOCK);
  writeAscii(b, 1, identifier);
  b[6] = 1;
  return b;
}

export interface Extent {
  /** Bytes. */
  length: number;
  location: number;
}

/** Anchor volume descriptor pointer (ECMA-167 3/10.2). */
export function anchorPointer(location: number, main: Extent, reserve: Extent): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  v.setUint32(16, main.length, true);
  v.setUint32(20, main.location, true);
  v.setUint32(24, reserve.length, true);
  v.setUint32(28, reserve.location, true);
  return finishTag(b, 2, location);
}

export interface UdfVolumeInfo {
  logicalVolumeId: string;
  volumeId: string;
  volumeSetId: string;
  recorded: Date;
  partitionStart: number;
  partitionLength: number;
  integrity: Extent;
  /** File set descriptor, partition-relative block. */
  fsdBlock: number;
  fileCount: number;
  directoryCount: number;
  nextUniqueId: number;
}

/** Primary volume descriptor (ECMA-167 3/10.1; OSTA UDF 2.2.2). */
export function primaryVolumeDescriptor(info: UdfVolumeInfo, location: number, sequence: number): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  v.setUint32(16, sequence, true);
  v.setUint32(20, 0, true);
  writeDstring(b, 24, 32, info.volumeId);
  v.setUint16(56, 1, true); // volume sequence number
  v.setUint16(58, 1, true); // maximum volume sequence number
  v.setUint16(60, 2, true); // interchange level (OSTA UDF 2.2.2.1: 2 for a single volume)
  v.setUint16(62, 2, true);
  v.setUint32(64, 1, true); // character set list: CS0
  v.setUint32(68, 1, true);
  writeDstring(b, 72, 128, info.volumeSetId);
  writeCharspec(b, 200);
  writeCharspec(b, 264);
  writeTimestamp(b, 376, info.recorded);
  writeImplementationId(b, 388);
  return finishTag(b, 1, location);
}

/** Implementation use volume descriptor with LV info (OSTA UDF 2.2.7). */
export function implementationUseDescriptor(info: UdfVolumeInfo, location: number, sequence: number): Uint8Array {
  const b = new Uint8Array(512);
  new DataView(b.buffer).setUint32(16, sequence, true);
  writeRegid(b, 20, '*UDF LV Info', UDF_SUFFIX);
  writeCharspec(b, 52);
  writeDstring(b, 116, 128, info.logicalVolumeId);
  writeImplementationId(b, 352);
  return finishTag(b, 4, location);
}

/** Partition descriptor (ECMA-167 3/10.5; OSTA UDF 2.2.14): partition 0, "+NSR02", read-only. */
export function partitionDescriptor(info: UdfVolumeInfo, location: number, sequence: number): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  v.setUint32(16, sequence, true);
  v.setUint16(20, 1, true); // flags: space allocated
  v.setUint16(22, 0, true); // partition number
  writeRegid(b, 24, '+NSR02');
  v.setUint32(184, 1, true); // access type: read-only
  v.setUint32(188, info.partitionStart, true);
  v.setUint32(192, info.partitionLength, true);
  writeImplementationId(b, 196);
  return finishTag(b, 5, location);
}

/** Logical volume descriptor (ECMA-167 3/10.6; OSTA UDF 2.2.4) with one type 1 partition map (3/10.7.2). */
export function logicalVolumeDescriptor(info: UdfVolumeInfo, location: number, sequence: number): Uint8Array {
  const b = new Uint8Array(446);
  const v = new DataView(b.buffer);
  v.setUint32(16, sequence, true);
  writeCharspec(b, 20);
  writeDstring(b, 84, 128, info.logicalVolumeId);
  v.setUint32(212, UDF_BLOCK, true);
  writeDomainId(b, 216);
  // Logical volume contents use: long_ad of the file set descriptor (OSTA UDF 2.2.4.4).
  v.setUint32(248, UDF_BLOCK, true);
  v.setUint32(252, info.fsdBlock, true);
  v.setUint16(256, 0, true);
  v.setUint32(264, 6, true); // map table length
  v.setUint32(268, 1, true); // number of partition maps
  writeImplementationId(b, 272);
  v.setUint32(432, info.integrity.length, true);
  v.setUint32(436, info.integrity.location, true);
  b[440] = 1; // type 1 map
  b[441] = 6;
  v.setUint16(442, 1, true); // volume sequence number
  v.setUint16(444, 0, true); // partition number
  return finishTag(b, 6, location);
}

/** Unallocated space descriptor (ECMA-167 3/10.8) with no extents. */
export function unallocatedSpaceDescriptor(location: number, sequence: number): Uint8Array {
  const b = new Uint8Array(24);
  new DataView(b.buffer).setUint32(16, sequence, true);
  return finishTag(b, 7, location);
}

/** Terminating descriptor (ECMA-167 3/10.9, 4/14.2). */
export function terminatingDescriptor(location: number): Uint8Array {
  return finishTag(new Uint8Array(512), 8, location);
}

/** Logical volume integrity descriptor (ECMA-167 3/10.10; OSTA UDF 2.2.6), closed. */
export function integrityDescriptor(info: UdfVolumeInfo, location: number): Uint8Array {
  const impUseLength = 46;
  const b = new Uint8Array(80 + 8 + impUseLength);
  const v = new DataView(b.buffer);
  writeTimestamp(b, 16, info.recorded);
  v.setUint32(28, 1, true); // integrity type: close
  // Logical volume contents use = logical volume header descriptor (4/14.15): next unique id.
  v.setBigUint64(40, BigInt(info.nextUniqueId), true);
  v.setUint32(72, 1, true); // number of partitions
  v.setUint32(76, impUseLength, true);
  v.setUint32(80, 0, true); // free space table: nothing free on read-only media
  v.setUint32(84, info.partitionLength, true); // size table
  writeImplementationId(b, 88);
  v.setUint32(120, info.fileCount, true);
  v.setUint32(124, info.directoryCount, true);
  v.setUint16(128, UDF_REVISION, true); // minimum UDF read revision
  v.setUint16(130, UDF_REVISION, true); // minimum write revision
  v.setUint16(132, UDF_REVISION, true); // maximum write revision
  return finishTag(b, 9, location);
}

/** File set descriptor (ECMA-167 4/14.1; OSTA UDF 2.3.2); `rootBlock` is partition-relative. */
export function fileSetDescriptor(info: UdfVolumeInfo, block: number, rootBlock: number): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  writeTimestamp(b, 16, info.recorded);
  v.setUint16(28, 3, true); // interchange level
  v.setUint16(30, 3, true);
  v.setUint32(32, 1, true);
  v.setUint32(36, 1, true);
  writeCharspec(b, 48);
  writeDstring(b, 112, 128, info.logicalVolumeId);
  writeCharspec(b, 240);
  writeDstring(b, 304, 32, info.logicalVolumeId);
  v.setUint32(400, UDF_BLOCK, true);
  v.setUint32(404, rootBlock, true);
  writeDomainId(b, 416);
  return finishTag(b, 256, block);
}

export interface FileEntryInfo {
  isDirectory: boolean;
  /** Partition-relative block of this entry. */
  block: number;
  size: number;
  /** Partition-relative block of the data (contiguous); ignored when size is 0 or `pieces` is given. */
  dataBlock: number;
  /** The data in several places, in file order: every piece but the last a whole number of blocks
   *  (ECMA-167 4/12.1: only the last extent of a file may end inside a block). */
  pieces?: Array<{ block: number; bytes: number }>;
  linkCount: number;
  uniqueId: number;
  modified: Date;
}

/** Permissions (ECMA-167 4/14.9.5): read (+ execute for folders) for owner, group and others. */
const PERM_FILE = 0x4 | (0x4 << 5) | (0x4 << 10);
const PERM_DIR = 0x5 | (0x5 << 5) | (0x5 << 10);

/** File entry (ECMA-167 4/14.9; OSTA UDF 2.3.6) with short_ads (4/14.14.1), extents ≤ UDF_MAX_EXTENT. */
export function fileEntry(info: FileEntryInfo): Uint8Array {
  const ads: Extent[] = [];
  const pieces = info.pieces ?? (info.size > 0 ? [{ block: info.dataBlock, bytes: info.size }] : []);
  for (const piece of pieces) {
    for (let done = 0; done < piece.bytes; done += UDF_MAX_EXTENT) {
      ads.push({ length: Math.min(UDF_MAX_EXTENT, piece.bytes - done), location: piece.block + done / UDF_BLOCK });
    }
  }
  const length = 176 + 8 * ads.length;
  if (length > UDF_BLOCK) throw new RangeError(`file of ${info.size} bytes needs more allocation descriptors than a file entry holds`);
  const b = new Uint8Array(UDF_BLOCK);
  const v = new DataView(b.buffer);
  // ICB tag (4/14.6): strategy 4, one entry, file type, flags: short_ad.
  v.setUint16(20, 4, true);
  v.setUint16(24, 1, true);
  b[27] = info.isDirectory ? 4 : 5;
  v.setUint16(34, 0, true);
  v.setUint32(36, 0xffffffff, true); // uid: not specified (OSTA UDF 2.3.6.2)
  v.setUint32(40, 0xffffffff, true); // gid
  v.setUint32(44, info.isDirectory ? PERM_DIR : PERM_FILE, true);
  v.setUint16(48, info.linkCount, true);
  v.setBigUint64(56, BigInt(info.size), true);
  v.setBigUint64(64, BigInt(Math.ceil(info.size / UDF_BLOCK)), true);
  writeTimestamp(b, 72, info.modified);
  writeTimestamp(b, 84, info.modified);
  writeTimestamp(b, 96, info.modified);
  v.setUint32(108, 1, true); // checkpoint
  writeImplementationId(b, 128);
  v.setBigUint64(160, BigInt(info.uniqueId), true);
  v.setUint32(168, 0, true);
  v.setUint32(172, 8 * ads.length, true);
  ads.forEach((ad, i) => {
    v.setUint32(176 + 8 * i, ad.length, true); // type 0: recorded and allocated
    v.setUint32(180 + 8 * i, ad.location, true);
  });
  finishTag(b, 261, info.block, length);
  return b;
}

export interface FidInfo {
  name: string;
  isDirectory: boolean;
  isParent: boolean;
  /** Partition-relative block of the file entry. */
  entryBlock: number;
  uniqueId: number;
}

/** Bytes of one file identifier descriptor (ECMA-167 4/14.4), padded to 4. */
export function fidLength(name: string, isParent: boolean): number {
  const l = 38 + (isParent ? 0 : cs0Length(name));
  return 4 * Math.ceil(l / 4);
}

/** A directory's data: the parent FID first, then one per child (OSTA UDF 2.3.4). `firstBlock` is partition-relative. */
export function directoryData(entries: FidInfo[], firstBlock: number): Uint8Array {
  let total = 0;
  for (const e of entries) total += fidLength(e.name, e.isParent);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    const length = fidLength(e.name, e.isParent);
    const b = out.subarray(at, at + length);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    v.setUint16(16, 1, true); // file version number
    b[18] = (e.isDirectory ? 0x02 : 0) | (e.isParent ? 0x08 : 0);
    const name = e.isParent ? new Uint8Array(0) : encodeCs0(e.name);
    b[19] = name.length;
    v.setUint32(20, UDF_BLOCK, true);
    v.setUint32(24, e.entryBlock, true);
    v.setUint16(28, 0, true);
    // long_ad implementation use (OSTA UDF 2.3.4.3): flags, then the UDF unique id's low 32 bits.
    v.setUint32(32, e.uniqueId >>> 0, true);
    v.setUint16(36, 0, true);
    b.set(name, 38);
    finishTag(b, 257, firstBlock + Math.floor(at / UDF_BLOCK), length);
    at += length;
  }
  return out;
}
