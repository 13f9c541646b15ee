// Parses the 512-byte big-endian VHD footer (Virtual Hard Disk Image Format Specification,
// "Hard Disk Footer Format") and checks its one's-complement checksum. It does not decide which
// copy to trust or read anything else; vhd.ts does that.
import { ascii, startsWith, u16be, u32be, u64be } from '../../util/binary.js';
import { formatUuidBigEndian } from '../disk/guid.js';

export const VHD_FOOTER_SIZE = 512;
const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);

export interface VhdFooter {
  features: number;
  formatVersion: number;
  /** Offset of the dynamic header; null for fixed disks (all ones on disk). */
  dataOffset: number | null;
  timestamp: string;
  creatorApp: string;
  creatorVersion: number;
  creatorHostOs: string;
  originalSize: number;
  currentSize: number;
  geometry: { cylinders: number; heads: number; sectorsPerTrack: number };
  diskType: number;
  checksum: number;
  computedChecksum: number;
  uuid: string;
  savedState: boolean;
}

/** One's complement of the byte sum, skipping the 4 checksum bytes at `skipAt` (spec: "Checksum"). */
export function vhdChecksum(bytes: Uint8Array, skipAt: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) if (i < skipAt || i >= skipAt + 4) sum += bytes[i];
  return ~sum >>> 0;
}

export function isVhdFooter(bytes: Uint8Array): boolean {
  return startsWith(bytes, 'conectix');
}

/** Parses a footer whose cookie is already known to be "conectix". */
export function parseVhdFooter(b: Uint8Array): VhdFooter {
  const hi = u32be(b, 16);
  const lo = u32be(b, 20);
  return {
    features: u32be(b, 8),
    formatVersion: u32be(b, 12),
    dataOffset: hi === 0xffffffff && lo === 0xffffffff ? null : u64be(b, 16),
    timestamp: vhdTimeToIso(u32be(b, 24)),
    creatorApp: ascii(b, 28, 32),
    creatorVersion: u32be(b, 32),
    creatorHostOs: ascii(b, 36, 40),
    originalSize: u64be(b, 40),
    currentSize: u64be(b, 48),
    geometry: { cylinders: u16be(b, 56), heads: b[58], sectorsPerTrack: b[59] },
    diskType: u32be(b, 60),
    checksum: u32be(b, 64),
    computedChecksum: vhdChecksum(b.subarray(0, VHD_FOOTER_SIZE), 64),
    uuid: formatUuidBigEndian(b, 68),
    savedState: b[84] === 1,
  };
}

/** Seconds since 2000-01-01 UTC as ISO text (VHD time stamps). */
export function vhdTimeToIso(seconds: number): string {
  return new Date(VHD_EPOCH_MS + seconds * 1000).toISOString();
}
