// Parses ISO 9660 volume descriptors (ECMA-119 §8): the primary and supplementary (Joliet)
// descriptors and the El Torito boot record pointer. It reads no directories; that is
// iso9660-directory.ts. Field offsets are those of ECMA-119 §8.4 / §8.5 (1-based BP minus one).
import { FormatError } from '../../errors.js';
import { ascii, u16le, u32le } from '../../util/binary.js';
import { type DirectoryRecord, parseDirectoryRecord } from './iso9660-directory.js';
import { jolietLevelOf } from './joliet.js';
import type { RecognizedDescriptor } from './volume-recognition.js';

export const VD_BOOT_RECORD = 0;
export const VD_PRIMARY = 1;
export const VD_SUPPLEMENTARY = 2;
export const VD_TERMINATOR = 255;

export interface VolumeDescriptor {
  type: number;
  /** Byte offset of the descriptor in the image. */
  offset: number;
  systemId: string;
  /** Raw identifier bytes (ECMA-119 §8.4.6): d-characters, or UCS-2BE for Joliet. */
  volumeIdBytes: Uint8Array;
  /** Volume space size in logical blocks (§8.4.8). */
  volumeSpaceSize: number;
  /** Logical block size (§8.4.12); 2048 on every real disc. */
  logicalBlockSize: number;
  /** Root directory record (§8.4.18). */
  root: DirectoryRecord;
  /** Joliet level from the escape sequences (§8.5.6), null for a primary or a non-Joliet SVD. */
  jolietLevel: 1 | 2 | 3 | null;
}

/** Parses a primary (type 1) or supplementary (type 2) descriptor. */
export function parseVolumeDescriptor(d: RecognizedDescriptor): VolumeDescriptor {
  const b = d.bytes;
  if (b[6] !== 1 && d.type === VD_PRIMARY) {
    throw new FormatError('DF_ISO_BAD_DESCRIPTOR', `primary volume descriptor at ${d.offset} has version ${b[6]}, expected 1`, { offset: d.offset });
  }
  // Both-endian fields (§7.2.3, §7.3.3): the little-endian half is authoritative for us.
  const volumeSpaceSize = u32le(b, 80);
  const logicalBlockSize = u16le(b, 128);
  if (logicalBlockSize !== 512 && logicalBlockSize !== 1024 && logicalBlockSize !== 2048) {
    throw new FormatError('DF_ISO_BAD_DESCRIPTOR', `volume descriptor at ${d.offset} has logical block size ${logicalBlockSize}; ECMA-119 §6.1.2 allows 512, 1024 or 2048`, {
      offset: d.offset,
    });
  }
  const root = parseDirectoryRecord(b, 156, `root directory record of the descriptor at ${d.offset}`);
  if (!root?.isDirectory) {
    throw new FormatError('DF_ISO_BAD_DESCRIPTOR', `volume descriptor at ${d.offset} has no valid root directory record`, { offset: d.offset });
  }
  return {
    type: d.type,
    offset: d.offset,
    systemId: ascii(b, 8, 40).trimEnd(),
    volumeIdBytes: b.subarray(40, 72),
    volumeSpaceSize,
    logicalBlockSize,
    root,
    jolietLevel: d.type === VD_SUPPLEMENTARY ? jolietLevelOf(b.subarray(88, 120)) : null,
  };
}

/** The El Torito boot catalog sector from a boot record descriptor, or null when the record is not El Torito (El Torito 1.0 §2.0, Fig. 7). */
export function parseElToritoBootRecord(d: RecognizedDescriptor): number | null {
  // Boot system identifier at byte 7, 32 bytes, "EL TORITO SPECIFICATION" padded with zeros.
  const id = ascii(d.bytes, 7, 30);
  if (id !== 'EL TORITO SPECIFICATION') return null;
  return u32le(d.bytes, 0x47);
}

/** A plain ISO 9660 volume identifier: d-characters padded with spaces (§8.4.6). */
export function decodeAsciiId(bytes: Uint8Array): string {
  let s = '';
  for (const c of bytes) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s.trimEnd();
}
