// Small UDF/ECMA-167 field types shared by the descriptors: OSTA CS0 strings (dstrings and file
// identifiers), timestamps, entity identifiers and allocation descriptor addresses. No I/O here.
import { FormatError } from '../../errors.js';
import { ascii, u16le, u32le } from '../../util/binary.js';

/** Decodes OSTA Compressed Unicode (OSTA UDF 2.1.1): compression id 8 = one byte per char, 16 = UCS-2BE. */
export function decodeCs0(b: Uint8Array, what: string): string {
  if (b.length === 0) return '';
  const id = b[0];
  // 254/255 are the UDF 2.60 §2.1.1 forms of 8/16 used for deleted-name patterns; read them the same way.
  if (id === 8 || id === 254) {
    let s = '';
    for (let i = 1; i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  if (id === 16 || id === 255) {
    let s = '';
    for (let i = 1; i + 1 < b.length; i += 2) s += String.fromCharCode((b[i] << 8) | b[i + 1]);
    return s;
  }
  throw new FormatError('DF_UDF_BAD_STRING', `${what}: unknown OSTA CS0 compression id ${id}`, { id });
}

/** A dstring (ECMA-167 1/7.2.12): a fixed field whose last byte holds the used length. */
export function decodeDstring(field: Uint8Array, what: string): string {
  if (field.length === 0) return '';
  const used = field[field.length - 1];
  if (used === 0) return '';
  if (used > field.length - 1) {
    throw new FormatError('DF_UDF_BAD_STRING', `${what}: dstring claims ${used} bytes in a ${field.length}-byte field`, { used });
  }
  return decodeCs0(field.subarray(0, used), what).replace(/\0+$/, '');
}

/** Timestamp (ECMA-167 1/7.3) as ISO 8601 UTC; undefined when unset or impossible. */
export function decodeTimestamp(b: Uint8Array, at: number): string | undefined {
  const typeAndZone = u16le(b, at);
  const year = u16le(b, at + 2);
  const [month, day, hour, minute, second, centi] = [b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9]];
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  // Low 12 bits: signed offset from UTC in minutes; -2047 means "not specified" (1/7.3.1).
  let zone = typeAndZone & 0x0fff;
  if (zone & 0x800) zone -= 0x1000;
  const offset = typeAndZone >> 12 === 1 && zone !== -2047 && Math.abs(zone) <= 1440 ? zone : 0;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, centi * 10) - offset * 60_000;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Entity identifier (ECMA-167 1/7.4): flags, 23-byte identifier, 8-byte suffix. */
export interface EntityId {
  identifier: string;
  suffix: Uint8Array;
}

export function decodeEntityId(b: Uint8Array, at: number): EntityId {
  return { identifier: ascii(b, at + 1, at + 24).replace(/\0+$/, ''), suffix: b.subarray(at + 24, at + 32) };
}

/** lb_addr (ECMA-167 4/7.1): logical block number and partition reference number. */
export interface LbAddr {
  block: number;
  partition: number;
}

/** Allocation descriptor extent types (ECMA-167 4/14.14.1.1), from the top two bits of the length. */
export const EXTENT_RECORDED = 0;
export const EXTENT_ALLOCATED = 1;
export const EXTENT_UNALLOCATED = 2;
export const EXTENT_CONTINUATION = 3;

/** long_ad (ECMA-167 4/14.14.2), 16 bytes. */
export interface LongAd {
  length: number;
  type: number;
  location: LbAddr;
}

export function decodeLongAd(b: Uint8Array, at: number): LongAd {
  const raw = u32le(b, at);
  return { length: raw & 0x3fffffff, type: raw >>> 30, location: { block: u32le(b, at + 4), partition: u16le(b, at + 8) } };
}
