// Reads an MBR partition table: the four primary entries of sector 0 and the logical partitions
// in extended boot record (EBR) chains. It does not interpret CHS fields (LBA is what every
// current OS uses) and does not validate that partitions fit the disk; it only reports them.
import { FormatError } from '../../errors.js';
import { u16le, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { MBR_EXTENDED_TYPES, mbrTypeName } from './partition-types.js';
import type { Partition } from './types.js';

/** Linux stops at a few hundred logicals; anything past this is a corrupt or looping chain. */
const MAX_LOGICAL = 256;

export interface MbrEntry {
  slot: number;
  status: number;
  type: number;
  startLba: number;
  sectors: number;
}

/** The 16-byte entries at 0x1BE; empty slots (type 0) are left out. */
export function parseMbrEntries(sector: Uint8Array): MbrEntry[] {
  const entries: MbrEntry[] = [];
  for (let slot = 0; slot < 4; slot++) {
    const o = 0x1be + slot * 16;
    const type = sector[o + 4];
    if (type === 0) continue;
    entries.push({ slot, status: sector[o], type, startLba: u32le(sector, o + 8), sectors: u32le(sector, o + 12) });
  }
  return entries;
}

export function hasBootSignature(sector: Uint8Array): boolean {
  return sector.length >= 512 && u16le(sector, 510) === 0xaa55;
}

function toPartition(index: number, entry: MbrEntry, startLba: number, sectorSize: number, logical: boolean): Partition {
  return {
    index,
    typeId: `0x${entry.type.toString(16).padStart(2, '0')}`,
    typeName: mbrTypeName(entry.type),
    start: startLba * sectorSize,
    size: entry.sectors * sectorSize,
    bootable: entry.status === 0x80,
    extended: MBR_EXTENDED_TYPES.has(entry.type),
    logical,
  };
}

/** Primaries and logicals of an MBR disk whose sector 0 is `sector0`. */
export async function readMbrPartitions(disk: ByteSource, sector0: Uint8Array, sectorSize: number): Promise<Partition[]> {
  const partitions: Partition[] = [];
  const primaries = parseMbrEntries(sector0);
  for (const entry of primaries) partitions.push(toPartition(entry.slot + 1, entry, entry.startLba, sectorSize, false));
  let nextIndex = 5;
  for (const entry of primaries) {
    if (!MBR_EXTENDED_TYPES.has(entry.type) || entry.startLba === 0) continue;
    const logicals = await readLogicalChain(disk, entry, sectorSize, nextIndex, MAX_LOGICAL - (nextIndex - 5));
    partitions.push(...logicals);
    nextIndex += logicals.length;
  }
  return partitions;
}

// Each EBR holds one logical partition (start relative to that EBR) and a link to the next EBR
// (start relative to the extended partition's first sector).
async function readLogicalChain(disk: ByteSource, extended: MbrEntry, sectorSize: number, firstIndex: number, budget: number): Promise<Partition[]> {
  const found: Partition[] = [];
  const visited = new Set<number>();
  let ebrLba = extended.startLba;
  for (let step = 0; step <= MAX_LOGICAL; step++) {
    if (visited.has(ebrLba)) {
      throw new FormatError('DF_MBR_EBR_LOOP', `${disk.name}: the extended partition chain loops back to sector ${ebrLba}; the partition table is corrupt`, { lba: ebrLba });
    }
    visited.add(ebrLba);
    const offset = ebrLba * sectorSize;
    if (offset + sectorSize > disk.size) {
      throw new FormatError('DF_MBR_BAD_EBR', `${disk.name}: an extended boot record at sector ${ebrLba} lies past the end of the disk; the partition table is corrupt`, {
        lba: ebrLba,
      });
    }
    const ebr = await disk.read(offset, sectorSize);
    // A chain that ends in a sector without 55AA is how empty extended partitions look.
    if (!hasBootSignature(ebr)) break;
    const [first, second] = [0, 1].map((slot) => {
      const o = 0x1be + slot * 16;
      return { slot, status: ebr[o], type: ebr[o + 4], startLba: u32le(ebr, o + 8), sectors: u32le(ebr, o + 12) };
    });
    if (first.type !== 0 && first.sectors !== 0 && !MBR_EXTENDED_TYPES.has(first.type)) {
      if (found.length >= budget) {
        throw new FormatError('DF_MBR_TOO_MANY_LOGICAL', `${disk.name}: more than ${MAX_LOGICAL} logical partitions; the partition table is corrupt`, {});
      }
      found.push(toPartition(firstIndex + found.length, first, ebrLba + first.startLba, sectorSize, true));
    }
    if (!MBR_EXTENDED_TYPES.has(second.type) || second.startLba === 0) break;
    ebrLba = extended.startLba + second.startLba;
  }
  return found;
}
