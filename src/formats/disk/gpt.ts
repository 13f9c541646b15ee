// Reads a GUID partition table (UEFI spec 2.10 chapter 5.3): the header at LBA 1, checked by the
// CRC-32 of the header and of the entry array, with the backup header at the last LBA as the
// fallback. It does not repair or rewrite either copy, and ignores the protective MBR's contents.
import { FormatError } from '../../errors.js';
import { ascii, u32le, u64le, u64leBig, utf16le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { crc32 } from './crc32.js';
import { formatGuid, isZeroGuid } from './guid.js';
import { gptTypeName } from './partition-types.js';
import type { Partition } from './types.js';

/** The spec's minimum array is 16 KiB; real tables never exceed a few; this caps hostile sizes. */
const MAX_ENTRY_ARRAY_BYTES = 4 * 1024 * 1024;

export interface GptHeader {
  revision: number;
  headerSize: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entryLba: number;
  entryCount: number;
  entrySize: number;
  entryArrayCrc: number;
}

export interface GptResult {
  header: GptHeader;
  used: 'primary' | 'backup';
  valid: { primary: boolean; backup: boolean };
  partitions: Partition[];
}

type HeaderCheck = { ok: true; header: GptHeader; entries: Uint8Array } | { ok: false; why: string };

// UEFI 5.3.2: the header CRC covers HeaderSize bytes with its own CRC field zeroed; MyLBA must
// name the sector it was read from, or it is a stale copy.
async function checkHeaderAt(disk: ByteSource, lba: number, sectorSize: number): Promise<HeaderCheck> {
  const offset = lba * sectorSize;
  if (lba < 1 || offset + sectorSize > disk.size) return { ok: false, why: `LBA ${lba} is outside the disk` };
  const sector = await disk.read(offset, sectorSize);
  if (ascii(sector, 0, 8) !== 'EFI PART') return { ok: false, why: `no "EFI PART" signature at LBA ${lba}` };
  const headerSize = u32le(sector, 12);
  if (headerSize < 92 || headerSize > sectorSize) return { ok: false, why: `header size ${headerSize} is invalid` };
  const copy = Uint8Array.from(sector.subarray(0, headerSize));
  const stored = u32le(copy, 16);
  copy.fill(0, 16, 20);
  if (crc32(copy) !== stored) return { ok: false, why: `header CRC-32 mismatch at LBA ${lba}` };
  let header: GptHeader;
  try {
    header = {
      revision: u32le(sector, 8),
      headerSize,
      myLba: u64le(sector, 24),
      alternateLba: u64le(sector, 32),
      firstUsableLba: u64le(sector, 40),
      lastUsableLba: u64le(sector, 48),
      diskGuid: formatGuid(sector, 56),
      entryLba: u64le(sector, 72),
      entryCount: u32le(sector, 80),
      entrySize: u32le(sector, 84),
      entryArrayCrc: u32le(sector, 88),
    };
  } catch {
    return { ok: false, why: `header at LBA ${lba} holds out-of-range numbers` };
  }
  if (header.myLba !== lba) return { ok: false, why: `header at LBA ${lba} says it lives at LBA ${header.myLba}` };
  // Entry size must be 128 × 2^n (UEFI 5.3.2).
  if (header.entrySize < 128 || (header.entrySize & (header.entrySize - 1)) !== 0 || header.entrySize > 4096) {
    return { ok: false, why: `partition entry size ${header.entrySize} is invalid` };
  }
  const arrayBytes = header.entryCount * header.entrySize;
  if (arrayBytes > MAX_ENTRY_ARRAY_BYTES) return { ok: false, why: `partition entry array of ${arrayBytes} bytes is implausibly large` };
  const arrayOffset = header.entryLba * sectorSize;
  if (!Number.isSafeInteger(arrayOffset) || header.entryLba < 1 || arrayOffset + arrayBytes > disk.size) {
    return { ok: false, why: `partition entry array at LBA ${header.entryLba} lies outside the disk` };
  }
  const entries = await disk.read(arrayOffset, arrayBytes);
  if (crc32(entries) !== header.entryArrayCrc) return { ok: false, why: `partition entry array CRC-32 mismatch (header at LBA ${lba})` };
  return { ok: true, header, entries };
}

function parseEntries(entries: Uint8Array, header: GptHeader, sectorSize: number, diskName: string): Partition[] {
  const partitions: Partition[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const o = i * header.entrySize;
    if (isZeroGuid(entries, o)) continue;
    const typeId = formatGuid(entries, o);
    const firstLba = u64le(entries, o + 32);
    const lastLba = u64le(entries, o + 40);
    const start = firstLba * sectorSize;
    const size = (lastLba - firstLba + 1) * sectorSize;
    if (lastLba < firstLba || !Number.isSafeInteger(start) || !Number.isSafeInteger(start + size)) {
      throw new FormatError('DF_GPT_BAD_ENTRY', `${diskName}: GPT entry ${i + 1} has first LBA ${firstLba} and last LBA ${lastLba}; the partition table is corrupt`, {
        index: i + 1,
        firstLba,
        lastLba,
      });
    }
    const nameBytes = entries.subarray(o + 56, o + Math.min(128, header.entrySize));
    let end = 0;
    while (end + 1 < nameBytes.length && (nameBytes[end] !== 0 || nameBytes[end + 1] !== 0)) end += 2;
    partitions.push({
      index: i + 1,
      typeId,
      typeName: gptTypeName(typeId),
      start,
      size,
      name: utf16le(nameBytes, 0, end),
      uuid: formatGuid(entries, o + 16),
      attributes: u64leBig(entries, o + 48),
    });
  }
  return partitions;
}

/** Reads the GPT of `disk`, preferring the primary header and falling back to the backup. */
export async function readGpt(disk: ByteSource, sectorSize: number): Promise<GptResult> {
  const lastLba = Math.floor(disk.size / sectorSize) - 1;
  const primary = await checkHeaderAt(disk, 1, sectorSize);
  // The backup normally sits at the last LBA; a valid primary tells us where exactly.
  const backupLba = primary.ok && primary.header.alternateLba <= lastLba ? primary.header.alternateLba : lastLba;
  const backup = await checkHeaderAt(disk, backupLba, sectorSize);
  const valid = { primary: primary.ok, backup: backup.ok };
  const chosen = primary.ok ? primary : backup;
  if (!chosen.ok) {
    const why = primary.ok ? '' : primary.why;
    throw new FormatError('DF_GPT_BAD_HEADER', `${disk.name}: the protective MBR announces a GPT but neither GPT header is valid (${why}); the partition table is corrupt`, {
      primary: why,
      backup: backup.ok ? '' : backup.why,
    });
  }
  return {
    header: chosen.header,
    used: primary.ok ? 'primary' : 'backup',
    valid,
    partitions: parseEntries(chosen.entries, chosen.header, sectorSize, disk.name),
  };
}
