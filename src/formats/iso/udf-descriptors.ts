// UDF volume structure (ECMA-167 part 3, OSTA UDF 2.2): finds the anchor, reads the main (else
// reserve) volume descriptor sequence and returns the primary volume, partition and logical
// volume descriptors it needs to reach the file set. It does not read files or directories.
import { FormatError } from '../../errors.js';
import { u16le, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { hasValidTag, peekTag, readTag, TAG } from './udf-tag.js';
import { decodeDstring, decodeEntityId, decodeLongAd, type EntityId, type LongAd } from './udf-types.js';

export interface PartitionDescriptor {
  /** Partition number (3/10.5.5) that partition maps refer to. */
  number: number;
  /** '+NSR02' or '+NSR03' (3/10.5.6). */
  contents: string;
  /** Start and length in blocks (3/10.5.9, 3/10.5.10). */
  start: number;
  length: number;
  accessType: number;
}

export type PartitionMap =
  | { kind: 'physical'; partitionNumber: number }
  | { kind: 'metadata'; partitionNumber: number; metadataFile: number; mirrorFile: number }
  | { kind: 'sparable'; partitionNumber: number }
  | { kind: 'virtual'; partitionNumber: number }
  | { kind: 'unknown'; identifier: string };

export interface LogicalVolume {
  identifier: string;
  blockSize: number;
  /** Domain identifier (3/10.6.5); its suffix holds the UDF revision (OSTA UDF 2.1.5.3). */
  domain: EntityId;
  /** UDF revision as BCD, e.g. 0x0102, 0x0250; 0 when the domain is not OSTA UDF. */
  revision: number;
  /** Where the file set descriptor is (OSTA UDF 2.2.4.4: Logical Volume Contents Use). */
  fileSetLocation: LongAd;
  partitionMaps: PartitionMap[];
}

export interface UdfVolume {
  blockSize: number;
  volumeIdentifier: string;
  logicalVolume: LogicalVolume;
  partitions: Map<number, PartitionDescriptor>;
}

/** Block sizes tried when locating the anchor (OSTA UDF 2.2.3: the anchor tag records its own sector). */
const BLOCK_SIZES = [2048, 512, 1024, 4096];
/** ECMA-167 3/8.4.2: a sequence is at least 16 sectors; 256 is far beyond any real one. */
const MAX_SEQUENCE_DESCRIPTORS = 256;
const MAX_POINTER_HOPS = 8;

interface Anchor {
  blockSize: number;
  main: { length: number; location: number };
  reserve: { length: number; location: number };
}

async function tryAnchorAt(source: ByteSource, blockSize: number, sector: number): Promise<Anchor | null> {
  const offset = sector * blockSize;
  if (sector < 0 || offset + 512 > source.size) return null;
  const b = await source.read(offset, 512);
  if (!hasValidTag(b)) return null;
  const tag = peekTag(b);
  if (!tag || tag.identifier !== TAG.AnchorPointer || tag.location !== sector) return null;
  readTag(b, `UDF anchor at sector ${sector}`, TAG.AnchorPointer, sector);
  // AVDP (3/10.2): main VDS extent at 16, reserve VDS extent at 24 (extent_ad: length, location).
  return { blockSize, main: { length: u32le(b, 16), location: u32le(b, 20) }, reserve: { length: u32le(b, 24), location: u32le(b, 28) } };
}

/** Finds an anchor at sector 256, else N-256 or N (the last sector), trying the usual block sizes (3/8.4.2.1). */
export async function findAnchor(source: ByteSource): Promise<Anchor> {
  for (const blockSize of BLOCK_SIZES) {
    const last = Math.floor(source.size / blockSize) - 1;
    for (const sector of [256, last, last - 256, 512]) {
      const anchor = await tryAnchorAt(source, blockSize, sector);
      if (anchor) return anchor;
    }
  }
  throw new FormatError('DF_UDF_NO_ANCHOR', `${source.name}: UDF recognition sequence present but no anchor volume descriptor pointer found at sector 256 or the end`, {});
}

function parsePartitionDescriptor(b: Uint8Array): PartitionDescriptor {
  return {
    number: u16le(b, 22),
    contents: decodeEntityId(b, 24).identifier,
    accessType: u32le(b, 184),
    start: u32le(b, 188),
    length: u32le(b, 192),
  };
}

function parsePartitionMaps(b: Uint8Array, count: number, tableLength: number): PartitionMap[] {
  const maps: PartitionMap[] = [];
  const end = 440 + tableLength;
  if (end > b.length) throw new FormatError('DF_UDF_BAD_LVD', `logical volume descriptor: partition map table (${tableLength} bytes) runs past the descriptor`, { tableLength });
  let at = 440;
  for (let i = 0; i < count; i++) {
    if (at + 2 > end) throw new FormatError('DF_UDF_BAD_LVD', `logical volume descriptor announces ${count} partition maps but holds ${i}`, { count });
    const type = b[at];
    const length = b[at + 1];
    if (length < 2 || at + length > end) throw new FormatError('DF_UDF_BAD_LVD', `partition map ${i} has length ${length}, which does not fit`, { index: i, length });
    if (type === 1 && length >= 6) {
      // Type 1 (3/10.7.2): volume sequence number at 2, partition number at 4.
      maps.push({ kind: 'physical', partitionNumber: u16le(b, at + 4) });
    } else if (type === 2 && length >= 64) {
      // Type 2 (3/10.7.3) with a UDF identifier at 4 (OSTA UDF 2.2.8–2.2.10); partition number at 38.
      const identifier = decodeEntityId(b, at + 4).identifier;
      const partitionNumber = u16le(b, at + 38);
      if (identifier === '*UDF Metadata Partition') {
        maps.push({ kind: 'metadata', partitionNumber, metadataFile: u32le(b, at + 40), mirrorFile: u32le(b, at + 44) });
      } else if (identifier === '*UDF Sparable Partition') {
        maps.push({ kind: 'sparable', partitionNumber });
      } else if (identifier === '*UDF Virtual Partition') {
        maps.push({ kind: 'virtual', partitionNumber });
      } else {
        maps.push({ kind: 'unknown', identifier });
      }
    } else {
      maps.push({ kind: 'unknown', identifier: `type ${type}` });
    }
    at += length;
  }
  return maps;
}

function parseLogicalVolume(b: Uint8Array): LogicalVolume {
  const blockSize = u32le(b, 212);
  const domain = decodeEntityId(b, 216);
  const revision = domain.identifier === '*OSTA UDF Compliant' ? u16le(domain.suffix, 0) : 0;
  return {
    identifier: decodeDstring(b.subarray(84, 212), 'logical volume identifier'),
    blockSize,
    domain,
    revision,
    fileSetLocation: decodeLongAd(b, 248),
    partitionMaps: parsePartitionMaps(b, u32le(b, 268), u32le(b, 264)),
  };
}

/** Reads one volume descriptor sequence, following pointers (3/10.3), up to its terminator (3/10.9). */
async function readSequence(source: ByteSource, blockSize: number, extent: { length: number; location: number }): Promise<UdfVolume> {
  let primary: { number: number; id: string } | null = null;
  let logical: { number: number; lv: LogicalVolume } | null = null;
  const partitions = new Map<number, PartitionDescriptor & { vdsNumber: number }>();
  let location = extent.location;
  let remaining = Math.min(Math.floor(extent.length / blockSize), MAX_SEQUENCE_DESCRIPTORS);
  let hops = 0;
  let total = 0;
  while (remaining > 0 && total < MAX_SEQUENCE_DESCRIPTORS) {
    total++;
    remaining--;
    const b = await source.read(location * blockSize, blockSize);
    // A zeroed sector also ends a sequence (3/8.4.2: unrecorded sectors end it).
    if (b.every((x) => x === 0)) break;
    const tag = readTag(b, `UDF volume descriptor at sector ${location}`, undefined, location);
    // When a descriptor type appears more than once, the highest sequence number wins (3/8.4.3).
    const vdsNumber = u32le(b, 16);
    if (tag.identifier === TAG.Terminating) break;
    if (tag.identifier === TAG.PrimaryVolume) {
      if (!primary || vdsNumber >= primary.number) primary = { number: vdsNumber, id: decodeDstring(b.subarray(24, 56), 'volume identifier') };
    } else if (tag.identifier === TAG.Partition) {
      const pd = parsePartitionDescriptor(b);
      const old = partitions.get(pd.number);
      if (!old || vdsNumber >= old.vdsNumber) partitions.set(pd.number, { ...pd, vdsNumber });
    } else if (tag.identifier === TAG.LogicalVolume) {
      if (!logical || vdsNumber >= logical.number) logical = { number: vdsNumber, lv: parseLogicalVolume(b) };
    } else if (tag.identifier === TAG.VolumePointer) {
      // Next extent at 20 (extent_ad); a bounded number of hops keeps a pointer loop finite.
      if (++hops > MAX_POINTER_HOPS) break;
      location = u32le(b, 24);
      remaining = Math.min(Math.floor(u32le(b, 20) / blockSize), MAX_SEQUENCE_DESCRIPTORS);
      continue;
    }
    location++;
  }
  if (!primary || !logical || partitions.size === 0) {
    throw new FormatError(
      'DF_UDF_BAD_VDS',
      `UDF volume descriptor sequence at sector ${extent.location} lacks a ${!primary ? 'primary volume' : !logical ? 'logical volume' : 'partition'} descriptor`,
      { location: extent.location },
    );
  }
  if (logical.lv.blockSize !== blockSize) {
    throw new FormatError('DF_UDF_BAD_LVD', `logical volume block size ${logical.lv.blockSize} differs from the sector size ${blockSize}`, { blockSize: logical.lv.blockSize });
  }
  return { blockSize, volumeIdentifier: primary.id, logicalVolume: logical.lv, partitions };
}

/** Reads the UDF volume: anchor, then the main sequence, falling back to the reserve one (3/8.4.2). */
export async function readUdfVolume(source: ByteSource): Promise<UdfVolume> {
  const anchor = await findAnchor(source);
  try {
    return await readSequence(source, anchor.blockSize, anchor.main);
  } catch (mainError) {
    if (anchor.reserve.length === 0) throw mainError;
    try {
      return await readSequence(source, anchor.blockSize, anchor.reserve);
    } catch {
      throw mainError;
    }
  }
}

/** Revision BCD to text: 0x0102 → '1.02' (OSTA UDF 2.1.5.3). */
export function formatUdfRevision(revision: number): string {
  return `${(revision >> 8).toString(16)}.${(revision & 0xff).toString(16).padStart(2, '0')}`;
}
