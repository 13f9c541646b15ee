// Reads the VHDX header section (MS-VHDX 2.2): the file type identifier, the two headers (the
// valid one with the higher sequence number wins, 2.2.2.1) and the two region tables (2.2.3).
// It checks CRC-32C and signatures only; it does not write headers back or update sequence numbers.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le, u64le, u64leBig } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { formatGuid } from '../disk/guid.js';
import { crc32c } from './crc32c.js';

const KiB = 1024;
const HEADER_SIZE = 4 * KiB;
const REGION_TABLE_SIZE = 64 * KiB;
/** MS-VHDX 2.2.3.1: EntryCount must be at most 2047. */
const MAX_REGION_ENTRIES = 2047;

export const BAT_REGION_GUID = '2dc27766-f623-4200-9d64-115e9bfd4a08';
export const METADATA_REGION_GUID = '8b7ca206-4790-4b9a-b8fe-575f050f886e';

export interface VhdxHeader {
  sequenceNumber: bigint;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
}

export interface VhdxRegion {
  guid: string;
  fileOffset: number;
  length: number;
  required: boolean;
}

/** Returns the UTF-16LE creator string of the file type identifier (MS-VHDX 2.2.1). */
export function parseFileIdentifier(b: Uint8Array): string {
  const creator = Buffer.from(b.subarray(8, 8 + 512)).toString('utf16le');
  const end = creator.indexOf('\0');
  return end === -1 ? creator : creator.slice(0, end);
}

/** Checks a 'head' or 'regi' structure: signature plus CRC-32C over it with the checksum zeroed. */
function checksumOk(b: Uint8Array): boolean {
  const copy = Uint8Array.from(b);
  const stored = u32le(copy, 4);
  copy.fill(0, 4, 8);
  return crc32c(copy) === stored;
}

function parseHeader(b: Uint8Array): VhdxHeader | undefined {
  if (!startsWith(b, 'head') || !checksumOk(b)) return undefined;
  try {
    return {
      sequenceNumber: u64leBig(b, 8),
      fileWriteGuid: formatGuid(b, 16),
      dataWriteGuid: formatGuid(b, 32),
      logGuid: formatGuid(b, 48),
      logVersion: u16le(b, 64),
      version: u16le(b, 66),
      logLength: u32le(b, 68),
      logOffset: u64le(b, 72),
    };
  } catch {
    return undefined;
  }
}

export async function readVhdxHeaders(file: ByteSource): Promise<{ header: VhdxHeader; used: 1 | 2; valid: [boolean, boolean] }> {
  const first = parseHeader(await file.read(64 * KiB, HEADER_SIZE));
  const second = parseHeader(await file.read(128 * KiB, HEADER_SIZE));
  const valid: [boolean, boolean] = [first !== undefined, second !== undefined];
  if (!first && !second) {
    throw new FormatError('DF_VHDX_BAD_HEADER', `${file.name}: neither VHDX header (at 64 KiB and 128 KiB) has a valid signature and CRC-32C; the file is corrupt`, {});
  }
  const pickSecond = second !== undefined && (first === undefined || second.sequenceNumber > first.sequenceNumber);
  const header = (pickSecond ? second : first) as VhdxHeader;
  if (header.version !== 1) {
    throw new FormatError('DF_VHDX_UNSUPPORTED_VERSION', `${file.name}: VHDX header version ${header.version} is not supported (only version 1 exists)`, {
      version: header.version,
    });
  }
  return { header, used: pickSecond ? 2 : 1, valid };
}

function parseRegionTable(b: Uint8Array): VhdxRegion[] | undefined {
  if (!startsWith(b, 'regi') || !checksumOk(b)) return undefined;
  const count = u32le(b, 8);
  if (count > MAX_REGION_ENTRIES) return undefined;
  const regions: VhdxRegion[] = [];
  for (let i = 0; i < count; i++) {
    const o = 16 + i * 32;
    try {
      regions.push({ guid: formatGuid(b, o), fileOffset: u64le(b, o + 16), length: u32le(b, o + 24), required: (u32le(b, o + 28) & 1) === 1 });
    } catch {
      return undefined;
    }
  }
  return regions;
}

/** The region table: the first copy if valid, else the second (MS-VHDX 2.2.3). */
export async function readVhdxRegions(file: ByteSource): Promise<{ regions: VhdxRegion[]; valid: [boolean, boolean] }> {
  const first = parseRegionTable(await file.read(192 * KiB, REGION_TABLE_SIZE));
  const second = parseRegionTable(await file.read(256 * KiB, REGION_TABLE_SIZE));
  const regions = first ?? second;
  if (!regions) {
    throw new FormatError(
      'DF_VHDX_BAD_REGION_TABLE',
      `${file.name}: neither VHDX region table (at 192 KiB and 256 KiB) has a valid signature and CRC-32C; the file is corrupt`,
      {},
    );
  }
  return { regions, valid: [first !== undefined, second !== undefined] };
}
