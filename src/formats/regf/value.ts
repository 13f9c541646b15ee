// The vk (key value) record and its data: parsing the record, fetching the raw data bytes
// (inline, one cell, or db segments) and decoding them by type. It does not look values up by
// name or walk value lists; hive.ts does that.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le } from '../../util/binary.js';
import { isBigDataCell, readBigData } from './big-data.js';
import type { HiveCells } from './cells.js';
import { REG_TYPE, SIGNATURE, VALUE_DATA_INLINE, VALUE_FLAG_COMPRESSED_NAME } from './constants.js';
import { decodeName } from './names.js';

/** Suhanov §Key value; offsets within the cell payload. */
export interface ValueKeyRecord {
  offset: number;
  /** 2: bytes; 0 = the key's default value. */
  nameLength: number;
  /** 4: with the inline bit cleared. */
  dataSize: number;
  /** MSB of the size field: data sits in the data-offset field. */
  dataInline: boolean;
  /** 8: data cell offset, or the inline bytes themselves. */
  dataOffset: number;
  /** 12 */
  type: number;
  /** 16 */
  flags: number;
  nameBytes: Uint8Array;
  name: string;
  /** The raw 4 bytes at 8, kept for inline data. */
  dataOffsetBytes: Uint8Array;
}

export const VALUE_KEY_FIXED_SIZE = 20;

const hex = (n: number) => `0x${n.toString(16)}`;

export function parseValueKey(cell: Uint8Array, offset: number, hiveName = 'hive'): ValueKeyRecord {
  if (cell.length < VALUE_KEY_FIXED_SIZE || !startsWith(cell, SIGNATURE.keyValue)) {
    throw new FormatError('DF_HIVE_BAD_VALUE', `${hiveName}: cell at ${hex(offset)} is not a value ("vk"); the hive is corrupt`, { offset });
  }
  const nameLength = u16le(cell, 2);
  if (VALUE_KEY_FIXED_SIZE + nameLength > cell.length) {
    throw new FormatError('DF_HIVE_BAD_VALUE', `${hiveName}: value at ${hex(offset)} has a ${nameLength}-byte name that runs past its cell; the hive is corrupt`, {
      offset,
      nameLength,
    });
  }
  const sizeField = u32le(cell, 4);
  const flags = u16le(cell, 16);
  const nameBytes = cell.subarray(VALUE_KEY_FIXED_SIZE, VALUE_KEY_FIXED_SIZE + nameLength);
  return {
    offset,
    nameLength,
    dataSize: sizeField & 0x7fffffff,
    dataInline: sizeField >= VALUE_DATA_INLINE,
    dataOffset: u32le(cell, 8),
    type: u32le(cell, 12),
    flags,
    nameBytes,
    name: decodeName(nameBytes, (flags & VALUE_FLAG_COMPRESSED_NAME) !== 0),
    dataOffsetBytes: cell.subarray(8, 12),
  };
}

/** The value's data bytes. A view into the hive where possible; a copy for db data. */
export function readValueData(cells: HiveCells, vk: ValueKeyRecord, what: string): Uint8Array {
  const length = vk.dataSize;
  if (vk.dataInline) {
    if (length > 4) {
      throw new FormatError('DF_HIVE_BAD_VALUE', `${cells.name}: ${what} says its ${length} bytes of data are inline, but at most 4 fit; the hive is corrupt`, {
        offset: vk.offset,
        length,
      });
    }
    return vk.dataOffsetBytes.subarray(0, length);
  }
  if (length === 0) return new Uint8Array(0);
  // No value can hold more bytes than the hive has; refuse before allocating.
  if (length > cells.dataSize) {
    throw new FormatError('DF_HIVE_BAD_VALUE', `${cells.name}: ${what} declares ${length} bytes of data, more than the whole hive; the hive is corrupt`, {
      offset: vk.offset,
      length,
    });
  }
  const cell = cells.cell(vk.dataOffset, `data of ${what}`);
  if (length <= cell.length) return cell.subarray(0, length);
  // Too big for its cell: only a db record may hold it (Suhanov §Big data; hivex value.c uses
  // the same test, which also covers db records in hives that misreport their minor version).
  if (isBigDataCell(cell)) return readBigData(cells, cell, vk.dataOffset, length, what);
  throw new FormatError(
    'DF_HIVE_BAD_VALUE',
    `${cells.name}: ${what} declares ${length} bytes of data but its cell at ${hex(vk.dataOffset)} holds ${cell.length}; the hive is corrupt`,
    { offset: vk.offset, length, cell: cell.length },
  );
}

/** Decoded data: strings for REG_SZ/EXPAND_SZ, string[] for MULTI_SZ, number for a 4-byte DWORD
 *  (either endianness), bigint for an 8-byte QWORD, the bytes for everything else (including
 *  DWORD/QWORD data of the wrong length and unknown types). */
export type RegistryData = string | string[] | number | bigint | Uint8Array;

/** Index of the first UTF-16 NUL unit at or after unit `from`, or the unit count. */
function nulUnitAt(raw: Uint8Array, from: number): number {
  const units = raw.length >> 1;
  for (let i = from; i < units; i++) if (raw[2 * i] === 0 && raw[2 * i + 1] === 0) return i;
  return units;
}

/** Node's UTF-16LE decoder is native and keeps unpaired surrogates as they are (TextDecoder
 *  would replace them), so names and data round-trip exactly. */
function unitsToString(raw: Uint8Array, start: number, end: number): string {
  return Buffer.from(raw.buffer, raw.byteOffset + 2 * start, 2 * (end - start)).toString('utf16le');
}

/** A REG_SZ ends at its first NUL; Windows often leaves junk in the buffer after it
 *  (hivex value.c makes the same cut). */
export function decodeRegString(raw: Uint8Array): string {
  return unitsToString(raw, 0, nulUnitAt(raw, 0));
}

/** A REG_MULTI_SZ is NUL-separated strings ending at the first empty one. */
export function decodeRegMultiString(raw: Uint8Array): string[] {
  const units = raw.length >> 1;
  const out: string[] = [];
  let start = 0;
  while (start < units) {
    const end = nulUnitAt(raw, start);
    if (end === start) break;
    out.push(unitsToString(raw, start, end));
    start = end + 1;
  }
  return out;
}

export function decodeValueData(type: number, raw: Uint8Array): RegistryData {
  switch (type) {
    case REG_TYPE.REG_SZ:
    case REG_TYPE.REG_EXPAND_SZ:
      return decodeRegString(raw);
    case REG_TYPE.REG_MULTI_SZ:
      return decodeRegMultiString(raw);
    case REG_TYPE.REG_DWORD:
      return raw.length === 4 ? u32le(raw, 0) : raw;
    case REG_TYPE.REG_DWORD_BIG_ENDIAN:
      return raw.length === 4 ? raw[0] * 0x1000000 + ((raw[1] << 16) | (raw[2] << 8) | raw[3]) : raw;
    case REG_TYPE.REG_QWORD:
      return raw.length === 8 ? BigInt(u32le(raw, 0)) + (BigInt(u32le(raw, 4)) << 32n) : raw;
    default:
      return raw;
  }
}
