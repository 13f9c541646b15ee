// The shapes readPartitionTable returns, shared by the MBR and GPT readers. Offsets and sizes
// are in bytes so callers never have to remember which sector size a table used.

export interface Partition {
  /** Linux-style number: MBR primaries 1-4 by slot, logicals from 5; GPT entry slot + 1. */
  index: number;
  /** MBR: `0x07`-style hex byte; GPT: lowercase type GUID. */
  typeId: string;
  typeName: string;
  /** Byte offset of the first sector on the disk. */
  start: number;
  /** Length in bytes. */
  size: number;
  /** GPT partition name (UTF-16LE on disk). */
  name?: string;
  /** GPT unique partition GUID. */
  uuid?: string;
  /** MBR active flag (status 0x80). */
  bootable?: boolean;
  /** GPT attribute bits (bit 0 required, 1 no block IO, 2 legacy BIOS bootable, 48-63 type specific). */
  attributes?: bigint;
  /** MBR only: true for an extended container, false for primaries and logicals. */
  extended?: boolean;
  /** MBR only: true for a partition found in an extended boot record chain. */
  logical?: boolean;
}

export interface PartitionTable {
  scheme: 'mbr' | 'gpt' | 'none';
  sectorSize: number;
  /** MBR disk signature (the u32 at 0x1B8). */
  diskSignature?: number;
  /** GPT disk GUID. */
  diskGuid?: string;
  /** GPT: which header was used; 'backup' means the primary was damaged. */
  gptHeader?: 'primary' | 'backup';
  /** GPT: whether each header copy checked out (CRC of header and of its entry array). */
  gptHeadersValid?: { primary: boolean; backup: boolean };
  firstUsableLba?: number;
  lastUsableLba?: number;
  partitions: Partition[];
}
