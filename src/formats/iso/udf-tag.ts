// UDF/ECMA-167 descriptor tags (ECMA-167 3/7.2): identifier, checksum, CRC and location checks.
// Every UDF descriptor starts with one, so this is the gate that keeps garbage out of the parser.
// It does not know descriptor bodies; each descriptor's module does.
import { FormatError } from '../../errors.js';
import { u16le, u32le } from '../../util/binary.js';

/** Tag identifiers (ECMA-167 3/7.2.1 and 4/7.2.1). */
export const TAG = {
  PrimaryVolume: 1,
  AnchorPointer: 2,
  VolumePointer: 3,
  ImplementationUse: 4,
  Partition: 5,
  LogicalVolume: 6,
  UnallocatedSpace: 7,
  Terminating: 8,
  LogicalVolumeIntegrity: 9,
  FileSet: 256,
  FileIdentifier: 257,
  AllocationExtent: 258,
  Indirect: 259,
  Terminal: 260,
  FileEntry: 261,
  ExtendedFileEntry: 266,
} as const;

export interface DescriptorTag {
  identifier: number;
  version: number;
  serial: number;
  crcLength: number;
  /** Tag location (3/7.2.8): the sector (or partition-relative block) the descriptor claims to be at. */
  location: number;
}

/** CRC-CCITT, polynomial x^16+x^12+x^5+1, initial value 0 (ECMA-167 3/7.2.6, ITU-T V.41). */
export function crcItu(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Tag checksum (3/7.2.3): the byte sum of bytes 0–3 and 5–15, modulo 256. */
export function tagChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[i];
  return sum & 0xff;
}

/** Parses a tag without checking it; null when the bytes are too short. */
export function peekTag(b: Uint8Array): DescriptorTag | null {
  if (b.length < 16) return null;
  return { identifier: u16le(b, 0), version: u16le(b, 2), serial: u16le(b, 6), crcLength: u16le(b, 10), location: u32le(b, 12) };
}

/** True when the tag's checksum is right; cheap, used when probing for a descriptor. */
export function hasValidTag(b: Uint8Array): boolean {
  return b.length >= 16 && tagChecksum(b) === b[4];
}

/**
 * Parses and checks a tag: checksum, identifier (when `expected` is given), CRC over the body when
 * it is within `b`, and the recorded location (when `location` is given).
 */
export function readTag(b: Uint8Array, what: string, expected?: number | readonly number[], location?: number): DescriptorTag {
  const tag = peekTag(b);
  if (!tag) throw new FormatError('DF_UDF_BAD_TAG', `${what}: too short for a descriptor tag`, {});
  if (tagChecksum(b) !== b[4]) {
    throw new FormatError('DF_UDF_BAD_TAG', `${what}: descriptor tag checksum is wrong; the UDF structures are corrupt`, { identifier: tag.identifier });
  }
  if (expected !== undefined) {
    const allowed = typeof expected === 'number' ? [expected] : expected;
    if (!allowed.includes(tag.identifier)) {
      throw new FormatError('DF_UDF_BAD_TAG', `${what}: found descriptor type ${tag.identifier}, expected ${allowed.join(' or ')}`, { identifier: tag.identifier });
    }
  }
  if (tag.crcLength > 0 && 16 + tag.crcLength <= b.length) {
    const crc = crcItu(b.subarray(16, 16 + tag.crcLength));
    if (crc !== u16le(b, 8)) {
      throw new FormatError('DF_UDF_BAD_CRC', `${what}: descriptor CRC is wrong; the UDF structures are corrupt`, { identifier: tag.identifier });
    }
  }
  if (location !== undefined && tag.location !== location) {
    throw new FormatError('DF_UDF_BAD_TAG', `${what}: descriptor says it is at block ${tag.location} but was read from block ${location}`, { identifier: tag.identifier });
  }
  return tag;
}
