// The VirtualDisk shape that openVirtualDisk returns for both VHD and VHDX: header facts for
// reports and checks, plus read access to the virtual disk's bytes. Format-specific details sit
// under `vhd` / `vhdx` so the common fields stay the same for every caller.
import type { ByteSource } from '../../util/byte-source.js';

export type DiskType = 'fixed' | 'dynamic' | 'differencing';

export interface ParentLocator {
  /** VHD: platform code (`W2ru`, `W2ku`, `Mac `, `MacX`); VHDX: the key (`relative_path`…). */
  platform?: string;
  key?: string;
  /** The path (VHD W2ru/W2ku as UTF-16LE, MacX as UTF-8) or VHDX value; absent for binary Mac aliases. */
  path?: string;
}

export interface ParentInfo {
  /** VHD: parent's footer UUID; VHDX: the parent_linkage value (the parent's DataWriteGuid). */
  uuid?: string;
  /** VHD: parent's modification time (from the dynamic header), ISO text. */
  timestamp?: string;
  /** VHD: the parent's file name stored in the dynamic header (UTF-16BE). */
  name?: string;
  locators: ParentLocator[];
}

export interface VhdDetails {
  creatorApp: string;
  creatorVersion: string;
  creatorHostOs: string;
  originalSize: number;
  currentSize: number;
  geometry: { cylinders: number; heads: number; sectorsPerTrack: number };
  /** Time stamp of the footer, ISO text. */
  timestamp: string;
  /** Which footer copy was used: the one at the end, or the copy at offset 0 of a dynamic disk. */
  footerUsed: 'end' | 'start';
  batEntries?: number;
  savedState: boolean;
}

export interface VhdxDetails {
  headerSequence: bigint;
  /** Which of the two headers (at 64 KiB, 128 KiB) won. */
  headerUsed: 1 | 2;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  chunkRatio: number;
  batEntries: number;
  /** The non-standard parent locator type GUID, when present. */
  parentLocatorType?: string;
  /** Every key/value of the parent locator, in file order. */
  parentLocatorEntries?: { key: string; value: string }[];
}

export interface VirtualDisk {
  format: 'vhd' | 'vhdx';
  diskType: DiskType;
  /** Size of the disk the guest sees, in bytes. */
  virtualSize: number;
  /** VHD dynamic/differencing block size, VHDX payload block size. */
  blockSize?: number;
  logicalSectorSize: number;
  physicalSectorSize?: number;
  /** VHD: creator application and version (`win  10.0`); VHDX: the file identifier's creator string. */
  creator?: string;
  /** VHD footer UUID; VHDX Page 83 Data (the virtual disk id). */
  uuid?: string;
  parent?: ParentInfo;
  /** VHDX: the log holds entries that must be replayed before data can be trusted. */
  needsLogReplay?: boolean;
  /** True when every checksum of the structures used was right. */
  checksumValid: boolean;
  /** Each checksummed structure and whether it checked out. */
  checksums: Record<string, boolean>;
  vhd?: VhdDetails;
  vhdx?: VhdxDetails;
  /** Reads virtual disk bytes [offset, offset + length). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The virtual disk as a ByteSource (closing it does not close the image file). */
  asSource(): ByteSource;
}

export interface OpenVirtualDiskOptions {
  /** For differencing disks: the opened parent, read where the child has no data. */
  parent?: VirtualDisk;
  /** Accept structures whose checksum is wrong (reported in `checksums`) instead of failing. */
  ignoreChecksums?: boolean;
}
