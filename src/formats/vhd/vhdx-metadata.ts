// Reads the VHDX metadata region (MS-VHDX 2.2.4, 2.6): the table of items and the known system
// items (file parameters, virtual disk size, page 83 id, sector sizes, parent locator). It
// refuses unknown items marked required, as the spec demands, and never edits metadata.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le, u64le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { formatGuid } from '../disk/guid.js';

const TABLE_SIZE = 64 * 1024;
const MAX_ENTRIES = 2047;
/** MS-VHDX 2.6.1: a metadata item is at most 1 MiB. */
const MAX_ITEM_SIZE = 1024 * 1024;

const FILE_PARAMETERS = 'caa16737-fa36-4d43-b3b6-33f0aa44e76b';
const VIRTUAL_DISK_SIZE = '2fa54224-cd1b-4876-b211-5dbed83bf4b8';
const PAGE_83_DATA = 'beca12ab-b2e6-4523-93ef-c309e000c746';
const LOGICAL_SECTOR_SIZE = '8141bf1d-a96f-4709-ba47-f233a8faab5f';
const PHYSICAL_SECTOR_SIZE = 'cda348c7-445d-4471-9cc9-e9885251c556';
const PARENT_LOCATOR = 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c';
export const VHDX_PARENT_LOCATOR_TYPE = 'b04aefb7-d19e-4a81-b789-25b8e9445913';
const KNOWN = new Set([FILE_PARAMETERS, VIRTUAL_DISK_SIZE, PAGE_83_DATA, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR]);

export interface VhdxMetadata {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualDiskSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  page83?: string;
  parentLocator?: { type: string; entries: { key: string; value: string }[] };
}

function bad(file: ByteSource, message: string, details: Record<string, unknown> = {}): FormatError {
  return new FormatError('DF_VHDX_BAD_METADATA', `${file.name}: ${message}; the VHDX is corrupt`, details);
}

export async function readVhdxMetadata(file: ByteSource, regionOffset: number, regionLength: number): Promise<VhdxMetadata> {
  if (regionLength < TABLE_SIZE || regionOffset + regionLength > file.size) {
    throw bad(file, `the metadata region (${regionLength} bytes at ${regionOffset}) does not fit the file`, { regionOffset, regionLength });
  }
  const table = await file.read(regionOffset, TABLE_SIZE);
  if (!startsWith(table, 'metadata')) throw bad(file, 'the metadata table has no "metadata" signature');
  const count = u16le(table, 10);
  if (count > MAX_ENTRIES) throw bad(file, `the metadata table claims ${count} entries`);
  const items = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const o = 32 + i * 32;
    const id = formatGuid(table, o);
    const offset = u32le(table, o + 16);
    const length = u32le(table, o + 20);
    const flags = u32le(table, o + 24);
    const isUser = (flags & 1) !== 0;
    const isRequired = (flags & 4) !== 0;
    if (!isUser && !KNOWN.has(id)) {
      if (isRequired) {
        throw new FormatError('DF_VHDX_UNSUPPORTED_METADATA', `${file.name}: the VHDX requires metadata item ${id}, which this reader does not know; it cannot be read safely`, {
          id,
        });
      }
      continue;
    }
    if (isUser || length === 0) continue;
    if (length > MAX_ITEM_SIZE || offset < TABLE_SIZE || offset + length > regionLength) {
      throw bad(file, `metadata item ${id} (${length} bytes at ${offset}) lies outside the metadata region`, { id, offset, length });
    }
    items.set(id, await file.read(regionOffset + offset, length));
  }
  const need = (id: string, what: string, size: number): Uint8Array => {
    const item = items.get(id);
    if (!item) throw bad(file, `the required ${what} metadata item is missing`, { id });
    if (item.length < size) throw bad(file, `the ${what} metadata item is ${item.length} bytes, expected ${size}`, { id });
    return item;
  };
  const params = need(FILE_PARAMETERS, 'file parameters', 8);
  const flags = u32le(params, 4);
  const meta: VhdxMetadata = {
    blockSize: u32le(params, 0),
    leaveBlocksAllocated: (flags & 1) !== 0,
    hasParent: (flags & 2) !== 0,
    virtualDiskSize: u64le(need(VIRTUAL_DISK_SIZE, 'virtual disk size', 8), 0),
    logicalSectorSize: u32le(need(LOGICAL_SECTOR_SIZE, 'logical sector size', 4), 0),
    physicalSectorSize: u32le(need(PHYSICAL_SECTOR_SIZE, 'physical sector size', 4), 0),
  };
  const page83 = items.get(PAGE_83_DATA);
  if (page83 && page83.length >= 16) meta.page83 = formatGuid(page83, 0);
  // MS-VHDX 2.6.2.1-2.6.2.4: block size a power of two from 1 to 256 MiB; sectors 512 or 4096.
  const mib = 1024 * 1024;
  if (meta.blockSize < mib || meta.blockSize > 256 * mib || (meta.blockSize & (meta.blockSize - 1)) !== 0) {
    throw bad(file, `block size ${meta.blockSize} is not a power of two between 1 and 256 MiB`, { blockSize: meta.blockSize });
  }
  for (const size of [meta.logicalSectorSize, meta.physicalSectorSize]) {
    if (size !== 512 && size !== 4096) throw bad(file, `sector size ${size} is neither 512 nor 4096`, { size });
  }
  if (meta.virtualDiskSize === 0 || meta.virtualDiskSize % meta.logicalSectorSize !== 0 || meta.virtualDiskSize > 64 * 1024 ** 4) {
    throw bad(file, `virtual disk size ${meta.virtualDiskSize} is not a positive multiple of the sector size up to 64 TiB`, { virtualDiskSize: meta.virtualDiskSize });
  }
  const locator = items.get(PARENT_LOCATOR);
  if (locator) meta.parentLocator = parseParentLocator(file, locator);
  if (meta.hasParent && !meta.parentLocator) throw bad(file, 'the disk has a parent but no parent locator');
  return meta;
}

// MS-VHDX 2.6.2.6: a 20-byte header (type GUID, reserved, KeyValueCount) then 12-byte entries
// whose key/value offsets are relative to the item and point to UTF-16LE strings.
function parseParentLocator(file: ByteSource, item: Uint8Array): { type: string; entries: { key: string; value: string }[] } {
  if (item.length < 20) throw bad(file, 'the parent locator item is too short');
  const type = formatGuid(item, 0);
  const count = u16le(item, 18);
  if (20 + count * 12 > item.length) throw bad(file, `the parent locator claims ${count} entries, more than fit its ${item.length} bytes`);
  const text = (offset: number, length: number): string => {
    if (offset + length > item.length || length % 2 !== 0) throw bad(file, `a parent locator string (${length} bytes at ${offset}) lies outside the item`);
    return Buffer.from(item.subarray(offset, offset + length)).toString('utf16le');
  };
  const entries: { key: string; value: string }[] = [];
  for (let i = 0; i < count; i++) {
    const o = 20 + i * 12;
    entries.push({ key: text(u32le(item, o), u16le(item, o + 8)), value: text(u32le(item, o + 4), u16le(item, o + 10)) });
  }
  return { type, entries };
}
