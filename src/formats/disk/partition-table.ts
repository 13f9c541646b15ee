// Reads the partition table of a whole disk (a raw image, or a VHD/VHDX through asSource()):
// MBR with its extended chain, or GPT when the MBR is protective (type 0xEE). It does not read
// file systems inside the partitions, nor BSD/Apple/LDM schemes.
import { FormatError } from '../../errors.js';
import { u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { readGpt } from './gpt.js';
import { hasBootSignature, parseMbrEntries, readMbrPartitions } from './mbr.js';
import type { PartitionTable } from './types.js';

export interface ReadPartitionTableOptions {
  /** Logical sector size: 512 (default) or 4096 for 4Kn disks. */
  sectorSize?: 512 | 4096;
}

export async function readPartitionTable(disk: ByteSource, options: ReadPartitionTableOptions = {}): Promise<PartitionTable> {
  const sectorSize = options.sectorSize ?? 512;
  if (sectorSize !== 512 && sectorSize !== 4096) {
    throw new FormatError('DF_DISK_BAD_SECTOR_SIZE', `sector size ${sectorSize} is not supported: use 512 or 4096`, { sectorSize });
  }
  if (disk.size < sectorSize) return { scheme: 'none', sectorSize, partitions: [] };
  const sector0 = await disk.read(0, sectorSize);
  if (!hasBootSignature(sector0)) return { scheme: 'none', sectorSize, partitions: [] };
  const primaries = parseMbrEntries(sector0);
  // Like libblkid: a status byte other than 0x00/0x80 means sector 0 is a volume boot sector
  // (NTFS, FAT) whose code happens to sit where entries would be, not a partition table.
  if (primaries.some((entry) => entry.status !== 0 && entry.status !== 0x80)) return { scheme: 'none', sectorSize, partitions: [] };
  if (primaries.some((entry) => entry.type === 0xee)) {
    const gpt = await readGpt(disk, sectorSize);
    return {
      scheme: 'gpt',
      sectorSize,
      diskGuid: gpt.header.diskGuid,
      gptHeader: gpt.used,
      gptHeadersValid: gpt.valid,
      firstUsableLba: gpt.header.firstUsableLba,
      lastUsableLba: gpt.header.lastUsableLba,
      partitions: gpt.partitions,
    };
  }
  // A 55AA sector with no entries is a boot sector or an unpartitioned disk, not a table.
  if (primaries.length === 0) return { scheme: 'none', sectorSize, partitions: [] };
  return {
    scheme: 'mbr',
    sectorSize,
    diskSignature: u32le(sector0, 0x1b8),
    partitions: await readMbrPartitions(disk, sector0, sectorSize),
  };
}
