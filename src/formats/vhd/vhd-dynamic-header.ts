// Parses the 1024-byte "cxsparse" dynamic disk header of dynamic and differencing VHDs (VHD spec,
// "Dynamic Disk Header Format"), including the parent fields and the eight parent locator
// entries. It reads locator data but never opens the parent it points to.
import { FormatError } from '../../errors.js';
import { ascii, startsWith, u32be, u64be } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { formatUuidBigEndian, isZeroGuid } from '../disk/guid.js';
import type { ParentLocator } from './types.js';
import { vhdChecksum, vhdTimeToIso } from './vhd-footer.js';

export const VHD_DYNAMIC_HEADER_SIZE = 1024;
/** Windows paths are at most 32 K UTF-16 units; larger locator data is corruption. */
const MAX_LOCATOR_BYTES = 65536;

export interface VhdDynamicHeader {
  tableOffset: number;
  headerVersion: number;
  maxTableEntries: number;
  blockSize: number;
  checksum: number;
  computedChecksum: number;
  parentUuid?: string;
  parentTimestamp?: string;
  parentName?: string;
  locators: ParentLocator[];
}

function trimNuls(text: string): string {
  const end = text.indexOf('\0');
  return end === -1 ? text : text.slice(0, end);
}

export async function readVhdDynamicHeader(file: ByteSource, offset: number): Promise<VhdDynamicHeader> {
  if (offset + VHD_DYNAMIC_HEADER_SIZE > file.size) {
    throw new FormatError('DF_VHD_BAD_DYNAMIC_HEADER', `${file.name}: the dynamic disk header at ${offset} lies past the end of the file; the VHD is truncated or corrupt`, {
      offset,
    });
  }
  const b = await file.read(offset, VHD_DYNAMIC_HEADER_SIZE);
  if (!startsWith(b, 'cxsparse')) {
    throw new FormatError('DF_VHD_BAD_DYNAMIC_HEADER', `${file.name}: no "cxsparse" dynamic disk header at ${offset}; the VHD is corrupt`, { offset });
  }
  const header: VhdDynamicHeader = {
    tableOffset: u64be(b, 16),
    headerVersion: u32be(b, 24),
    maxTableEntries: u32be(b, 28),
    blockSize: u32be(b, 32),
    checksum: u32be(b, 36),
    computedChecksum: vhdChecksum(b, 36),
    locators: [],
  };
  if (!isZeroGuid(b, 40)) header.parentUuid = formatUuidBigEndian(b, 40);
  const parentTime = u32be(b, 56);
  if (parentTime !== 0) header.parentTimestamp = vhdTimeToIso(parentTime);
  // The parent's name is the one UTF-16 *big-endian* string of the format.
  const name = trimNuls(Buffer.from(b.subarray(64, 576)).swap16().toString('utf16le'));
  if (name) header.parentName = name;
  for (let i = 0; i < 8; i++) {
    const o = 576 + i * 24;
    const code = u32be(b, o);
    if (code === 0) continue;
    const platform = ascii(b, o, o + 4);
    const dataLength = u32be(b, o + 8);
    const dataOffset = u64be(b, o + 16);
    if (dataLength > MAX_LOCATOR_BYTES || dataOffset + dataLength > file.size) {
      throw new FormatError(
        'DF_VHD_BAD_LOCATOR',
        `${file.name}: parent locator ${i + 1} (${platform}) points to ${dataLength} bytes at ${dataOffset}, outside the file; the VHD is corrupt`,
        { index: i + 1, dataOffset, dataLength },
      );
    }
    const data = await file.read(dataOffset, dataLength);
    header.locators.push({ platform, path: decodeLocator(platform, data) });
  }
  return header;
}

// W2ru/W2ku hold UTF-16LE Windows paths, MacX a UTF-8 file URL; "Mac " is a binary alias record.
function decodeLocator(platform: string, data: Uint8Array): string | undefined {
  if (platform === 'W2ru' || platform === 'W2ku') return trimNuls(Buffer.from(data.subarray(0, data.length & ~1)).toString('utf16le'));
  if (platform === 'MacX') return trimNuls(Buffer.from(data).toString('utf8'));
  return undefined;
}
